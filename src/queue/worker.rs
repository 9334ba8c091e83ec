//! `zhijian worker`: lease a job, inspect the call, store the result and archive the job in
//! one transaction; repeat until stopped.

use super::{install, now_sql, Job, DEAD, WORK};
use crate::pipeline::{Engine, StageCounts};
use crate::record::{CallRecord, CallStatus, Problem};
use crate::store::db::{args, DbError};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The database (`postgres://…`).
    pub db: PathBuf,
    /// This worker's name in `status` (default: host name and process id).
    pub name: String,
    /// Calls in parallel.
    pub jobs: usize,
    /// Lease length; the heartbeat renews it every third of it.
    pub lease_s: i64,
    /// Deliveries before a job goes to the dead-letter queue.
    pub max_attempts: i64,
    /// Wait before a failed job is tried again (times the attempt number).
    pub retry_delay_s: i64,
    /// Stop when the queue is empty instead of waiting for more.
    pub until_empty: bool,
    /// How long to sleep when there is nothing to do.
    pub poll: Duration,
}

/// Set by SIGTERM/SIGINT: take no new job, finish the ones in hand, exit.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGINT,
            on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// A job in hand: its message and delivery count (the lease's identity).
#[derive(Debug, Clone)]
struct Lease {
    msg_id: i64,
    read_ct: i64,
    job: Job,
}

/// Leases the heartbeat keeps alive: msg_id → read_ct.
type Held = Arc<Mutex<HashMap<i64, i64>>>;

/// What a worker did (`--until-empty` runs end with it).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WorkerSummary {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
    /// Results thrown away because another worker had taken the job over.
    pub superseded: usize,
    /// Seconds spent on the queue itself (leasing, and the commit that stores and archives):
    /// its overhead beside the inspection.
    pub queue_s: f64,
}

impl WorkerSummary {
    fn add(&mut self, o: &WorkerSummary) {
        self.done += o.done;
        self.retried += o.retried;
        self.dead += o.dead;
        self.superseded += o.superseded;
        self.queue_s += o.queue_s;
    }
}

