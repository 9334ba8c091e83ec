//! Batch inspection: walk inputs, inspect calls in parallel, write one result per call
//! atomically, skip calls already done with the same input and settings, and write a summary.
//!
//! Output layout under `--out`:
//! - `calls/<call_id>.json` — one [`CallRecord`] per call (failed calls too, with the reason),
//!   named by the call's key ([`crate::identity`]), so names are unique and stable whatever
//!   else is in the folder;
//! - `summary.json` — the batch: counts, audio hours, failures, one line per call.

use crate::identity;
use crate::pipeline::{file_sha256, process_fresh, Engine, StageCounts};
use crate::record::{CallRecord, CallStatus, SCHEMA_VERSION};
use crate::report::ReportSink;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    /// Recordings without any speech: not scored, listed apart.
    #[serde(default)]
    pub calls_no_speech: usize,
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
    /// Files skipped because another file of the batch is the same call.
    #[serde(default)]
    pub duplicates: Vec<Duplicate>,
    /// How many calls each stage ran on (decode, asr, classify, score); reused stages are not
    /// counted.
    #[serde(default)]
    pub stage_runs: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Failure {
    #[serde(serialize_with = "lossy")]
    pub file: PathBuf,
    pub call_id: String,
    pub stage: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct CallLine {
    pub call_id: String,
    #[serde(serialize_with = "lossy")]
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

/// One input after hashing: its key and the bytes' hash (or why it could not be read).
struct Keyed {
    file: PathBuf,
    id: String,
    hashed: std::io::Result<(String, u64)>,
}

/// Hash every file (in parallel) and give each its key ([`crate::identity`]). A call that
/// already has a result in the folder keeps that result's id, even if its file was renamed.
fn key_inputs(engine: &Engine, files: Vec<PathBuf>, calls_dir: &Path) -> Vec<Keyed> {
    let known: HashMap<String, String> = std::fs::read_dir(calls_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".json")?.to_string();
            Some((identity::hex_of(&id)?.to_string(), id))
        })
        .collect();
    files
        .into_par_iter()
        .map(|file| {
            let hashed = file_sha256(&file);
            let switch = engine.meta_for(&file).and_then(|m| m.call_id.clone());
            let id = match &hashed {
                Ok((sha, _)) => {
                    let hex = identity::key_hex(sha, switch.as_deref());
                    known.get(&hex).cloned().unwrap_or_else(|| {
                        identity::call_id(
                            &identity::label(&file, switch.as_deref()),
                            sha,
                            switch.as_deref(),
                        )
                    })
                }
                Err(_) => identity::unreadable_call_id(&file),
            };
            Keyed { file, id, hashed }
        })
        .collect()
}

pub use crate::atomic::write_atomic;

/// The earlier result of this call: `calls/<key>.json`, or a result written before keys
/// (`calls/<label>.json`) of the same bytes, which is then replaced by the keyed one.
fn previous(calls_dir: &Path, k: &Keyed, engine: &Engine) -> (Option<CallRecord>, Option<PathBuf>) {
    let read =
        |p: &Path| -> Option<CallRecord> { serde_json::from_slice(&std::fs::read(p).ok()?).ok() };
    if let Some(r) = read(&calls_dir.join(format!("{}.json", k.id))) {
        return (Some(r), None);
    }
    let switch = engine.meta_for(&k.file).and_then(|m| m.call_id.clone());
    let legacy = calls_dir.join(format!(
        "{}.json",
        identity::sanitize(&identity::label(&k.file, switch.as_deref()))
    ));
    match (read(&legacy), &k.hashed) {
        (Some(r), Ok((sha, _))) if r.input.sha256 == *sha => (Some(r), Some(legacy)),
        _ => (None, None),
    }
}

/// Run the batch. Returns the summary; the caller turns failures into the exit code.
pub fn run_batch(engine: &Engine, opts: &BatchOptions) -> Result<BatchSummary> {
    run_batch_into(engine, opts, None)
}

