//! The `inspect` command end to end: a folder of good and broken files, exit codes, the
//! summary, resuming after an interruption.

use crate::common::*;
use std::path::Path;
use std::process::Command;
use zhijian::record::{CallRecord, CallStatus};

fn inspect(args: &[&str]) -> (i32, String) {
    let out = Command::new(ZHIJIAN)
        .args(["inspect", "--no-progress", "--no-asr"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

/// The result file of the call labelled `label` (`<label>-<12 hex>.json`): there must be one.
fn result_path(out: &Path, label: &str) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(out.join("calls"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".json") && strip_key(n.trim_end_matches(".json")) == label
        })
        .collect();
    assert_eq!(found.len(), 1, "results labelled {label}: {found:?}");
    found[0].clone()
}

/// `good1-0123456789ab` → `good1`.
fn strip_key(id: &str) -> &str {
    assert!(zhijian::identity::looks_like_key(id), "{id} is not a key");
    &id[..id.len() - 13]
}

fn record(out: &Path, label: &str) -> CallRecord {
    serde_json::from_slice(&std::fs::read(result_path(out, label)).unwrap()).unwrap()
}

fn folder(d: &Path) {
    write_wav(
        &d.join("good1.wav"),
        8000,
        &call(8000, 8.0, &[(0.5, 2.0)], &[(2.5, 4.0)]),
        Enc::S16,
    );
    std::fs::create_dir(d.join("day2")).unwrap();
    write_wav(
        &d.join("day2/good2.wav"),
        8000,
        &call(8000, 5.0, &[(0.5, 2.0)], &[(2.2, 3.0)]),
        Enc::ALaw,
    );
    std::fs::write(d.join("empty.wav"), b"").unwrap();
    std::fs::write(
        d.join("day2/broken.mp3"),
        b"ID3\x03\x00\x00\x00\x00\x00\x00 this is not an mp3",
    )
    .unwrap();
    std::fs::write(
        d.join("notes.txt"),
        b"not picked up: not an audio extension",
    )
    .unwrap();
}

#[test]
fn folder_with_broken_files_finishes_and_names_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    folder(&inp);
    let (code, stderr) = inspect(&[
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-j",
        "2",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("empty.wav: decode: file is empty (0 bytes)"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.mp3: decode:"), "{stderr}");
    let s = summary(&out);
    assert_eq!(
        (
            s["calls_total"].as_u64(),
            s["calls_ok"].as_u64(),
            s["calls_failed"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
    let failed: Vec<&str> = s["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| strip_key(f["call_id"].as_str().unwrap()))
        .collect();
    assert_eq!(failed, vec!["broken", "empty"]); // sorted by path: day2/broken.mp3, empty.wav
    let r = record(&out, "good1");
    assert_eq!(r.status, CallStatus::Ok);
    assert_eq!(r.input.sha256.len(), 64);
    assert_eq!(r.segments.len(), 2);
    let e = record(&out, "empty");
    assert_eq!(e.status, CallStatus::Failed);
    assert_eq!(e.errors[0].stage, "decode");
}

#[test]
fn all_good_exits_zero_and_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    // Four different recordings (the same bytes under four names would be one call).
    for i in 0..4 {
        write_wav(
            &inp.join(format!("c{i}.wav")),
            8000,
            &call(8000, 4.0, &[(0.5, 1.5 + 0.1 * i as f64)], &[(2.0, 3.0)]),
            Enc::S16,
        );
    }
    let o = out.to_str().unwrap();
    let (code, err) = inspect(&[inp.to_str().unwrap(), "--out", o]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out)["calls_skipped"].as_u64(), Some(0));

    // Simulate a kill: one result lost, a half-written temp file left behind, one input changed.
    std::fs::remove_file(result_path(&out, "c1")).unwrap();
    std::fs::write(out.join("calls/.c2.json.tmp-999"), b"{\"half").unwrap();
    write_wav(
        &inp.join("c3.wav"),
        8000,
        &call(8000, 4.0, &[(0.5, 2.5)], &[]),
        Enc::S16,
    );
    let (code, err) = inspect(&[inp.to_str().unwrap(), "--out", o]);
    assert_eq!(code, 0, "{err}");
    let s = summary(&out);
    assert_eq!(s["calls_skipped"].as_u64(), Some(2), "{s}");
    assert!(!out.join("calls/.c2.json.tmp-999").exists());
    // c3's new bytes are another recording: a new key and result; the old result stays (it is
    // still the result of the old recording).
    let line = s["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["file"].as_str().unwrap().ends_with("c3.wav"))
        .unwrap();
    let c3: CallRecord =
        serde_json::from_slice(&std::fs::read(out.join(line["result"].as_str().unwrap())).unwrap())
            .unwrap();
    assert_eq!(c3.segments.len(), 1);

    // Other settings → nothing is reused.
    let (code, _) = inspect(&[inp.to_str().unwrap(), "--out", o, "--silence-min", "3"]);
    assert_eq!(code, 0);
    assert_eq!(summary(&out)["calls_skipped"].as_u64(), Some(0));
    // Same settings again → everything reused.
    let (_, _) = inspect(&[inp.to_str().unwrap(), "--out", o, "--silence-min", "3"]);
    assert_eq!(summary(&out)["calls_skipped"].as_u64(), Some(4));
}

#[test]
fn metadata_rows_attach_and_override_hangup() {
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&inp).unwrap();
    // Customer cut off at the end (acoustic guess: agent hung up) but the switch says customer.
    write_wav(
        &inp.join("a.wav"),
        8000,
        &call(8000, 5.0, &[(0.5, 2.0)], &[(2.5, 5.0)]),
        Enc::S16,
    );
    write_wav(
        &inp.join("b.wav"),
        8000,
        &call(8000, 5.0, &[(0.5, 2.0)], &[(2.5, 5.0)]),
        Enc::S16,
    );
    let csv = dir.path().join("calls.csv");
    std::fs::write(&csv, "call_id,file,agent_id,agent_name,queue,direction,start_time,customer_number,hangup_side\nCALL-A,a.wav,1086,张丽,inbound_service,inbound,2026-11-02T09:15:00+08:00,13800000000,customer\n").unwrap();
    let (code, err) = inspect(&[
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--meta",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let a = record(&out, "CALL-A");
    assert_eq!(
        a.metadata.as_ref().unwrap().agent_name.as_deref(),
        Some("张丽")
    );
    assert_eq!(a.metrics.hangup.side, zhijian::record::Side::Customer);
    assert_eq!(a.metrics.hangup.source, "metadata");
    let b = record(&out, "b");
    assert!(b.metadata.is_none());
    assert_eq!(b.metrics.hangup.side, zhijian::record::Side::Agent);
    assert_eq!(b.metrics.hangup.source, "inferred");
}