/// Run the worker until stopped (or, with `until_empty`, until no job is left).
pub fn run(engine: &Engine, o: &WorkerOptions) -> anyhow::Result<WorkerSummary> {
    install_signal_handlers();
    let store = connect(o)?;
    install(&store)?;
    drop(store);
    let held: Held = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let beat = {
        let (held, done, o) = (held.clone(), done.clone(), o.clone());
        std::thread::spawn(move || heartbeat(&o, &held, &done))
    };
    let total = Mutex::new(WorkerSummary::default());
    std::thread::scope(|sc| {
        for _ in 0..o.jobs.max(1) {
            sc.spawn(|| {
                let s = work_loop(engine, o, &held);
                total.lock().unwrap_or_else(|p| p.into_inner()).add(&s);
            });
        }
    });
    done.store(true, Ordering::SeqCst);
    let _ = beat.join();
    Ok(total.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Connect, retrying with back-off while the database is unreachable (restarting).
fn connect(o: &WorkerOptions) -> anyhow::Result<Store> {
    let mut wait = Duration::from_millis(250);
    let started = Instant::now();
    loop {
        match Store::open(&o.db) {
            Ok(s) => return Ok(s),
            Err(e) if started.elapsed() < Duration::from_secs(600) && !stop_requested() => {
                log::warn!(
                    "worker {}: database unreachable ({e}); retrying in {wait:?}",
                    o.name
                );
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn lost(e: &StoreError) -> bool {
    matches!(e, StoreError::Db { source, .. } if source.is_connection_lost())
}

/// One lane of the worker: lease, inspect, commit, until told to stop.
fn work_loop(engine: &Engine, o: &WorkerOptions, held: &Held) -> WorkerSummary {
    let mut sum = WorkerSummary::default();
    let mut store = None;
    while !stop_requested() {
        let s = match store.as_mut() {
            Some(s) => s,
            None => match connect(o) {
                Ok(s) => store.insert(s),
                Err(e) => {
                    log::error!("worker {}: {e:#}", o.name);
                    return sum;
                }
            },
        };
        let t = Instant::now();
        match lease(s, o) {
            Ok(Some(l)) => {
                sum.queue_s += t.elapsed().as_secs_f64();
                held.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(l.msg_id, l.read_ct);
                let outcome = handle(engine, o, &mut store, &l, &mut sum.queue_s);
                held.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&l.msg_id);
                match outcome {
                    Some(Outcome::Done) => sum.done += 1,
                    Some(Outcome::Retry) => sum.retried += 1,
                    Some(Outcome::Dead) => sum.dead += 1,
                    Some(Outcome::Superseded) => sum.superseded += 1,
                    None => {}
                }
            }
            Ok(None) if o.until_empty && queue_empty(s).unwrap_or(false) => break,
            Ok(None) => std::thread::sleep(o.poll),
            Err(e) if lost(&e) => {
                log::warn!("worker {}: lost the database ({e}); reconnecting", o.name);
                store = None;
            }
            Err(e) => {
                log::error!("worker {}: {e}", o.name);
                std::thread::sleep(o.poll);
            }
        }
    }
    sum
}

/// Nothing queued and nothing leased by anyone (a leased job may still come back).
fn queue_empty(s: &Store) -> Result<bool, StoreError> {
    s.db()
        .value::<i64>(&format!("SELECT COUNT(*) FROM pgmq.q_{WORK}"), args![])
        .map(|n| n == 0)
        .map_err(|e| s.err(e))
}

/// Take the next visible job for `lease_s`.
fn lease(s: &mut Store, o: &WorkerOptions) -> Result<Option<Lease>, StoreError> {
    let row = s
        .db()
        .row(
            "SELECT msg_id, read_ct, CAST(message AS TEXT) FROM pgmq.read(CAST(?1 AS TEXT), CAST(?2 AS INTEGER), 1)",
            args![WORK, o.lease_s],
            |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
        )
        .map_err(|e| s.err(e))?;
    let Some((msg_id, read_ct, msg)) = row else {
        return Ok(None);
    };
    let job: Job = match serde_json::from_str(&msg) {
        Ok(j) => j,
        Err(e) => {
            // Not ours to read: keep it, but out of the way.
            let bad = Job {
                call_id: format!("bad-message-{msg_id}"),
                file: PathBuf::new(),
                sha256: String::new(),
                meta: None,
            };
            let l = Lease {
                msg_id,
                read_ct,
                job: bad,
            };
            bury(s, &l, &format!("unreadable job message: {e}"), None)?;
            return Ok(None);
        }
    };
    s.db()
        .execute(
            concat!(
                "UPDATE work_calls SET state = 'running', worker = ?2, attempts = ?3, started_at = ",
                now_sql!(),
                " WHERE call_id = ?1 AND state != 'done'"
            ),
            args![job.call_id, o.name, read_ct],
        )
        .map_err(|e| s.err(e))?;
    Ok(Some(Lease {
        msg_id,
        read_ct,
        job,
    }))
}

enum Outcome {
    Done,
    Retry,
    Dead,
    Superseded,
}

/// Inspect the leased call and commit the outcome (reconnecting if the database went away
/// meanwhile). None: the outcome could not be written; the lease will run out and the job
/// comes back.
fn handle(
    engine: &Engine,
    o: &WorkerOptions,
    store: &mut Option<Store>,
    l: &Lease,
    queue_s: &mut f64,
) -> Option<Outcome> {
    let t = Instant::now();
    let rec = if l.read_ct > o.max_attempts {
        // Delivered again and again without an outcome: its workers died on it.
        let mut r = crate::pipeline::new_record_with(
            engine,
            &l.job.file,
            &l.job.call_id,
            l.job.meta.clone(),
        );
        r.input.sha256 = l.job.sha256.clone();
        r.status = CallStatus::Failed;
        r.errors.push(Problem {
            stage: "worker".into(),
            message: format!(
                "the worker inspecting it stopped {} times (killed or crashed) before finishing",
                l.read_ct - 1
            ),
        });
        r
    } else {
        inspect(engine, &l.job)
    };
    let wall = t.elapsed().as_secs_f64();
    for attempt in 0..30 {
        let s = match store.as_mut() {
            Some(s) => s,
            None => store.insert(connect(o).ok()?),
        };
        let t = Instant::now();
        let r = commit(s, o, l, &rec, wall);
        *queue_s += t.elapsed().as_secs_f64();
        match r {
            Ok(out) => return Some(out),
            Err(e) if lost(&e) && !stop_requested() => {
                log::warn!(
                    "worker {}: database lost while saving {} (try {attempt}): {e}",
                    o.name,
                    l.job.call_id
                );
                *store = None;
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => {
                log::error!("worker {}: saving {}: {e}", o.name, l.job.call_id);
                return None;
            }
        }
    }
    None
}

/// Run the pipeline on the job's recording, as `inspect` does; a panic fails the call only.
fn inspect(engine: &Engine, job: &Job) -> CallRecord {
    let fresh = crate::pipeline::new_record_with(engine, &job.file, &job.call_id, job.meta.clone());
    let hashed = crate::pipeline::file_sha256(&job.file);
    let changed = matches!(&hashed, Ok((sha, _)) if !job.sha256.is_empty() && *sha != job.sha256);
    let counts = StageCounts::default();
    let h = hashed.as_ref().ok().cloned();
    let mut rec = crate::pipeline::guarded(fresh, |fresh| {
        crate::pipeline::process_fresh(engine, &job.file, fresh, h.as_ref(), None, &counts)
    });
    if changed {
        rec.status = CallStatus::Failed;
        rec.errors.insert(
            0,
            Problem {
                stage: "read".into(),
                message: "the recording changed after it was enqueued (enqueue it again)".into(),
            },
        );
    }
    rec
}

/// Store the outcome in one transaction, if the lease is still this worker's.
fn commit(
    s: &mut Store,
    o: &WorkerOptions,
    l: &Lease,
    rec: &CallRecord,
    wall: f64,
) -> Result<Outcome, StoreError> {
    s.in_transaction(|s| {
        let path = s.path().to_path_buf();
        let e = |source: DbError| StoreError::Db {
            path: path.clone(),
            source,
        };
        let mine: Option<i64> = s
            .db()
            .row(
                &format!("SELECT read_ct FROM pgmq.q_{WORK} WHERE msg_id = ?1 FOR UPDATE"),
                args![l.msg_id],
                |r| r.get(0),
            )
            .map_err(e)?;
        if mine != Some(l.read_ct) {
            // Archived by, or delivered again to, another worker: its result counts.
            return Ok(Outcome::Superseded);
        }
        let failed = rec.status == CallStatus::Failed;
        let why = rec
            .errors
            .first()
            .map(|p| format!("{}: {}", p.stage, p.message))
            .unwrap_or_default();
        if failed && l.read_ct < o.max_attempts {
            s.db()
                .query(
                    "SELECT msg_id FROM pgmq.set_vt(CAST(?1 AS TEXT), CAST(?2 AS BIGINT), CAST(?3 AS INTEGER))",
                    args![WORK, l.msg_id, o.retry_delay_s * l.read_ct],
                )
                .map_err(e)?;
            s.db()
                .execute(
                    "UPDATE work_calls SET state = 'retry', error = ?2 WHERE call_id = ?1",
                    args![rec.call_id, why],
                )
                .map_err(e)?;
            return Ok(Outcome::Retry);
        }
        s.upsert_call(rec)?;
        if failed {
            bury(s, l, &why, Some(wall))?;
            return Ok(Outcome::Dead);
        }
        s.db()
            .execute(
                concat!(
                    "UPDATE work_calls SET state = 'done', worker = ?2, error = NULL,
                    audio_s = ?3, wall_s = ?4, finished_at = ",
                    now_sql!(),
                    " WHERE call_id = ?1"
                ),
                args![rec.call_id, o.name, rec.duration_s, wall],
            )
            .map_err(e)?;
        s.db()
            .query("SELECT pgmq.archive(CAST(?1 AS TEXT), CAST(?2 AS BIGINT))", args![WORK, l.msg_id])
            .map_err(e)?;
        Ok(Outcome::Done)
    })
}

/// Move a job to the dead-letter queue with its error.
fn bury(s: &Store, l: &Lease, why: &str, wall: Option<f64>) -> Result<(), StoreError> {
    let e = |x: DbError| s.err(x);
    let letter = serde_json::json!({ "job": l.job, "error": why, "deliveries": l.read_ct });
    s.db()
        .query(
            "SELECT pgmq.send(CAST(?1 AS TEXT), CAST(?2 AS JSONB))",
            args![DEAD, letter.to_string()],
        )
        .map_err(e)?;
    s.db()
        .execute(
            concat!(
                "UPDATE work_calls SET state = 'dead', error = ?2, wall_s = ?3, finished_at = ",
                now_sql!(),
                " WHERE call_id = ?1"
            ),
            args![l.job.call_id, why, wall],
        )
        .map_err(e)?;
    s.db()
        .query(
            "SELECT pgmq.archive(CAST(?1 AS TEXT), CAST(?2 AS BIGINT))",
            args![WORK, l.msg_id],
        )
        .map_err(e)?;
    Ok(())
}

/// Keep the leases in hand alive: every third of the lease, push their visibility out again,
/// but only while the delivery count is still ours (a lease already lost is not taken back).
fn heartbeat(o: &WorkerOptions, held: &Held, done: &AtomicBool) {
    let every = Duration::from_secs_f64((o.lease_s as f64 / 3.0).max(0.5));
    let mut store: Option<Store> = None;
    let mut last = Instant::now();
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let leases: Vec<(i64, i64)> = held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(a, b)| (*a, *b))
            .collect();
        if leases.is_empty() {
            continue;
        }
        if store.is_none() {
            store = Store::open(&o.db).ok();
        }
        let Some(s) = &store else { continue };
        for (msg, ct) in leases {
            let r = s.db().execute(
                &format!(
                    "UPDATE pgmq.q_{WORK} SET vt = clock_timestamp() + make_interval(secs => ?3)
                     WHERE msg_id = ?1 AND read_ct = ?2"
                ),
                args![msg, ct, o.lease_s as f64],
            );
            if let Err(e) = r {
                log::warn!("worker {}: heartbeat: {e}", o.name);
                store = None;
                break;
            }
        }
    }
}
