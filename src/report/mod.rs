//! Reports: what inspectors and QA leads actually open.
//!
//! - [`write_call_page`]: `<out>/calls/<call_id>.html`, one page per call (recording,
//!   timeline, evidence, transcript, scorecard), with `<out>/static/` (style sheet, script).
//! - [`write_batch_reports`] / [`BatchReport`]: `<out>/index.html` (review queue first, then the
//!   batch summary), `calls.csv`, `review_queue.csv`, `review_queue.json`, `queues.csv`.
//! - [`agent`]: the per-agent report for a period, from the store.
//! - [`render`]: the templates every page comes from, the server's included.
//!
//! The batch side works on [`CallSummary`] rows, never whole records, so a batch of a hundred
//! thousand calls does not hold a hundred thousand transcripts in memory.

pub mod agent;
mod batch_page;
pub mod call_page;
pub mod cli;
pub mod html;
pub mod monthly;
pub mod queue;
pub mod quota;
pub mod render;
pub mod sample;
pub mod summary;
/// Dates and times (moved below the store; re-exported so `report::time` paths keep working).
pub use crate::time;
pub mod timeline;
pub mod types;
pub mod views;

pub use queue::{Level, QueueEntry, Reason, ReviewQueue, SampleGroup};
pub use sample::{sample_size, SampleBy, SampleOptions};
pub use summary::CallSummary;

use crate::record::CallRecord;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// Thresholds of the review queue and the batch report. Every default is documented here and
/// in the README; sites override them from the command line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportOptions {
    /// A call scoring below this percentage of its card's maximum is a low-score call (and an
    /// agent whose mean is below it gets a warning). Default 80.
    pub low_score_pct: f64,
    /// Calls at least this long are 超长通话 for special listening. Default 1200 s (20 min).
    pub long_call_s: f64,
    /// Calls at most this long (but not empty) are 超短通话. Default 20 s.
    pub short_call_s: f64,
    /// The same customer number calling again within this many days is a repeat caller.
    /// Default 7.
    pub repeat_days: f64,
    /// Customer dissatisfaction: classifier head, labels and threshold (default `emotion`,
    /// `angry`/`dissatisfied`, 0.8 — the threshold the shipped scorecards use).
    pub dissatisfaction_head: String,
    pub dissatisfaction_labels: Vec<String>,
    pub dissatisfaction_threshold: f64,
    /// Complaints: classifier head, labels and threshold (default `intent`,
    /// `complaint`/`escalation`, 0.7). A metadata column `complaint` = 1/true/是 also counts.
    pub complaint_head: String,
    pub complaint_labels: Vec<String>,
    pub complaint_threshold: f64,
    /// The random (COPC) sample.
    pub sample: SampleOptions,
    /// Calls listed in the HTML tables (the CSV files always list all). Default 1000.
    pub html_row_limit: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            low_score_pct: 80.0,
            long_call_s: 1200.0,
            short_call_s: 20.0,
            repeat_days: 7.0,
            dissatisfaction_head: "emotion".into(),
            dissatisfaction_labels: vec!["angry".into(), "dissatisfied".into()],
            dissatisfaction_threshold: 0.8,
            complaint_head: "intent".into(),
            complaint_labels: vec!["complaint".into(), "escalation".into()],
            complaint_threshold: 0.7,
            sample: SampleOptions::default(),
            html_row_limit: 1000,
        }
    }
}

/// Write `<out_dir>/calls/<call_id>.html` for one call and return its path. The page links
/// the recording by a path relative to the page, so the output folder and the recordings can
/// be moved together.
pub fn write_call_page(rec: &CallRecord, out_dir: &Path) -> io::Result<PathBuf> {
    // The id becomes a file name: a hand-written record must not write outside calls/.
    let id = &rec.call_id;
    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("call id {id:?} cannot be used as a file name"),
        ));
    }
    let dir = out_dir.join("calls");
    std::fs::create_dir_all(&dir)?;
    let rec = &crate::pii::for_output(rec, crate::pii::Output::Html);
    let page = call_page::render(rec, &dir)?;
    render::write_assets(out_dir, false)?;
    let path = dir.join(format!("{}.html", rec.call_id));
    crate::atomic::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// Collects one [`CallSummary`] per call, then writes the batch pages. Use it to stream a
/// batch: `add` each record as it is done, `write` at the end.
#[derive(Debug, Default)]
pub struct BatchReport {
    opts: ReportOptions,
    calls: Vec<CallSummary>,
}

impl BatchReport {
    pub fn new(opts: ReportOptions) -> BatchReport {
        BatchReport {
            opts,
            calls: Vec::new(),
        }
    }

    pub fn add(&mut self, rec: &CallRecord) {
        // The rows feed index.html and the CSV/JSON exports: masked for both.
        let p = crate::pii::policy::active();
        let kinds = p.html.union(&p.csv).copied().collect();
        let rec = crate::pii::mask_record(rec, &kinds);
        self.calls.push(CallSummary::from_record(&rec, &self.opts));
    }

