//! Every night, for years, into one database: call identity across batches, migration of old
//! databases, incremental re-scoring, `rescore --diff`, the final score from the rules engine,
//! and bad input that must not stop (or poison) a batch.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use zhijian::record::{CallRecord, CallStatus};
use zhijian::store::review::Verdict;
use zhijian::store::{Outcome, Store};

/// A card that scores from the audio alone: silences over 2 s (−5 each, at most 10) and the
/// agent hanging up while the customer talks (−10).
const CARD: &str = r#"
name = "夜间"

[[categories]]
name = "流程"
max = 20

[[categories.items]]
id = "S1"
name = "冷场"
deduct = 5
once = false
cap = 10
when = { kind = "silence", longer_than_s = 2 }

[[categories.items]]
id = "H1"
name = "座席先挂机"
deduct = 10
when = { kind = "hangup", side = "agent" }
"#;

fn rules(dir: &Path, card: &str) -> PathBuf {
    let r = dir.join("rules");
    std::fs::create_dir_all(r.join("lexicons")).unwrap();
    std::fs::write(r.join("card.toml"), card).unwrap();
    r
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(ZHIJIAN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn inspect(inp: &Path, out: &Path, db: &Path, rules: &Path) -> serde_json::Value {
    let (code, _, err) = run(&[
        "inspect",
        "--no-progress",
        "--no-asr",
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn results(out: &Path) -> Vec<CallRecord> {
    let mut v: Vec<CallRecord> = zhijian::report::result_files(out)
        .unwrap()
        .iter()
        .filter_map(|f| zhijian::report::read_record(f).ok())
        .collect();
    v.sort_by(|a, b| a.call_id.cmp(&b.call_id));
    v
}

fn count(s: &Store, sql: &str) -> i64 {
    s.db()
        .as_sqlite()
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Day 1: a silence of 6 s and the customer cut off (−5 −10 = 5 / 20). Day 2, same file name:
/// no silence, nobody cut off (20 / 20).
fn day1(p: &Path) {
    write_wav(
        p,
        8000,
        &call(8000, 12.0, &[(0.5, 2.0)], &[(8.0, 12.0)]),
        Enc::S16,
    );
}
fn day2(p: &Path) {
    write_wav(
        p,
        8000,
        &call(8000, 5.0, &[(0.5, 2.0)], &[(2.5, 4.0)]),
        Enc::S16,
    );
}

#[test]
fn two_batches_with_the_same_file_names_keep_calls_and_verdicts_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = rules(d, CARD);
    let (out, db) = (d.join("out"), d.join("all.db"));
    std::fs::create_dir_all(d.join("day1")).unwrap();
    std::fs::create_dir_all(d.join("day2")).unwrap();
    day1(&d.join("day1/0001.wav"));
    day2(&d.join("day2/0001.wav"));

    inspect(&d.join("day1"), &out, &db, &r);
    let first = results(&out);
    assert_eq!(first.len(), 1);
    let id1 = first[0].call_id.clone();
    assert!(id1.starts_with("0001-"), "{id1}");
    assert_eq!(first[0].score.as_ref().unwrap().total, 5.0);
    let mut s = Store::open(&db).unwrap();
    s.record_verdict(&id1, "H1", Verdict::Rejected, "客户先挂", "张")
        .unwrap();
    assert_eq!(s.final_result(&id1).unwrap().final_score, 15.0);
    drop(s);

    // Day 2 into the same output folder and database.
    inspect(&d.join("day2"), &out, &db, &r);
    let both = results(&out);
    assert_eq!(both.len(), 2, "both results kept in one folder");
    let id2 = both
        .iter()
        .find(|c| c.call_id != id1)
        .unwrap()
        .call_id
        .clone();
    assert!(id2.starts_with("0001-") && id2 != id1, "{id2}");
    let s = Store::open(&db).unwrap();
    assert_eq!(count(&s, "SELECT COUNT(*) FROM calls"), 2);
    // Day 1 kept its recording, score and verdict; day 2 has its own.
    let f1 = s.final_result(&id1).unwrap();
    assert_eq!(
        (f1.auto_score, f1.final_score, f1.reviewed),
        (5.0, 15.0, true)
    );
    let f2 = s.final_result(&id2).unwrap();
    assert_eq!(
        (f2.auto_score, f2.final_score, f2.reviewed),
        (20.0, 20.0, false)
    );
    let verdict_call: String = s
        .db()
        .as_sqlite()
        .unwrap()
        .query_row("SELECT call_id FROM verdicts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict_call, id1);
    // The label alone no longer names one call: the review commands ask for the full id.
    let e = s.resolve_call("0001").unwrap_err().to_string();
    assert!(e.contains(&id1) && e.contains(&id2), "{e}");
    assert_eq!(s.resolve_call(&id2).unwrap(), id2);

    // Re-importing the same results changes nothing.
    let stamp = |s: &Store| -> Vec<String> {
        let mut st = s
            .db()
            .as_sqlite()
            .unwrap()
            .prepare("SELECT inspected_at FROM calls ORDER BY call_id")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|x| x.unwrap())
            .collect()
    };
    let before = stamp(&s);
    drop(s);
    let mut s = Store::open(&db).unwrap();
    for rec in results(&out) {
        assert_eq!(s.upsert_call(&rec).unwrap().outcome, Outcome::Unchanged);
    }
    assert_eq!(stamp(&s), before);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM calls"), 2);
}

#[test]
fn a_result_written_before_keys_never_overwrites_another_recording() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("z.db")).unwrap();
    let mut a = CallRecord {
        schema_version: 1,
        call_id: "0001".into(),
        ..Default::default()
    };
    a.input.sha256 = "a".repeat(64);
    let mut b = a.clone();
    b.input.sha256 = "b".repeat(64);
    s.upsert_call(&a).unwrap();
    let up = s.upsert_call(&b).unwrap();
    assert_eq!(
        up.outcome,
        Outcome::Rekeyed {
            from: "0001".into()
        }
    );
    assert!(up.call_id.starts_with("0001-"));
    assert_eq!(count(&s, "SELECT COUNT(*) FROM calls"), 2);
    let sha: String = s
        .db()
        .as_sqlite()
        .unwrap()
        .query_row("SELECT sha256 FROM calls WHERE call_id = '0001'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sha, "a".repeat(64));
}

/// A database made before ledgers and keys (schema version 1) with a scored call and a
/// verdict: opening it migrates to version 2 without losing the verdict, the final score is
/// the same, and the next import of that recording moves the call and its verdict to its key.
#[test]
fn migration_from_version_1_keeps_human_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        let zhijian::store::schema::Step::Sql(v1) = &zhijian::store::schema::MIGRATIONS[0] else {
            panic!("migration 1 is plain SQL")
        };
        c.execute_batch(v1).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO calls (call_id, file, sha256, status, duration_s, card, auto_score,
                max_score, subtotal, inspected_at)
             VALUES ('0001', '/in/0001.wav', '{sha}', 'ok', 9, '夜间', 5, 20, 5, 'then');
             INSERT INTO scores VALUES ('0001', 0, '流程', 20, 5, 15, 0);
             INSERT INTO item_hits (call_id, item_id, kind, name, category, severity, effect,
                points, occurrences, evidence)
             VALUES ('0001', 'S1', 'hit', '冷场', '流程', '一般', 'deduct', 5, 1, '[]'),
                    ('0001', 'H1', 'hit', '座席先挂机', '流程', '一般', 'deduct', 10, 1, '[]');
             INSERT INTO verdicts (call_id, item_id, verdict, inspector, created_at)
             VALUES ('0001', 'H1', 'rejected', '张', 'then');",
            sha = "c".repeat(64)
        ))
        .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 4);
    // 20 − 5 (S1); H1 rejected.
    let f = s.final_result("0001").unwrap();
    assert_eq!((f.auto_score, f.final_score), (5.0, 15.0));

    // The same recording inspected by this release: its key, the old row adopted.
    let mut rec: CallRecord = CallRecord {
        schema_version: 1,
        call_id: zhijian::identity::call_id("0001", &"c".repeat(64), None),
        ..Default::default()
    };
    rec.input.sha256 = "c".repeat(64);
    rec.score = Some(s.stored_score("0001").unwrap().unwrap());
    let up = s.upsert_call(&rec).unwrap();
    assert_eq!(
        up.outcome,
        Outcome::Adopted {
            from: "0001".into()
        }
    );
    assert_eq!(count(&s, "SELECT COUNT(*) FROM calls"), 1);
    assert_eq!(
        count(
            &s,
            &format!(
                "SELECT COUNT(*) FROM verdicts WHERE call_id = '{}'",
                up.call_id
            )
        ),
        1
    );
    assert_eq!(s.final_result(&up.call_id).unwrap().final_score, 15.0);
}

