//! The commands end to end: `import` (store + pages), `review`, `report`.

use super::{out_dir, root};
use std::process::Command;

const ZHIJIAN: &str = env!("CARGO_BIN_EXE_zhijian");

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(ZHIJIAN)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn import_review_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(tmp.path());
    std::fs::write(out.join("calls/garbled.json"), "{not json").unwrap();
    let o = out.to_str().unwrap();
    let (code, _, err) = run(&["import", o]);
    // One unreadable result: named, skipped, exit code 2; the rest is loaded.
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("garbled.json"), "{err}");
    assert!(err.contains("8 calls loaded"), "{err}");
    for f in [
        "index.html",
        "calls.csv",
        "review_queue.csv",
        "review_queue.json",
        "queues.csv",
        "zhijian.db",
        "calls/in-bad.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let db = out.join("zhijian.db");
    let db = db.to_str().unwrap();
    let (code, stdout, err) = run(&[
        "review", "--db", db, "verdict", "--call", "in-bad", "--item", "RX02", "rejected", "--by",
        "张",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        stdout.trim(),
        "复核 #1：in-bad RX02 驳回；终审得分 59 / 100（自动 53）"
    );
    let (code, stdout, _) = run(&[
        "review",
        "--db",
        db,
        "appeal",
        "--call",
        "in-bad",
        "--item",
        "RX04",
        "--reason",
        "客户先挂机",
    ]);
    assert_eq!((code, stdout.trim()), (0, "申诉 #1：in-bad RX04，待终审"));
    let (_, stdout, _) = run(&["review", "--db", db, "appeals"]);
    assert!(
        stdout.starts_with("#1 in-bad RX04 A1002 [open] 客户先挂机"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&[
        "review", "--db", db, "decide", "--appeal", "1", "accept", "--by", "主管",
    ]);
    assert_eq!(
        (code, stdout.trim()),
        (0, "终审 #1：申诉成立；in-bad 终审得分 64 / 100（自动 53）")
    );
    let (code, stdout, _) = run(&["review", "--db", db, "show", "--call", "in-bad", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["auto_score"].as_f64(), v["final_score"].as_f64()),
        (Some(53.0), Some(64.0))
    );
    // Bad input is an error naming the problem, exit code 1.
    let (code, _, err) = run(&[
        "review",
        "--db",
        db,
        "verdict",
        "--call",
        "in-bad",
        "--item",
        "NOPE",
        "confirmed",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("call `in-bad` has no flag or review item `NOPE`"),
        "{err}"
    );

    // Re-importing keeps the verdict.
    let (code, _, _) = run(&["import", o, "--no-html"]);
    assert_eq!(code, 2);
    let (_, stdout, _) = run(&["review", "--db", db, "show", "--call", "in-bad", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["final_score"].as_f64(), Some(64.0));

    let agents = tmp.path().join("agents");
    let (code, _, err) = run(&[
        "report",
        "--db",
        db,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--out",
        agents.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("6 agents, 7 calls from 2026-11-01 to 2026-11-30"),
        "{err}"
    );
    let csv = std::fs::read_to_string(agents.join("agents.csv")).unwrap();
    // A1002's in-bad after review: 64.
    let row = csv.lines().find(|l| l.starts_with("A1002,")).unwrap();
    assert!(row.starts_with("A1002,王芳,1,64,53,"), "{row}");
    let (code, _, err) = run(&[
        "report",
        "--db",
        db,
        "--from",
        "2026-13-01",
        "--to",
        "2026-11-30",
        "--out",
        agents.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--from 2026-13-01: expected YYYY-MM-DD"),
        "{err}"
    );
}

#[test]
fn after_inspect_writes_database_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(tmp.path());
    let mut err = Vec::new();
    let (n, bad) = zhijian::report::cli::after_inspect(
        &out,
        None,
        &zhijian::report::ReportOptions::default(),
        &mut err,
    )
    .unwrap();
    assert_eq!((n, bad), (8, 0));
    let s = zhijian::store::Store::open(out.join("zhijian.db")).unwrap();
    assert!(s.has_call("out-bad").unwrap());
    assert!(out.join("index.html").is_file() && out.join("calls/out-bad.html").is_file());
}

/// `import`, `review`, `rescore` and `report` give the same answers on PostgreSQL as on the
/// SQLite file.
#[test]
fn commands_agree_between_sqlite_and_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(tmp.path());
    let o = out.to_str().unwrap();
    let file = out.join("zhijian.db").to_string_lossy().into_owned();
    let url = crate::pg::fresh_db().to_string_lossy().into_owned();
    let mut seen = Vec::new();
    for db in [&file, &url] {
        let (code, _, err) = run(&["import", o, "--db", db, "--no-html"]);
        assert_eq!(code, 0, "{err}");
        let mut said = Vec::new();
        for args in [
            &[
                "review", "--db", db, "verdict", "--call", "in-bad", "--item", "RX02", "rejected",
                "--by", "张",
            ][..],
            &[
                "review",
                "--db",
                db,
                "appeal",
                "--call",
                "in-bad",
                "--item",
                "RX04",
                "--reason",
                "客户先挂机",
            ],
            &[
                "review", "--db", db, "decide", "--appeal", "1", "accept", "--by", "主管",
            ],
            &["review", "--db", db, "show", "--call", "in-bad"],
            &["review", "--db", db, "precision"],
            &["rescore", "--db", db, "--rules", "rules", "--diff"],
        ] {
            let (code, stdout, err) = run(args);
            assert_eq!(code, 0, "{args:?}: {err}");
            said.push(stdout);
        }
        let agents = tmp.path().join(if db == &file { "a-file" } else { "a-pg" });
        let (code, _, err) = run(&[
            "report",
            "--db",
            db,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--out",
            agents.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        said.push(std::fs::read_to_string(agents.join("agents.csv")).unwrap());
        seen.push(said);
    }
    assert!(
        seen[0][2].contains("in-bad 终审得分 64 / 100"),
        "{}",
        seen[0][2]
    );
    assert!(seen[0][6]
        .lines()
        .any(|l| l.starts_with("A1002,王芳,1,64,53,")));
    assert_eq!(seen[0], seen[1]);
}
