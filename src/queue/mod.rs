//! Many workers over one PostgreSQL: the database is the shared store and the work queue.
//!
//! The queue is [pgmq](https://github.com/pgmq/pgmq) (its SQL, vendored from the `pgmq` crate
//! 0.33.7 as `pgmq.sql`, installs into a plain database: no server extension). A job is one
//! call; `work_calls` keeps each call's state for `status` and makes enqueueing idempotent.
//!
//! Failure semantics: a worker leases a job with a visibility timeout and extends it while it
//! works (heartbeat). If the worker dies, the job reappears when the lease runs out and another
//! worker takes it. The result and the job's archiving commit in one transaction, and only
//! while the lease is still the worker's own (its delivery count unchanged), so a worker that
//! was paused past its lease cannot overwrite or duplicate the result of the one that took
//! over. A job that fails `max_attempts` times goes to the dead-letter queue with its error.

pub mod cli;
pub mod worker;

use crate::identity;
use crate::record::CallMeta;
use crate::store::db::{args, DbResult};
use crate::store::{Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The work queue and the dead-letter queue (pgmq queue names).
pub const WORK: &str = "zhijian_calls";
pub const DEAD: &str = "zhijian_dead";

const PGMQ_SQL: &str = include_str!("pgmq.sql");

/// What a job carries: everything a worker needs besides the shared recording folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// The id the result is stored under (the same one `inspect` would give it).
    pub call_id: String,
    /// The recording, as every worker sees it (the site's shared folder).
    pub file: PathBuf,
    /// The recording's SHA-256 when enqueued ("" if it could not be read then).
    pub sha256: String,
    /// The call's metadata row (`--meta`), if it had one.
    pub meta: Option<CallMeta>,
}

/// Install pgmq and the queue's own table if this database has not got them; create both
/// queues. Safe to run from many workers at once (an advisory lock serialises it).
pub fn install(store: &Store) -> Result<()> {
    let db = store.db();
    if !db.is_pg() {
        return Err(StoreError::Invalid(
            "the work queue needs a PostgreSQL database (--db postgres://…)".into(),
        ));
    }
    let ready = || -> DbResult<bool> {
        Ok(db
            .value::<Option<String>>("SELECT CAST(to_regclass('work_calls') AS TEXT)", args![])?
            .is_some())
    };
    if ready().map_err(|e| store.err(e))? {
        return Ok(());
    }
    db.transaction(false, |db| {
        // 7_215_302: the queue-install lock.
        db.batch("SELECT pg_advisory_xact_lock(7215302)")?;
        if ready()? {
            return Ok(());
        }
        let has_pgmq: Option<String> =
            db.value("SELECT CAST(to_regclass('pgmq.meta') AS TEXT)", args![])?;
        if has_pgmq.is_none() {
            db.batch(PGMQ_SQL)?;
        }
        for q in [WORK, DEAD] {
            db.query("SELECT pgmq.create(?1)", args![q])?;
        }
        db.batch(WORK_SQL)
    })
    .map_err(|e| store.err(e))
}

const WORK_SQL: &str = r#"
CREATE TABLE work_calls (
    -- identity::key_hex: the recording's content (and switch id), so the same recording
    -- enqueued twice, under any name, is one call.
    call_key    TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    file        TEXT NOT NULL,
    -- queued | running | retry | done | dead
    state       TEXT NOT NULL,
    msg_id      BIGINT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    worker      TEXT,
    error       TEXT,
    enqueued_at DOUBLE PRECISION NOT NULL,
    started_at  DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    audio_s     DOUBLE PRECISION,
    wall_s      DOUBLE PRECISION
);
CREATE INDEX work_calls_by_state ON work_calls(state);
"#;

/// Seconds since 1970 on the database's clock (every worker agrees on one clock), in SQL.
macro_rules! now_sql {
    () => {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"
    };
}
pub(crate) use now_sql;