#[test]
fn scorecard_or_metadata_edit_rescores_without_decoding_and_rescore_diff_lists_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = rules(d, CARD);
    let (inp, out, db) = (d.join("in"), d.join("out"), d.join("z.db"));
    std::fs::create_dir_all(&inp).unwrap();
    day1(&inp.join("a.wav")); // S1 + H1: 5
    day2(&inp.join("b.wav")); // nothing: 20
    write_wav(
        &inp.join("c.wav"),
        8000,
        &call(8000, 11.0, &[(0.5, 2.0)], &[(8.0, 9.0)]),
        Enc::S16,
    ); // S1 only: 15
    let s1 = inspect(&inp, &out, &db, &r);
    assert_eq!(s1["stage_runs"]["decode"], 3);
    let totals = |out: &Path| -> Vec<f64> {
        results(out)
            .iter()
            .map(|c| c.score.as_ref().unwrap().total)
            .collect()
    };
    let mut before = totals(&out);
    before.sort_by(f64::total_cmp);
    assert_eq!(before, [5.0, 15.0, 20.0]);

    // A new card: hanging up on the customer now costs 15. Only a.wav changes.
    let new = rules(&d.join("next"), &CARD.replace("deduct = 10", "deduct = 15"));
    let (code, diff, err) = run(&[
        "rescore",
        "--db",
        db.to_str().unwrap(),
        "--rules",
        new.to_str().unwrap(),
        "--diff",
    ]);
    assert_eq!(code, 0, "{err}");
    let a_id = results(&out)
        .into_iter()
        .find(|c| c.input.path.ends_with("a.wav"))
        .unwrap()
        .call_id;
    let lines: Vec<&str> = diff.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{a_id}\t5 -> 0"),
            "3 calls scored, 1 would change (nothing written)".to_string()
        ],
        "{diff}"
    );
    // --diff wrote nothing.
    let s = Store::open(&db).unwrap();
    assert_eq!(s.final_result(&a_id).unwrap().auto_score, 5.0);
    drop(s);

    // The same edit on the nightly run: every call re-scored, none decoded again.
    std::fs::write(
        r.join("card.toml"),
        CARD.replace("deduct = 10", "deduct = 15"),
    )
    .unwrap();
    let s2 = inspect(&inp, &out, &db, &r);
    assert_eq!(s2["stage_runs"]["decode"], 0, "{s2}");
    assert_eq!(s2["stage_runs"]["score"], 3);
    assert_eq!(results(&out).len(), 3);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.final_result(&a_id).unwrap().auto_score, 0.0);
    drop(s);

    // A metadata fix (the switch says the customer hung up on a.wav): re-scored, not decoded.
    let csv = d.join("meta.csv");
    std::fs::write(&csv, "file,agent_id,hangup_side\na.wav,A1,customer\n").unwrap();
    let (code, _, err) = run(&[
        "inspect",
        "--no-progress",
        "--no-asr",
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--rules",
        r.to_str().unwrap(),
        "--meta",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let s3: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (
            s3["stage_runs"]["decode"].as_u64(),
            s3["stage_runs"]["score"].as_u64(),
            s3["calls_skipped"].as_u64()
        ),
        (Some(0), Some(1), Some(2)),
        "{s3}"
    );
    let a = results(&out)
        .into_iter()
        .find(|c| c.call_id == a_id)
        .unwrap();
    assert_eq!(a.metrics.hangup.source, "metadata");
    assert_eq!(a.score.unwrap().total, 15.0);
}

