//! The batch against damage and interruption: a mutation fuzz of the decoders (hundreds of
//! damaged WAV, A-law, MP3 and FLAC files in one batch) and `kill -9` at random moments. Both
//! must end with exactly one result per recording, no crash, no temp files and a consistent
//! database.

use crate::common::*;
use crate::web::root;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zhijian::record::CallRecord;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One damaged copy of `base`: flipped bytes, a run overwritten, a cut, junk inserted, a
/// chunk repeated, or (WAV) a header field set to a wild value.
fn mutate(base: &[u8], rng: &mut Rng, wav: bool) -> Vec<u8> {
    let mut b = base.to_vec();
    let len = b.len();
    match rng.below(if wav { 7 } else { 5 }) {
        0 => {
            for _ in 0..1 + rng.below(40) {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            let at = rng.below(len);
            let n = (1 + rng.below(4096)).min(len - at);
            let v = [0x00, 0xFF, 0x55][rng.below(3)];
            b[at..at + n].fill(v);
        }
        2 => b.truncate(rng.below(len)),
        3 => {
            let at = rng.below(len);
            let junk: Vec<u8> = (0..1 + rng.below(2000)).map(|_| rng.next() as u8).collect();
            b.splice(at..at, junk);
        }
        4 => {
            let at = rng.below(len);
            let n = (1 + rng.below(8192)).min(len - at);
            let chunk = b[at..at + n].to_vec();
            let to = rng.below(len);
            b.splice(to..to, chunk);
        }
        // WAV fmt fields: channels (22), sample rate (24), byte rate (28), block align (32),
        // bits (34); data size (40).
        5 => {
            let (off, w) = [(22, 2), (24, 4), (28, 4), (32, 2), (34, 2)][rng.below(5)];
            let v = rng.next().to_le_bytes();
            b[off..off + w].copy_from_slice(&v[..w]);
        }
        _ => {
            let v = [0u32, 1, 0x7FFF_FFFF, 0xFFFF_FFFF][rng.below(4)].to_le_bytes();
            b[40..44].copy_from_slice(&v);
        }
    }
    b
}

/// The result files so far (none when a killed run had not yet made the folder).
fn results(out: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(out.join("calls")) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(temp_files(&p));
        } else if p.file_name().unwrap().to_string_lossy().contains(".tmp-") {
            found.push(p);
        }
    }
    found
}