/// What `enqueue` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub sent: usize,
    /// Already queued, running or done (or dead, without `again`).
    pub skipped: usize,
    /// Could not be read now (sent anyway: the worker records the reason).
    pub unreadable: usize,
    /// Not queued, and why (a path that is not UTF-8 cannot travel in a job).
    pub refused: Vec<(PathBuf, String)>,
}

/// One recording to enqueue: its key, id and job.
fn plan(file: &Path, meta: Option<&CallMeta>) -> (String, Job, bool) {
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let switch = meta.and_then(|m| m.call_id.as_deref());
    match crate::pipeline::file_sha256(&abs) {
        Ok((sha, _)) => {
            let key = identity::key_hex(&sha, switch);
            let id = identity::call_id(&identity::label(&abs, switch), &sha, switch);
            let job = Job {
                call_id: id,
                file: abs,
                sha256: sha,
                meta: meta.cloned(),
            };
            (key, job, true)
        }
        Err(_) => {
            let id = identity::unreadable_call_id(&abs);
            let key = format!("unreadable:{}", abs.display());
            let job = Job {
                call_id: id,
                file: abs,
                sha256: String::new(),
                meta: meta.cloned(),
            };
            (key, job, false)
        }
    }
}

/// Register recordings and send one job per call that still needs work. `again`: send calls
/// that are done or dead once more (after a scorecard or model change).
pub fn enqueue(
    store: &mut Store,
    files: &[PathBuf],
    meta: Option<&crate::meta::MetaTable>,
    again: bool,
) -> Result<Enqueued> {
    use rayon::prelude::*;
    install(store)?;
    let planned: Vec<(String, Job, bool)> = files
        .par_iter()
        .map(|f| plan(f, meta.and_then(|m| m.lookup(f))))
        .collect();
    let mut out = Enqueued::default();
    for (key, mut job, readable) in planned {
        if job.file.to_str().is_none() {
            let why = "its path is not valid UTF-8, so workers could not be told it; rename it";
            out.refused.push((job.file, why.into()));
            continue;
        }
        // A call stored under another label (its file renamed) keeps its first id.
        if let Some(id) = store
            .db()
            .row(
                "SELECT call_id FROM calls WHERE call_key = ?1",
                args![key],
                |r| r.get::<String>(0),
            )
            .map_err(|e| store.err(e))?
        {
            job.call_id = id;
        }
        let sent = store.in_transaction(|s| send_one(s, &key, &job, again))?;
        if sent {
            out.sent += 1;
            out.unreadable += usize::from(!readable);
        } else {
            out.skipped += 1;
        }
    }
    Ok(out)
}

fn send_one(s: &mut Store, key: &str, job: &Job, again: bool) -> Result<bool> {
    let db = s.db();
    let e = |x| s.err(x);
    let state: Option<String> = db
        .row(
            "SELECT state FROM work_calls WHERE call_key = ?1 FOR UPDATE",
            args![key],
            |r| r.get(0),
        )
        .map_err(e)?;
    match state.as_deref() {
        None => {}
        Some("done" | "dead") if again => {}
        Some(_) => return Ok(false),
    }
    let msg = serde_json::to_string(job).map_err(|x| {
        StoreError::Invalid(format!("{}: cannot be queued: {x}", job.file.display()))
    })?;
    let msg_id: i64 = db
        .value(
            "SELECT pgmq.send(CAST(?1 AS TEXT), CAST(?2 AS JSONB))",
            args![WORK, msg],
        )
        .map_err(e)?;
    db.execute(
        concat!(
            "INSERT INTO work_calls (call_key, call_id, file, state, msg_id, enqueued_at)
         VALUES (?1, ?2, ?3, 'queued', ?4, ",
            now_sql!(),
            ")
         ON CONFLICT (call_key) DO UPDATE SET call_id = excluded.call_id, file = excluded.file,
            state = 'queued', msg_id = excluded.msg_id, attempts = 0, worker = NULL,
            error = NULL, enqueued_at = excluded.enqueued_at, started_at = NULL,
            finished_at = NULL, audio_s = NULL, wall_s = NULL"
        ),
        args![key, job.call_id, job.file.to_string_lossy(), msg_id],
    )
    .map_err(e)?;
    Ok(true)
}

/// The queue at a glance (`zhijian status`).
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Status {
    /// Waiting for a worker.
    pub queued: i64,
    /// Leased by a worker now.
    pub running: i64,
    /// Failed at least once, waiting to be tried again.
    pub retrying: i64,
    pub done: i64,
    /// In the dead-letter queue (failed every attempt).
    pub dead: i64,
    pub workers: Vec<WorkerStat>,
    /// The dead-lettered calls and why.
    pub dead_calls: Vec<(String, String, String)>,
}

/// What one worker finished.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct WorkerStat {
    pub worker: String,
    pub calls: i64,
    pub audio_s: f64,
    pub busy_s: f64,
    /// From its first start to its last finish.
    pub span_s: f64,
}