/// Rejecting the higher level of a graded group lets the lower level count (one engine: the
/// store asks the rules engine, which re-ranks the levels).
#[test]
fn rejecting_a_higher_graded_level_promotes_the_lower_one() {
    let dir = tempfile::tempdir().unwrap();
    let r = rules(
        dir.path(),
        r#"
name = "分级"

[[categories]]
name = "态度"
max = 10

[[categories.items]]
id = "R1"
name = "抢话质问"
deduct = 3
group = "态度"
when = { kind = "silence", longer_than_s = 2 }

[[categories.items]]
id = "R2"
name = "严重冷场"
deduct = 8
group = "态度"
when = { kind = "silence", longer_than_s = 3 }
"#,
    );
    let card = zhijian::rules::Scorecard::load(r.join("card.toml")).unwrap();
    let mut rec = CallRecord {
        schema_version: 1,
        call_id: "g".into(),
        duration_s: 10.0,
        ..Default::default()
    };
    rec.findings.silences = vec![zhijian::record::Span::new(2.0, 6.0)];
    rec.metrics.duration_s = 10.0;
    rec.score = Some(zhijian::rules::score(&card, &rec));
    let score = rec.score.as_ref().unwrap();
    let sup: Vec<(&str, bool)> = score
        .hits
        .iter()
        .map(|h| (h.id.as_str(), h.superseded))
        .collect();
    assert_eq!(sup, [("R1", true), ("R2", false)]);
    assert_eq!(score.total, 2.0);
    let mut s = Store::open(dir.path().join("z.db")).unwrap();
    s.upsert_call(&rec).unwrap();
    s.record_verdict("g", "R2", Verdict::Rejected, "", "张")
        .unwrap();
    let f = s.final_result("g").unwrap();
    // R2 dropped: R1 (−3) now counts: 10 − 3 = 7.
    assert_eq!(f.final_score, 7.0);
    let r1 = f.items.iter().find(|i| i.item_id == "R1").unwrap();
    assert_eq!((r1.applied, r1.applied_points), (true, 3.0));
}