    /// Add a row made elsewhere (e.g. by a worker thread with
    /// [`CallSummary::from_record`], so that records need not travel to the writer).
    pub fn add_summary(&mut self, row: CallSummary) {
        self.calls.push(row);
    }

    pub fn options(&self) -> &ReportOptions {
        &self.opts
    }

    pub fn calls(&self) -> &[CallSummary] {
        &self.calls
    }

    /// The ranked queue and samples for the calls added so far.
    pub fn queue(&self) -> ReviewQueue {
        queue::build(&self.sorted(), &self.opts)
    }

    fn sorted(&self) -> Vec<CallSummary> {
        let mut calls = self.calls.clone();
        calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        calls
    }

    /// Write `index.html`, `calls.csv`, `review_queue.csv`, `review_queue.json` and
    /// `queues.csv` into `out_dir`.
    pub fn write(&self, out_dir: &Path) -> io::Result<()> {
        let calls = self.sorted();
        let q = queue::build(&calls, &self.opts);
        batch_page::write_all(out_dir, &calls, &q, &self.opts)
    }
}

/// Write the batch reports for `records` into `out_dir` (see [`BatchReport::write`]).
pub fn write_batch_reports(
    out_dir: &Path,
    records: &[CallRecord],
    opts: &ReportOptions,
) -> io::Result<()> {
    let mut b = BatchReport::new(opts.clone());
    for r in records {
        b.add(r);
    }
    b.write(out_dir)
}

/// Rebuild every report of an output folder from its `calls/*.json`: each call page and the
/// batch pages. Unreadable result files are reported (file and reason) and skipped.
pub fn rebuild(out_dir: &Path, opts: &ReportOptions) -> anyhow::Result<RebuildStats> {
    use anyhow::Context;
    let calls_dir = out_dir.join("calls");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&calls_dir)
        .with_context(|| format!("reading {}", calls_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut b = BatchReport::new(opts.clone());
    let mut stats = RebuildStats::default();
    for f in &files {
        let rec = match read_record(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("zhijian: {}: {e:#}", f.display());
                stats.unreadable += 1;
                continue;
            }
        };
        write_call_page(&rec, out_dir)
            .with_context(|| format!("writing the page of {}", rec.call_id))?;
        b.add(&rec);
        stats.calls += 1;
    }
    b.write(out_dir)
        .with_context(|| format!("writing batch reports into {}", out_dir.display()))?;
    Ok(stats)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RebuildStats {
    pub calls: usize,
    pub unreadable: usize,
}

/// Read one call record (`calls/<id>.json`).
pub fn read_record(path: &Path) -> anyhow::Result<CallRecord> {
    use anyhow::Context;
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let rec: CallRecord =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    // Every field has a default, so any JSON object parses: a foreign file in the folder must
    // be reported, not stored as an empty call.
    if rec.schema_version == 0 || rec.call_id.trim().is_empty() {
        anyhow::bail!(
            "{}: not a zhijian call result (no schema_version or call_id)",
            path.display()
        );
    }
    Ok(rec)
}

/// The result files of an output folder (`calls/*.json`, hidden temp files left out), sorted.
pub fn result_files(out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out_dir.join("calls"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Where finished calls go, as a batch produces them (ripgrep's `Sink` idea): the batch calls
/// `call_done` once per call from its single writer thread and `finish` at the end.
/// Implemented by [`HtmlDir`] (pages and batch reports) and [`crate::store::Store`] (SQLite).
pub trait ReportSink {
    fn call_done(&mut self, rec: &CallRecord) -> anyhow::Result<()>;
    fn finish(&mut self) -> anyhow::Result<()>;
}

/// Streams calls into the store as a batch finishes them.
impl ReportSink for crate::store::Store {
    fn call_done(&mut self, rec: &CallRecord) -> anyhow::Result<()> {
        self.upsert_call(rec)?;
        Ok(())
    }
    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Writes each call's page as it is done, and the batch pages at the end.
pub struct HtmlDir {
    out: PathBuf,
    batch: BatchReport,
}

impl HtmlDir {
    pub fn new(out: impl Into<PathBuf>, opts: ReportOptions) -> HtmlDir {
        HtmlDir {
            out: out.into(),
            batch: BatchReport::new(opts),
        }
    }
}

impl ReportSink for HtmlDir {
    fn call_done(&mut self, rec: &CallRecord) -> anyhow::Result<()> {
        use anyhow::Context;
        write_call_page(rec, &self.out)
            .with_context(|| format!("writing the page of call {}", rec.call_id))?;
        self.batch.add(rec);
        Ok(())
    }
    fn finish(&mut self) -> anyhow::Result<()> {
        use anyhow::Context;
        self.batch
            .write(&self.out)
            .with_context(|| format!("writing batch reports into {}", self.out.display()))
    }
}
