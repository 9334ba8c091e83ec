//! Command bodies for `zhijian import` and `zhijian report` (the clap types live here too, so
//! `src/cli.rs` only lists the subcommands).

use super::sample::{z_for_confidence, SampleBy, SampleOptions};
use super::{read_record, write_call_page, BatchReport, ReportOptions};
use crate::store::Store;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Review-queue and sampling thresholds (shared by `import` and, once wired, `inspect`).
#[derive(Debug, Args, Clone)]
pub struct QueueArgs {
    /// Low score: below this percentage of the card's maximum a call enters the review queue
    /// (and an agent whose mean is below it gets a warning).
    #[arg(long, default_value_t = 80.0, value_name = "PCT")]
    pub low_score: f64,
    /// Calls at least this long go to special listening (超长通话).
    #[arg(long, default_value_t = 1200.0, value_name = "SECS")]
    pub long_call: f64,
    /// Calls at most this long go to special listening (超短通话).
    #[arg(long, default_value_t = 20.0, value_name = "SECS")]
    pub short_call: f64,
    /// The same customer number calling again within this many days is a repeat caller.
    #[arg(long, default_value_t = 7.0, value_name = "DAYS")]
    pub repeat_days: f64,
    /// Draw the random (COPC) sample per agent or per queue.
    #[arg(long, value_enum, default_value = "agent")]
    pub sample_by: SampleBy,
    /// Confidence of the random sample, in percent: 80, 90, 95, 98 or 99.
    #[arg(long, default_value_t = 95.0, value_name = "PCT")]
    pub sample_confidence: f64,
    /// Margin of error of the random sample (0.05 = ±5 points).
    #[arg(long, default_value_t = 0.05, value_name = "E")]
    pub sample_margin: f64,
    /// Expected error rate for the sample size (0.5 when unknown: the largest sample).
    #[arg(long, default_value_t = 0.5, value_name = "P")]
    pub sample_p: f64,
    /// Seed of the random draw (same seed, same calls → same sample).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub sample_seed: u64,
}