#[test]
fn bad_input_never_stops_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = rules(d, CARD);
    let (inp, out, db) = (d.join("in"), d.join("out"), d.join("z.db"));
    std::fs::create_dir_all(&inp).unwrap();
    // A GBK file name (客户.wav), not valid UTF-8, and a very long one.
    use std::os::unix::ffi::OsStrExt;
    let gbk = inp.join(std::ffi::OsStr::from_bytes(b"\xbf\xcd\xbb\xa7.wav"));
    day2(&gbk);
    day1(&inp.join(format!("{}.wav", "长".repeat(80))));
    // The GBK file's bytes again under another name: the same call, listed as a duplicate.
    std::fs::copy(&gbk, inp.join("副本.wav")).unwrap(); // sorts after the GBK name
                                                        // Silence only.
    write_wav(
        &inp.join("silent.wav"),
        8000,
        &[vec![0.0; 40000], vec![0.0; 40000]],
        Enc::S16,
    );
    // Cut while the customer talks, and the file truncated (header says 9 s).
    let t = inp.join("truncated.wav");
    write_wav(
        &t,
        8000,
        &call(8000, 9.0, &[(0.5, 2.0)], &[(2.5, 9.0)]),
        Enc::S16,
    );
    let bytes = std::fs::read(&t).unwrap();
    std::fs::write(&t, &bytes[..bytes.len() * 2 / 3]).unwrap();
    // A header claiming 2^31 Hz.
    let mut huge = Vec::new();
    huge.extend_from_slice(b"RIFF\x24\x00\x10\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00");
    huge.extend_from_slice(&(1u32 << 31).to_le_bytes());
    huge.extend_from_slice(&(1u32 << 31).to_le_bytes());
    huge.extend_from_slice(b"\x02\x00\x10\x00data\x00\x00\x10\x00");
    huge.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(inp.join("huge.wav"), &huge).unwrap();
    // A foreign JSON in the output folder.
    std::fs::create_dir_all(out.join("calls")).unwrap();
    std::fs::write(out.join("calls/notes.json"), br#"{"hello": "world"}"#).unwrap();

    let (code, _, err) = run(&[
        "inspect",
        "--no-progress",
        "--no-asr",
        inp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--rules",
        r.to_str().unwrap(),
    ]);
    // huge.wav failed and notes.json is unreadable: exit 2, but everything else is done.
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("huge.wav: decode: implausible header: sample rate 2147483648 Hz"),
        "{err}"
    );
    assert!(
        err.contains("notes.json: not a zhijian call result"),
        "{err}"
    );
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (
            s["calls_total"].as_u64(),
            s["calls_ok"].as_u64(),
            s["calls_failed"].as_u64(),
            s["calls_no_speech"].as_u64()
        ),
        (Some(5), Some(3), Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(s["duplicates"].as_array().unwrap().len(), 1, "{s}");
    let all = results(&out);
    let by = |pred: &dyn Fn(&CallRecord) -> bool| all.iter().find(|c| pred(c)).unwrap();
    let g = by(&|c| c.input.path_raw.is_some());
    assert_eq!(
        g.input.raw_path(),
        gbk,
        "the raw bytes of the name are kept"
    );
    assert!(g.input.path.to_string_lossy().contains('\u{fffd}'));
    assert_eq!(g.status, CallStatus::Ok);
    let long = by(&|c| c.input.path.to_string_lossy().contains("长长长"));
    assert_eq!(
        long.call_id.chars().count(),
        zhijian::identity::LABEL_MAX + 13
    );
    let silent = by(&|c| c.input.path.ends_with("silent.wav"));
    assert_eq!(silent.status, CallStatus::NoSpeech);
    assert!(silent.score.is_none());
    let tr = by(&|c| c.input.path.ends_with("truncated.wav"));
    assert_eq!(tr.metrics.hangup.side, zhijian::record::Side::Unknown);
    assert!(
        tr.warnings.iter().any(|w| w.stage == "hangup"),
        "{:?}",
        tr.warnings
    );
    // H1 (agent hung up) must not fire on a truncated recording.
    assert!(tr.score.as_ref().unwrap().hits.iter().all(|h| h.id != "H1"));
    // The silent call is stored apart and left out of final scores.
    let st = Store::open(&db).unwrap();
    assert_eq!(
        count(&st, "SELECT COUNT(*) FROM calls WHERE status = 'no_speech'"),
        1
    );
}
