//! Batch inspection: walk inputs, inspect calls in parallel, write one result per call
//! atomically, skip calls already done with the same input and settings, and write a summary.
//!
//! Output layout under `--out`:
//! - `calls/<call_id>.json` — one [`CallRecord`] per call (failed calls too, with the reason);
//! - `summary.json` — the batch: counts, audio hours, failures, one line per call.

use crate::pipeline::{file_sha256, process_one, Engine};
use crate::record::{CallRecord, CallStatus, SCHEMA_VERSION};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// File extensions picked up when walking a folder. Files named explicitly are always tried.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "mp3", "flac", "ogg", "oga", "m4a", "mp4", "aac", "caf", "mka", "aif", "aiff",
];

pub struct BatchOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub jobs: usize,
    /// Re-inspect calls even when a current result exists.
    pub force: bool,
    pub progress: bool,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct BatchSummary {
    pub schema_version: u32,
    pub zhijian_version: String,
    pub settings_hash: String,
    pub calls_total: usize,
    pub calls_ok: usize,
    pub calls_failed: usize,
    /// Calls whose current result was reused (resumed run).
    pub calls_skipped: usize,
    pub calls_with_warnings: usize,
    pub audio_seconds: f64,
    /// Seconds of detected speech with no usable transcript, over all calls.
    #[serde(default)]
    pub untranscribed_seconds: f64,
    pub wall_seconds: f64,
    pub failures: Vec<Failure>,
    pub calls: Vec<CallLine>,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Failure {
    pub file: PathBuf,
    pub call_id: String,
    pub stage: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct CallLine {
    pub call_id: String,
    pub file: PathBuf,
    pub status: CallStatus,
    pub duration_s: f64,
    pub warnings: usize,
    /// Seconds of detected speech with no usable transcript (`metrics.untranscribed_s`).
    #[serde(default)]
    pub untranscribed_s: f64,
    /// Result file, relative to the output folder.
    pub result: String,
}

/// Expand files and folders into the list of recordings, sorted, without duplicates.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        let meta = std::fs::metadata(p).with_context(|| format!("input {}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out).with_context(|| format!("reading folder {}", p.display()))?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Stable, unique call ids: the metadata call id, else the file stem; when stems clash
/// (`a.wav`, `a.mp3`) the file name; when names clash too (two `0001.wav` in different folders)
/// a short hash of the path is appended, so results never overwrite each other.
pub fn assign_call_ids(engine: &Engine, files: &[PathBuf]) -> Vec<String> {
    let name = |f: &PathBuf| {
        f.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let stem = |f: &PathBuf| {
        f.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let first: Vec<String> = files
        .iter()
        .map(|f| {
            sanitize(
                &engine
                    .meta_for(f)
                    .and_then(|m| m.call_id.clone())
                    .unwrap_or_else(|| stem(f)),
            )
        })
        .collect();
    let counts = |v: &[String]| {
        let mut c: HashMap<String, usize> = HashMap::new();
        for x in v {
            *c.entry(x.clone()).or_default() += 1;
        }
        c
    };
    let c1 = counts(&first);
    let second: Vec<String> = first
        .iter()
        .zip(files)
        .map(|(b, f)| {
            if c1[b] > 1 {
                sanitize(&name(f))
            } else {
                b.clone()
            }
        })
        .collect();
    let c2 = counts(&second);
    second
        .iter()
        .zip(files)
        .map(|(b, f)| {
            if c2[b] > 1 {
                let h = sha2::Sha256::digest(f.to_string_lossy().as_bytes());
                format!("{b}-{}", &hex::encode(h)[..8])
            } else {
                b.clone()
            }
        })
        .collect()
}

use sha2::Digest;

fn sanitize(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "call".into()
    } else {
        s
    }
}

/// Write `bytes` to `path` atomically: a reader (or a rerun after a kill) sees the old file or
/// the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// The existing result for `file`, if it was made from the same bytes with the same settings.
fn reusable(engine: &Engine, result: &Path, file: &Path) -> Option<CallRecord> {
    let text = std::fs::read(result).ok()?;
    let rec: CallRecord = serde_json::from_slice(&text).ok()?;
    if rec.schema_version != SCHEMA_VERSION
        || rec.settings_hash != engine.settings_hash
        || rec.status != CallStatus::Ok
    {
        return None;
    }
    let (sha, _) = file_sha256(file).ok()?;
    (sha == rec.input.sha256).then_some(rec)
}

/// Run the batch. Returns the summary; the caller turns failures into the exit code.
pub fn run_batch(engine: &Engine, opts: &BatchOptions) -> Result<BatchSummary> {
    let started = Instant::now();
    let files = collect_inputs(&opts.inputs)?;
    let ids = assign_call_ids(engine, &files);
    let calls_dir = opts.out.join("calls");
    std::fs::create_dir_all(&calls_dir)
        .with_context(|| format!("creating output folder {}", calls_dir.display()))?;
    // Leftovers of a killed run are never valid results.
    for e in std::fs::read_dir(&calls_dir)?.flatten() {
        if e.file_name().to_string_lossy().contains(".tmp-") {
            let _ = std::fs::remove_file(e.path());
        }
    }

    let pb = ProgressBar::new(files.len() as u64);
    pb.set_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} calls  {per_sec}  ETA {eta}  {msg}",
        )
        .expect("valid template"),
    );
    let write_errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .context("starting worker threads")?;
    let lines: Vec<(CallLine, bool, Option<Failure>)> = pool.install(|| {
        files
            .par_iter()
            .zip(ids.par_iter())
            .map(|(file, id)| {
                let result = calls_dir.join(format!("{id}.json"));
                let rel = format!("calls/{id}.json");
                if !opts.force {
                    if let Some(rec) = reusable(engine, &result, file) {
                        pb.inc(1);
                        return (line(&rec, &rel), true, None);
                    }
                }
                let rec = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    process_one(engine, file, id)
                }))
                .unwrap_or_else(|panic| {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    let mut r = crate::pipeline::new_record(engine, file, id);
                    r.status = CallStatus::Failed;
                    r.errors.push(crate::record::Problem {
                        stage: "internal".into(),
                        message: format!("internal error: {msg}"),
                    });
                    r
                });
                let shown = crate::pii::for_output(&rec, crate::pii::Output::CallJson);
                let json = serde_json::to_vec_pretty(&shown).expect("record serialises");
                if let Err(e) = write_atomic(&result, &json) {
                    write_errors
                        .lock()
                        .unwrap()
                        .push(format!("{}: {e}", result.display()));
                }
                let failure = rec.errors.first().map(|e| Failure {
                    file: file.clone(),
                    call_id: id.clone(),
                    stage: e.stage.clone(),
                    message: e.message.clone(),
                });
                if let Some(f) = &failure {
                    pb.suspend(|| {
                        eprintln!("zhijian: {}: {}: {}", file.display(), f.stage, f.message)
                    });
                }
                pb.inc(1);
                (line(&rec, &rel), false, failure)
            })
            .collect()
    });
    pb.finish_and_clear();
    let errs = write_errors.into_inner().unwrap();
    if !errs.is_empty() {
        anyhow::bail!("could not write results: {}", errs.join("; "));
    }

    let mut s = BatchSummary {
        schema_version: SCHEMA_VERSION,
        zhijian_version: env!("CARGO_PKG_VERSION").into(),
        settings_hash: engine.settings_hash.clone(),
        calls_total: files.len(),
        ..Default::default()
    };
    for (l, skipped, failure) in lines {
        s.calls_skipped += skipped as usize;
        match l.status {
            CallStatus::Ok => s.calls_ok += 1,
            CallStatus::Failed => s.calls_failed += 1,
        }
        s.calls_with_warnings += (l.warnings > 0) as usize;
        s.audio_seconds += l.duration_s;
        s.untranscribed_seconds += l.untranscribed_s;
        s.failures.extend(failure);
        s.calls.push(l);
    }
    s.audio_seconds = (s.audio_seconds * 1000.0).round() / 1000.0;
    s.untranscribed_seconds = (s.untranscribed_seconds * 1000.0).round() / 1000.0;
    s.wall_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let json = serde_json::to_vec_pretty(&s)?;
    write_atomic(&opts.out.join("summary.json"), &json)
        .with_context(|| format!("writing {}", opts.out.join("summary.json").display()))?;
    Ok(s)
}

fn line(rec: &CallRecord, rel: &str) -> CallLine {
    CallLine {
        call_id: rec.call_id.clone(),
        file: rec.input.path.clone(),
        status: rec.status,
        duration_s: rec.duration_s,
        warnings: rec.warnings.len(),
        untranscribed_s: rec.metrics.untranscribed_s,
        result: rel.to_string(),
    }
}