impl WorkerStat {
    pub fn calls_per_hour(&self) -> f64 {
        if self.span_s > 0.0 {
            self.calls as f64 * 3600.0 / self.span_s
        } else {
            0.0
        }
    }

    /// Audio seconds per wall second over its span (real-time factor).
    pub fn realtime(&self) -> f64 {
        if self.span_s > 0.0 {
            self.audio_s / self.span_s
        } else {
            0.0
        }
    }
}

pub fn status(store: &Store) -> Result<Status> {
    install(store)?;
    let db = store.db();
    let e = |x| store.err(x);
    let mut st = Status::default();
    let counts = db
        .rows(
            "SELECT state, COUNT(*) FROM work_calls GROUP BY state",
            args![],
            |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
        )
        .map_err(e)?;
    for (state, n) in counts {
        match state.as_str() {
            "done" => st.done = n,
            "dead" => st.dead = n,
            "retry" => st.retrying = n,
            _ => {}
        }
    }
    let (visible, leased): (i64, i64) = db
        .one(
            &format!(
                "SELECT COUNT(*) FILTER (WHERE vt <= clock_timestamp()),
                        COUNT(*) FILTER (WHERE vt > clock_timestamp())
                 FROM pgmq.q_{WORK}"
            ),
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(e)?;
    st.queued = visible;
    st.running = (leased - st.retrying).max(0);
    st.workers = db
        .rows(
            "SELECT worker, COUNT(*), COALESCE(SUM(audio_s), 0), COALESCE(SUM(wall_s), 0),
                    COALESCE(MAX(finished_at) - MIN(started_at), 0)
             FROM work_calls WHERE state IN ('done', 'dead') AND worker IS NOT NULL
             GROUP BY worker ORDER BY worker",
            args![],
            |r| {
                Ok(WorkerStat {
                    worker: r.get(0)?,
                    calls: r.get(1)?,
                    audio_s: r.get(2)?,
                    busy_s: r.get(3)?,
                    span_s: r.get(4)?,
                })
            },
        )
        .map_err(e)?;
    st.dead_calls = db
        .rows(
            "SELECT call_id, file, COALESCE(error, '') FROM work_calls WHERE state = 'dead'
             ORDER BY call_id",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(e)?;
    Ok(st)
}

/// The dead-letter queue's messages: (job, error), oldest first.
pub fn dead_letters(store: &Store) -> Result<Vec<(Job, String)>> {
    install(store)?;
    let rows = store
        .db()
        .rows(
            &format!("SELECT CAST(message AS TEXT) FROM pgmq.q_{DEAD} ORDER BY msg_id"),
            args![],
            |r| r.get::<String>(0),
        )
        .map_err(|e| store.err(e))?;
    Ok(rows
        .iter()
        .filter_map(|m| {
            let v: serde_json::Value = serde_json::from_str(m).ok()?;
            let job = serde_json::from_value(v.get("job")?.clone()).ok()?;
            let err = v.get("error")?.as_str()?.to_string();
            Some((job, err))
        })
        .collect())
}