/// Remove the temporary files of [`crate::atomic::write_atomic`] (`.NAME.tmp-…`) in `dir`
/// and its sub-folders.
fn remove_temp_files(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_temp_files(&e.path())?;
        } else if name.starts_with('.') && name.contains(".tmp-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}

/// Run the batch, handing each finished call (new or reused) to `sink` at once, from one
/// writer thread, and calling its `finish` at the end.
pub fn run_batch_into(
    engine: &Engine,
    opts: &BatchOptions,
    mut sink: Option<&mut dyn ReportSink>,
) -> Result<BatchSummary> {
    let started = Instant::now();
    let files = collect_inputs(&opts.inputs)?;
    let calls_dir = opts.out.join("calls");
    std::fs::create_dir_all(&calls_dir)
        .with_context(|| format!("creating output folder {}", calls_dir.display()))?;
    // Leftovers of a killed run (results, pages, style sheet, summary, index) are never valid
    // files, in whichever folder of the output they were being written.
    remove_temp_files(&opts.out)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .context("starting worker threads")?;
    let keyed = pool.install(|| key_inputs(engine, files, &calls_dir));
    // The same recording twice in one batch is one call (same key hex, whatever the label).
    let mut first: HashMap<&str, &Path> = HashMap::new();
    let mut duplicates = Vec::new();
    let mut todo = Vec::new();
    for k in &keyed {
        let hex = identity::hex_of(&k.id).unwrap_or(&k.id);
        match first.get(hex) {
            Some(f) => duplicates.push(Duplicate {
                file: k.file.clone(),
                same_as: f.to_path_buf(),
                call_id: k.id.clone(),
            }),
            None => {
                first.insert(hex, &k.file);
                todo.push(k);
            }
        }
    }
    let pb = progress_bar(todo.len(), opts.progress);
    let counts = StageCounts::default();
    let (tx, rx) = std::sync::mpsc::channel::<CallRecord>();
    let mut sink_errors: Vec<String> = Vec::new();
    let lines: Vec<Done> = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            pool.install(|| {
                todo.par_iter()
                    .map_with(tx, |tx, k| {
                        let done = inspect_one(engine, opts, &calls_dir, k, &counts);
                        let (d, rec) = match done {
                            Ok(x) => x,
                            Err(e) => {
                                return Done::write_error(k, e);
                            }
                        };
                        if let Some(f) = &d.failure {
                            pb.suspend(|| {
                                eprintln!(
                                    "zhijian: {}: {}: {}",
                                    k.file.display(),
                                    f.stage,
                                    f.message
                                )
                            });
                        }
                        pb.inc(1);
                        let _ = tx.send(rec);
                        d
                    })
                    .collect()
            })
        });
        // The single writer: store rows and pages, one call at a time, as they finish.
        for rec in rx {
            if let Some(s) = sink.as_deref_mut() {
                if let Err(e) = s.call_done(&rec) {
                    sink_errors.push(format!("{}: {e:#}", rec.call_id));
                }
            }
        }
        worker.join().expect("batch workers do not panic")
    });
    pb.finish_and_clear();
    for e in &sink_errors {
        eprintln!("zhijian: storing results: {e}");
    }
    let write_errors: Vec<&str> = lines
        .iter()
        .filter_map(|d| d.write_error.as_deref())
        .collect();
    if !write_errors.is_empty() {
        anyhow::bail!("could not write results: {}", write_errors.join("; "));
    }
    if let Some(s) = sink {
        s.finish()?;
    }
    let mut s = BatchSummary {
        schema_version: SCHEMA_VERSION,
        zhijian_version: env!("CARGO_PKG_VERSION").into(),
        settings_hash: engine.settings_hash.clone(),
        calls_total: keyed.len(),
        duplicates,
        stage_runs: counts.snapshot(),
        ..Default::default()
    };
    for d in lines {
        s.calls_skipped += d.reused as usize;
        match d.line.status {
            CallStatus::Ok => s.calls_ok += 1,
            CallStatus::Failed => s.calls_failed += 1,
            CallStatus::NoSpeech => s.calls_no_speech += 1,
        }
        s.calls_with_warnings += (d.line.warnings > 0) as usize;
        s.audio_seconds += d.line.duration_s;
        s.untranscribed_seconds += d.line.untranscribed_s;
        s.failures.extend(d.failure);
        s.calls.push(d.line);
    }
    s.calls_total -= s.duplicates.len();
    s.audio_seconds = (s.audio_seconds * 1000.0).round() / 1000.0;
    s.untranscribed_seconds = (s.untranscribed_seconds * 1000.0).round() / 1000.0;
    s.wall_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let json = serde_json::to_vec_pretty(&s)?;
    write_atomic(&opts.out.join("summary.json"), &json)
        .with_context(|| format!("writing {}", opts.out.join("summary.json").display()))?;
    Ok(s)
}