impl QueueArgs {
    pub fn options(&self) -> Result<ReportOptions> {
        let Some(z) = z_for_confidence(self.sample_confidence) else {
            bail!(
                "--sample-confidence {} is not supported (use 80, 90, 95, 98 or 99)",
                self.sample_confidence
            );
        };
        if !(self.sample_margin > 0.0 && self.sample_margin < 1.0) {
            bail!(
                "--sample-margin must be between 0 and 1, got {}",
                self.sample_margin
            );
        }
        if !(self.sample_p > 0.0 && self.sample_p < 1.0) {
            bail!("--sample-p must be between 0 and 1, got {}", self.sample_p);
        }
        Ok(ReportOptions {
            low_score_pct: self.low_score,
            long_call_s: self.long_call,
            short_call_s: self.short_call,
            repeat_days: self.repeat_days,
            sample: SampleOptions {
                by: self.sample_by,
                z,
                margin: self.sample_margin,
                p: self.sample_p,
                seed: self.sample_seed,
            },
            ..ReportOptions::default()
        })
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Output folders of `zhijian inspect` (each holding calls/*.json).
    #[arg(required = true, value_name = "OUT")]
    pub dirs: Vec<PathBuf>,
    /// Database to load the calls into (default: OUT/zhijian.db for each folder). Share one
    /// file across batches to report on months.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Only load the database; leave the HTML and CSV reports as they are.
    #[arg(long)]
    pub no_html: bool,
    #[command(flatten)]
    pub queue: QueueArgs,
    #[command(flatten)]
    pub privacy: crate::pii::policy::PrivacyArgs,
}

/// `zhijian import`: load results into the database and (re)write each folder's reports.
pub fn import_cmd(a: &ImportArgs, err: &mut dyn Write) -> Result<ExitCode> {
    let opts = a.queue.options()?;
    let mut bad = 0usize;
    let mut shared = match &a.db {
        Some(p) => Some(Store::open(p).with_context(|| format!("opening {}", p.display()))?),
        None => None,
    };
    for dir in &a.dirs {
        let mut own;
        let store = match shared.as_mut() {
            Some(s) => s,
            None => {
                let p = dir.join("zhijian.db");
                own = Store::open(&p).with_context(|| format!("opening {}", p.display()))?;
                &mut own
            }
        };
        let (n, failed) = import_dir(dir, store, (!a.no_html).then_some(&opts), err)?;
        bad += failed;
        writeln!(
            err,
            "zhijian: {}: {n} calls loaded into {}{}",
            dir.display(),
            store.path().display(),
            if a.no_html {
                String::new()
            } else {
                format!("; reports in {}", dir.join("index.html").display())
            }
        )?;
    }
    Ok(if bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Load every `calls/*.json` of `dir` into `store`; with `html`, also rewrite the call pages
/// and the batch reports. Returns (calls loaded, files that could not be read).
pub fn import_dir(
    dir: &Path,
    store: &mut Store,
    html: Option<&ReportOptions>,
    err: &mut dyn Write,
) -> Result<(usize, usize)> {
    let calls_dir = dir.join("calls");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&calls_dir)
        .with_context(|| {
            format!(
                "reading {} (is it an output folder of `zhijian inspect`?)",
                calls_dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut batch = html.map(|o| BatchReport::new(o.clone()));
    let (mut n, mut bad) = (0, 0);
    for f in &files {
        let rec = match read_record(f) {
            Ok(r) => r,
            Err(e) => {
                writeln!(err, "zhijian: {e:#}")?;
                bad += 1;
                continue;
            }
        };
        let up = store
            .upsert_call(&rec)
            .with_context(|| format!("storing {}", f.display()))?;
        let mut rec = rec;
        rec.call_id = up.call_id;
        if let Some(b) = batch.as_mut() {
            write_call_page(&rec, dir)
                .with_context(|| format!("writing the page of {}", rec.call_id))?;
            b.add(&rec);
        }
        n += 1;
    }
    if let Some(b) = batch {
        b.write(dir)
            .with_context(|| format!("writing reports into {}", dir.display()))?;
    }
    Ok((n, bad))
}

/// What `inspect` runs after its batch: store every call of `out` in the database (`db`, by
/// default `out/zhijian.db`) and write the call pages and batch reports. Returns (calls,
/// unreadable result files); unreadable files are named on `err`.
pub fn after_inspect(
    out: &Path,
    db: Option<&Path>,
    opts: &ReportOptions,
    err: &mut dyn Write,
) -> Result<(usize, usize)> {
    let path = db.map_or_else(|| out.join("zhijian.db"), Path::to_path_buf);
    let mut store = Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
    import_dir(out, &mut store, Some(opts), err)
}

/// What `inspect` streams its calls into: the database and each call's page, one call at a
/// time as the batch finishes it (from the batch's single writer thread). At the end, results
/// in the folder from earlier runs are stored too, unreadable or foreign files are reported
/// (never fatal), and the batch pages are written.
pub struct InspectSink<'a> {
    store: Store,
    html: super::HtmlDir,
    out: PathBuf,
    seen: std::collections::HashSet<String>,
    err: &'a mut dyn Write,
    /// Calls stored, and result files that could not be read.
    pub calls: usize,
    pub unreadable: usize,
}

impl<'a> InspectSink<'a> {
    pub fn open(
        out: &Path,
        db: Option<&Path>,
        opts: &ReportOptions,
        err: &'a mut dyn Write,
    ) -> Result<InspectSink<'a>> {
        let path = db.map_or_else(|| out.join("zhijian.db"), Path::to_path_buf);
        let store = Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
        Ok(InspectSink {
            store,
            html: super::HtmlDir::new(out, opts.clone()),
            out: out.to_path_buf(),
            seen: Default::default(),
            err,
            calls: 0,
            unreadable: 0,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn put(&mut self, rec: crate::record::CallRecord) -> Result<()> {
        self.seen.insert(rec.call_id.clone());
        let up = self.store.upsert_call(&rec)?;
        let mut rec = rec;
        rec.call_id = up.call_id;
        super::ReportSink::call_done(&mut self.html, &rec)?;
        self.calls += 1;
        Ok(())
    }
}

impl super::ReportSink for InspectSink<'_> {
    fn call_done(&mut self, rec: &crate::record::CallRecord) -> Result<()> {
        self.put(rec.clone())
    }

    fn finish(&mut self) -> Result<()> {
        let files = super::result_files(&self.out)
            .with_context(|| format!("reading {}", self.out.join("calls").display()))?;
        for f in files {
            let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned());
            if stem.is_some_and(|s| self.seen.contains(&s)) {
                continue;
            }
            match read_record(&f) {
                Ok(rec) => self.put(rec)?,
                Err(e) => {
                    writeln!(self.err, "zhijian: {e:#}")?;
                    self.unreadable += 1;
                }
            }
        }
        super::ReportSink::finish(&mut self.html)
    }
}
