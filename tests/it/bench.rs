//! `zhijian eval calls` on the committed CI subset of the labelled call benchmark
//! (data/calls/ci: four short synthetic calls, one of them mono, real Whisper and classifier).

use super::common::ZHIJIAN;
use std::path::Path;
use std::process::Command;

#[test]
fn eval_calls_on_the_ci_subset_meets_the_committed_thresholds() {
    let _turn = super::common::whisper_turn();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("figures.json");
    let o = Command::new(ZHIJIAN)
        .current_dir(root)
        .args([
            "eval",
            "calls",
            "data/calls/ci",
            "--jobs",
            "1",
            "--thresholds",
        ])
        .arg("data/calls/ci-thresholds.toml")
        .arg("--out")
        .arg(out.path().join("inspect"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["calls"], 4);
    assert_eq!(r["missing"].as_array().unwrap().len(), 0);
    // Every labelled item is listed with its counts; the acoustic ones are exact here.
    let item = |id: &str| {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {r}"))
            .clone()
    };
    for id in ["LY01", "LY02", "RX01", "RX05", "CUST_UPSET"] {
        let i = item(id);
        let n: u64 = ["tp", "fp", "fn_", "tn"]
            .iter()
            .map(|k| i[k].as_u64().unwrap())
            .sum();
        assert_eq!(n, 4, "{id}: {i}");
    }
    assert_eq!(item("RX05")["fp"], 0);
    assert!(stdout.contains("review queue: precision"), "{stdout}");

    // The same results, judged against a threshold they cannot meet: exit code 3.
    let strict = out.path().join("strict.toml");
    std::fs::write(&strict, "queue_precision = 1.01\n").unwrap();
    let o = Command::new(ZHIJIAN)
        .current_dir(root)
        .args(["eval", "calls", "data/calls/ci", "--reuse", "--thresholds"])
        .arg(&strict)
        .arg("--out")
        .arg(out.path().join("inspect"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("below threshold: queue precision"));
}
