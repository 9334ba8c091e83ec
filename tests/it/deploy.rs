//! The offline install: the bundle built from this very binary is reproducible, works with the
//! network cut off (doctor + inspecting the samples inside `unshare -n`), and an upgrade over a
//! database written by the previous release keeps its verdicts, manual scores, appeals and the
//! site's scorecards, while a downgrade is refused.
//!
//! One test on purpose: the bundle (≈ 300 MB of models) is built once and every step reuses it.

use crate::common::ZHIJIAN;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().expect("spawn");
    assert!(
        o.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn bundle(out: &Path) -> PathBuf {
    let o = run(Command::new(root().join("scripts/bundle.sh"))
        .args(["--bin", ZHIJIAN, "--out"])
        .arg(out));
    PathBuf::from(String::from_utf8(o.stdout).unwrap().trim())
}

fn sha256(p: &Path) -> String {
    let o = run(Command::new("sha256sum").arg(p));
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

/// Unpack `tarball` into `dir` and return the bundle's folder.
fn unpack(tarball: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("tar")
        .args(["-I", "zstd", "-xf"])
        .arg(tarball)
        .arg("-C")
        .arg(dir));
    let name = tarball.file_name().unwrap().to_str().unwrap();
    dir.join(name.trim_end_matches(".tar.zst"))
}

#[test]
fn bundle_installs_and_inspects_offline_and_upgrades_keep_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let t1 = bundle(&tmp.path().join("a"));
    let t2 = bundle(&tmp.path().join("b"));
    assert_eq!(
        sha256(&t1),
        sha256(&t2),
        "same commit and binary, different bundle bytes"
    );
    let listing =
        String::from_utf8(run(Command::new("tar").args(["-I", "zstd", "-tf"]).arg(&t1)).stdout)
            .unwrap();
    for f in [
        "bin/zhijian",
        "models/ggml-base.bin",
        "models/ggml-base-q8_0.bin",
        "models/classifier/heads.safetensors",
        "rules/inbound_service.toml",
        "systemd/zhijian-inspect.service",
        "systemd/zhijian-worker.service",
        "licenses/pgmq-LICENSE.txt",
        "licenses/THIRD-PARTY.md",
        "licenses/Whisper-LICENSE.txt",
        "MANIFEST.sha256",
        "install.sh",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(f)),
            "{f} not in the bundle"
        );
    }
    offline_doctor_and_inspect(&t1, &tmp.path().join("airgap"));
    upgrade_keeps_human_input(&t1, &tmp.path().join("site"));
}

/// Everything after the download happens with no network at all.
fn offline_doctor_and_inspect(tarball: &Path, dir: &Path) {
    let _turn = super::common::whisper_turn();
    std::fs::create_dir_all(dir).unwrap();
    let script = format!(
        "set -e; tar -I zstd -xf '{t}' -C '{d}'; cd '{d}'/zhijian-*; \
         bin/zhijian doctor --data . ; \
         bin/zhijian inspect samples/call03_outbound_sales.mp3 --meta samples/calls.csv --out out \
         --no-progress",
        t = tarball.display(),
        d = dir.display()
    );
    let o = run(Command::new("unshare").args(["-n", "sh", "-c", &script]));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        report.contains("everything needed to inspect calls is in place"),
        "{report}"
    );
    assert!(report.contains("ok    inspect"), "{report}");
    let home = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("out/summary.json")).unwrap()).unwrap();
    // One shipped sample (doctor above inspected another): the whole set costs minutes of CI.
    assert_eq!(summary["calls_total"], 1, "{summary}");
    assert_eq!(summary["calls_failed"], 0, "{summary}");
    assert!(home.join("out/index.html").is_file());
}

fn install(bundle_dir: &Path, site: &Path) -> Output {
    Command::new("sh")
        .arg(bundle_dir.join("install.sh"))
        .arg("--prefix")
        .arg(site.join("opt"))
        .arg("--data")
        .arg(site.join("var"))
        .arg("--etc")
        .arg(site.join("etc"))
        .args(["--user", "root", "--no-systemd"])
        .output()
        .unwrap()
}

/// A database written by the release before this one (schema 1, made with that release's
/// `import` and `review` commands) is upgraded with a backup first and keeps every verdict.
fn upgrade_keeps_human_input(tarball: &Path, site: &Path) {
    let unpacked = unpack(tarball, &site.join("unpacked"));
    let out = site.join("var/out");
    std::fs::create_dir_all(&out).unwrap();
    let db = out.join("zhijian.db");
    std::fs::copy(root().join("tests/fixtures/store/v1-with-verdicts.db"), &db).unwrap();

    let o = install(&unpacked, site);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("will be upgraded"), "{err}");
    // The site edits a scorecard; installing again (an upgrade) must keep the edit.
    let card = site.join("etc/rules/inbound_service.toml");
    let edited = std::fs::read_to_string(&card).unwrap() + "\n# site edit\n";
    std::fs::write(&card, &edited).unwrap();
    let o = install(&unpacked, site);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&card).unwrap(), edited);

    let current = site.join("opt/current/bin/zhijian");
    let show = run(Command::new(&current)
        .args(["review", "show", "--call", "in-bad", "--db"])
        .arg(&db));
    let text = String::from_utf8_lossy(&show.stdout);
    // As the old release showed: automatic 53; rejecting RX02 (−10) in 热情耐心, whose
    // deductions are capped at 20, gives back 6 points → 59.
    assert!(text.contains("终审得分 59 / 100"), "{text}");
    assert!(text.contains("驳回"), "{text}");
    assert!(
        out.join("zhijian.db.v1.bak").is_file(),
        "no backup before the upgrade"
    );

    // A downgrade: the database claims a newer schema than this release knows.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "user_version", v + 1).unwrap();
    drop(conn);
    let before = std::fs::read_link(site.join("opt/current")).unwrap();
    let o = install(&unpacked, site);
    assert!(!o.status.success(), "installed over a newer database");
    assert!(String::from_utf8_lossy(&o.stderr).contains("newer zhijian"));
    assert_eq!(
        std::fs::read_link(site.join("opt/current")).unwrap(),
        before
    );
}