#[test]
fn decoder_mutation_fuzz_ends_with_one_result_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in");
    std::fs::create_dir(&src).unwrap();
    let pcm = tmp.path().join("base.wav");
    write_wav(
        &pcm,
        8000,
        &call(8000, 4.0, &[(0.3, 1.8)], &[(2.0, 3.5)]),
        Enc::S16,
    );
    let alaw = tmp.path().join("base_alaw.wav");
    write_wav(
        &alaw,
        8000,
        &call(8000, 4.0, &[(0.3, 1.8)], &[(2.0, 3.5)]),
        Enc::ALaw,
    );
    let mp3 = std::fs::read(root().join("samples/call03_outbound_sales.mp3")).unwrap();
    let flac = std::fs::read(root().join("samples/call04_mono_insurance.flac")).unwrap();
    let bases: [(&str, Vec<u8>, bool); 4] = [
        ("wav", std::fs::read(&pcm).unwrap(), true),
        ("wav", std::fs::read(&alaw).unwrap(), true),
        // A few seconds of each compressed sample keep the batch short.
        ("mp3", mp3[..60_000].to_vec(), false),
        ("flac", flac[..120_000].to_vec(), false),
    ];
    // ZHIJIAN_FUZZ_SEED replays or explores another set of damaged files.
    let seed = std::env::var("ZHIJIAN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026);
    let mut rng = Rng(seed);
    let per_base = 100;
    for (bi, (ext, base, wav)) in bases.iter().enumerate() {
        for i in 0..per_base {
            let bytes = mutate(base, &mut rng, *wav);
            std::fs::write(src.join(format!("m{bi}_{i:03}.{ext}")), bytes).unwrap();
        }
    }
    let n = bases.len() * per_base;
    let out = tmp.path().join("out");
    let t0 = Instant::now();
    let run = Command::new("timeout")
        .arg("900")
        .arg(ZHIJIAN)
        .args([
            "inspect",
            "--no-progress",
            "--no-asr",
            "--no-classifier",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    let code = run.status.code();
    assert!(
        matches!(code, Some(0) | Some(2)),
        "the batch died ({code:?}) after {:.0} s: {}",
        t0.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&run.stderr)
            .lines()
            .last()
            .unwrap_or("")
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let dups = summary["duplicates"].as_array().unwrap().len();
    let files = results(&out);
    if files.len() + dups != n {
        let mut seen = std::collections::BTreeSet::new();
        for f in &files {
            let rec: CallRecord = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            seen.insert(
                rec.input
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        let missing: Vec<_> = std::fs::read_dir(&src)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !seen.contains(n))
            .collect();
        panic!("{} results + {dups} duplicates for {n} files; no result for {missing:?}; summary duplicates {}", files.len(), summary["duplicates"]);
    }
    assert_eq!(summary["calls_total"].as_u64().unwrap() as usize + dups, n);
    let mut failed = 0;
    for f in &files {
        let rec: CallRecord = serde_json::from_slice(&std::fs::read(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if rec.status.as_str() == "failed" {
            failed += 1;
            let e = &rec.errors[0];
            assert!(
                !e.stage.is_empty() && !e.message.is_empty(),
                "{}",
                f.display()
            );
            if e.stage == "internal" {
                // Keep the input for replay: target/fuzz-failures/<name>.
                let keep = root().join("target/fuzz-failures");
                std::fs::create_dir_all(&keep).unwrap();
                let name = rec.input.path.file_name().unwrap();
                std::fs::copy(&rec.input.path, keep.join(name)).unwrap();
                panic!(
                    "{}: a panic: {} (input kept in {})",
                    f.display(),
                    e.message,
                    keep.display()
                );
            }
        }
    }
    assert_eq!(summary["calls_failed"].as_u64().unwrap() as usize, failed);
    assert!(temp_files(&out).is_empty());
    eprintln!(
        "fuzz: {n} files, {failed} failed cleanly, {dups} duplicates, {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn kill_9_at_random_moments_then_rerun_leaves_one_result_per_call() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in");
    std::fs::create_dir(&src).unwrap();
    let n = 24;
    for i in 0..n {
        // Distinct content per file (speech spans shift with i).
        let a = 0.3 + i as f64 * 0.05;
        write_wav(
            &src.join(format!("call{i:02}.wav")),
            8000,
            &call(
                8000,
                40.0,
                &[(a, a + 6.0), (15.0, 22.0)],
                &[(a + 7.0, 13.0), (24.0, 35.0)],
            ),
            Enc::S16,
        );
    }
    let out = tmp.path().join("out");
    let args = |c: &mut Command| {
        c.args([
            "inspect",
            "--no-progress",
            "--no-asr",
            "--no-classifier",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(&out)
        .arg(&src);
    };
    // How long an uninterrupted run takes, in a scratch folder, to aim the kills inside it.
    let t0 = Instant::now();
    let scratch = tmp.path().join("scratch");
    let st = Command::new(ZHIJIAN)
        .args([
            "inspect",
            "--no-progress",
            "--no-asr",
            "--no-classifier",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(&scratch)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let full = t0.elapsed().as_secs_f64();
    let mut rng = Rng(0x4B11_1999);
    for round in 0..5 {
        let mut c = Command::new(ZHIJIAN);
        args(&mut c);
        let mut child = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let at = full * (0.1 + 0.8 * rng.below(1000) as f64 / 1000.0);
        std::thread::sleep(Duration::from_secs_f64(at));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        eprintln!(
            "round {round}: killed at {at:.2} s of {full:.2} s ({status:?}), {} results so far",
            results(&out).len()
        );
    }
    let mut c = Command::new(ZHIJIAN);
    args(&mut c);
    let st = c.output().unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let files = results(&out);
    assert_eq!(files.len(), n, "{files:?}");
    for f in &files {
        let rec: CallRecord = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        assert_eq!(rec.status.as_str(), "ok", "{}", f.display());
    }
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
    let db = zhijian::store::Store::open(out.join("zhijian.db")).unwrap();
    let ok: String = db
        .db()
        .as_sqlite()
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let calls: i64 = db
        .db()
        .as_sqlite()
        .unwrap()
        .query_row("SELECT count(*) FROM calls", [], |r| r.get(0))
        .unwrap();
    assert_eq!(calls as usize, n);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["calls_total"], n);
    assert_eq!(summary["calls_ok"], n);
}

#[test]
fn a_crash_inside_the_recogniser_fails_one_call_and_the_batch_goes_on() {
    let _turn = whisper_turn();
    let model = root().join("models/ggml-base-q8_0.bin");
    assert!(
        model.is_file(),
        "the test command prepares {}",
        model.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in");
    std::fs::create_dir(&src).unwrap();
    for (name, secs) in [
        ("a_first.wav", 5.0),
        ("b_crash.wav", 7.77),
        ("c_after.wav", 6.0),
        ("d_dtw_crash.wav", 6.66),
    ] {
        write_wav(
            &src.join(name),
            8000,
            &call(8000, secs, &[(0.4, 2.0)], &[(2.5, secs - 0.5)]),
            Enc::S16,
        );
    }
    let out = tmp.path().join("out");
    let run = Command::new(ZHIJIAN)
        .args([
            "inspect",
            "--no-progress",
            "--no-classifier",
            "--jobs",
            "1",
            "--model",
        ])
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .arg(&src)
        // The child transcribing the 7.77 s call aborts, as a crash in whisper.cpp would; on
        // the 6.66 s call only while DTW token alignment is on (whisper.cpp's median filter).
        .env(
            zhijian::asr::supervised::ABORT_ON_SECONDS_ENV,
            "7.77,6.66:dtw",
        )
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let mut by_name = std::collections::BTreeMap::new();
    for f in results(&out) {
        let rec: CallRecord = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let name = rec
            .input
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        by_name.insert(name, rec);
    }
    assert_eq!(by_name.len(), 4);
    // The DTW crash: both tracks transcribed again without DTW, the call inspected.
    let dtw = &by_name["d_dtw_crash.wav"];
    assert_eq!(dtw.status.as_str(), "ok", "{:?}", dtw.errors);
    let again: Vec<&str> = dtw
        .warnings
        .iter()
        .filter(|w| w.stage == "asr" && w.message.contains("without DTW"))
        .map(|w| w.message.as_str())
        .collect();
    assert!(!again.is_empty(), "{:?}", dtw.warnings);
    assert!(dtw.timings_ms.contains_key("asr"));
    let crashed = &by_name["b_crash.wav"];
    assert_eq!(crashed.status.as_str(), "failed");
    assert_eq!(crashed.errors[0].stage, "asr");
    assert!(
        crashed.errors[0].message.contains("crashed"),
        "{}",
        crashed.errors[0].message
    );
    assert!(stderr.contains("b_crash.wav: asr:"), "{stderr}");
    // The calls before and after are inspected (transcribed by a new child after the crash).
    for name in ["a_first.wav", "c_after.wav"] {
        assert_eq!(by_name[name].status.as_str(), "ok", "{name}");
        assert!(
            by_name[name].timings_ms.contains_key("asr"),
            "{name} went through ASR"
        );
    }
    // A rerun without the fault inspects the failed call again and keeps the others.
    let rerun = Command::new(ZHIJIAN)
        .args([
            "inspect",
            "--no-progress",
            "--no-classifier",
            "--jobs",
            "1",
            "--model",
        ])
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .arg(&src)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["calls_skipped"], 3);
    assert_eq!(summary["calls_ok"], 4);
}
