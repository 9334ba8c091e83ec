//! Reports, review queue, store and review: golden CSV/JSON outputs of the fixture batch
//! (`tests/fixtures/report/batch`, made by `make_fixtures.py` from the rules fixtures), the
//! per-agent formulas against hand-computed values, sampling against the textbook formula,
//! store upserts that keep human verdicts, and the HTML as rendered by headless Chromium.

#[path = "report_agent.rs"]
mod agent;
#[path = "report_batch.rs"]
mod batch;
#[path = "report_cli.rs"]
mod cli;
#[path = "report_html.rs"]
pub mod html;
#[path = "report_store.rs"]
mod store;

use std::path::{Path, PathBuf};
use zhijian::record::CallRecord;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_dir() -> PathBuf {
    root().join("tests/fixtures/report/batch/calls")
}

/// The fixture batch, in file-name order.
pub fn records() -> Vec<CallRecord> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| zhijian::report::read_record(f).unwrap_or_else(|e| panic!("{e:#}")))
        .collect()
}

pub fn record(id: &str) -> CallRecord {
    zhijian::report::read_record(&fixture_dir().join(format!("{id}.json"))).unwrap()
}

/// Compare `actual` with the golden file `tests/fixtures/report/golden/<name>`; with
/// `ZHIJIAN_UPDATE_GOLDEN=1` rewrite it instead (then review the diff before committing).
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/fixtures/report/golden").join(name);
    if std::env::var_os("ZHIJIAN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (create it with ZHIJIAN_UPDATE_GOLDEN=1 cargo test --test it report)",
            path.display()
        )
    });
    if expected != actual {
        let (el, al): (Vec<&str>, Vec<&str>) =
            (expected.lines().collect(), actual.lines().collect());
        let first = el
            .iter()
            .zip(&al)
            .position(|(a, b)| a != b)
            .unwrap_or(el.len().min(al.len()));
        panic!(
            "{} differs from the output at line {}:\n  expected: {:?}\n  actual:   {:?}\n(rerun with ZHIJIAN_UPDATE_GOLDEN=1 to accept)",
            path.display(),
            first + 1,
            el.get(first),
            al.get(first)
        );
    }
}

/// Copy the fixture records into a fresh output folder `<tmp>/out/calls`.
pub fn out_dir(tmp: &Path) -> PathBuf {
    let out = tmp.join("out");
    std::fs::create_dir_all(out.join("calls")).unwrap();
    for e in std::fs::read_dir(fixture_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, out.join("calls").join(p.file_name().unwrap())).unwrap();
    }
    out
}