/// A file whose bytes (and switch call id) are those of another file of the batch.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Duplicate {
    #[serde(serialize_with = "lossy")]
    pub file: PathBuf,
    #[serde(serialize_with = "lossy")]
    pub same_as: PathBuf,
    pub call_id: String,
}

fn lossy<S: serde::Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

struct Done {
    line: CallLine,
    reused: bool,
    failure: Option<Failure>,
    write_error: Option<String>,
}

impl Done {
    fn write_error(k: &Keyed, e: String) -> Done {
        Done {
            line: CallLine {
                call_id: k.id.clone(),
                file: k.file.clone(),
                status: CallStatus::Failed,
                duration_s: 0.0,
                untranscribed_s: 0.0,
                warnings: 0,
                result: String::new(),
            },
            reused: false,
            failure: None,
            write_error: Some(e),
        }
    }
}

/// One call: reuse or (re)inspect it, write its result atomically.
fn inspect_one(
    engine: &Engine,
    opts: &BatchOptions,
    calls_dir: &Path,
    k: &Keyed,
    counts: &StageCounts,
) -> std::result::Result<(Done, CallRecord), String> {
    let result = calls_dir.join(format!("{}.json", k.id));
    let rel = format!("calls/{}.json", k.id);
    let (prev, legacy) = if opts.force {
        (None, None)
    } else {
        previous(calls_dir, k, engine)
    };
    let current = |p: &CallRecord| {
        legacy.is_none()
            && p.schema_version == SCHEMA_VERSION
            && matches!(p.status, CallStatus::Ok | CallStatus::NoSpeech)
            && p.call_id == k.id
            && k.hashed
                .as_ref()
                .is_ok_and(|(sha, _)| *sha == p.input.sha256)
            && p.fingerprints == engine.fingerprints(engine.meta_for(&k.file))
    };
    if let Some(p) = prev.as_ref().filter(|p| current(p)) {
        let rec = p.clone();
        return Ok((
            Done {
                line: line(&rec, &rel),
                reused: true,
                failure: None,
                write_error: None,
            },
            rec,
        ));
    }
    let fresh = crate::pipeline::new_record(engine, &k.file, &k.id);
    let rec = crate::pipeline::guarded(fresh, |fresh| {
        let hashed = k.hashed.as_ref().ok().cloned();
        let mut r = process_fresh(engine, &k.file, fresh, hashed.as_ref(), prev, counts);
        if let Err(e) = &k.hashed {
            r.status = CallStatus::Failed;
            r.errors = vec![crate::record::Problem {
                stage: "read".into(),
                message: format!("cannot read file: {e}"),
            }];
        }
        r
    });
    let shown = crate::pii::for_output(&rec, crate::pii::Output::CallJson);
    let json = serde_json::to_vec_pretty(&shown).expect("record serialises");
    write_atomic(&result, &json).map_err(|e| format!("{}: {e}", result.display()))?;
    if let Some(old) = legacy {
        let _ = std::fs::remove_file(old);
    }
    let failure = rec.errors.first().map(|e| Failure {
        file: k.file.clone(),
        call_id: k.id.clone(),
        stage: e.stage.clone(),
        message: e.message.clone(),
    });
    Ok((
        Done {
            line: line(&rec, &rel),
            reused: false,
            failure,
            write_error: None,
        },
        rec,
    ))
}

fn progress_bar(n: usize, show: bool) -> ProgressBar {
    let pb = ProgressBar::new(n as u64);
    pb.set_draw_target(if show {
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
    pb
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_runs_temp_files_are_removed_from_every_output_folder() {
        // A run killed while writing the style sheet left out/static/.app.css.tmp-… behind.
        let out = tempfile::tempdir().unwrap();
        let static_dir = out.path().join("static");
        std::fs::create_dir_all(out.path().join("calls")).unwrap();
        std::fs::create_dir_all(&static_dir).unwrap();
        let stale = [
            out.path().join(".summary.json.tmp-31473-ThreadId(1)"),
            out.path().join("calls/.a.json.tmp-31473-ThreadId(2)"),
            static_dir.join(".app.css.tmp-31473-ThreadId(1)"),
        ];
        let kept = [static_dir.join("app.css"), out.path().join("notes.tmp-x")];
        for p in stale.iter().chain(&kept) {
            std::fs::write(p, b"x").unwrap();
        }
        remove_temp_files(out.path()).unwrap();
        assert!(stale.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()));
    }
}
