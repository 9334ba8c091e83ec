//! `zhijian enqueue`, `zhijian worker` and `zhijian status`.

use super::worker::{self, WorkerOptions};
use crate::store::Store;
use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// Recordings or folders (searched recursively), at paths every worker sees the same way
    /// (the site's shared folder, mounted at the same place on each machine).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The shared database: postgres://user@host:port/db.
    #[arg(long, value_name = "URL")]
    pub db: PathBuf,
    /// Call metadata CSV (as for `inspect`); each job carries its call's row.
    #[arg(long, value_name = "CSV")]
    pub meta: Option<PathBuf>,
    /// Send calls that are already done or dead-lettered once more (after a model change;
    /// a scorecard change needs only `rescore`).
    #[arg(long)]
    pub again: bool,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The shared database: postgres://user@host:port/db.
    #[arg(long, value_name = "URL")]
    pub db: PathBuf,
    /// Calls in parallel (default: cores / --asr-threads).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// This worker's name in `status` (default: host name and process id).
    #[arg(long)]
    pub name: Option<String>,
    /// Lease length in seconds; a dead worker's job comes back after it. The heartbeat renews
    /// it every third, so it need not cover a whole call.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub lease: i64,
    /// Attempts before a failing call goes to the dead-letter queue.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_attempts: i64,
    /// Seconds before a failed call is tried again (times the attempt number).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub retry_delay: i64,
    /// Exit when the queue is empty (batch runs, tests) instead of waiting for more.
    #[arg(long)]
    pub until_empty: bool,
    #[command(flatten)]
    pub engine: crate::cli::EngineArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The shared database: postgres://user@host:port/db.
    #[arg(long, value_name = "URL")]
    pub db: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn require_pg(db: &std::path::Path) -> Result<()> {
    anyhow::ensure!(
        crate::store::is_url(db),
        "--db must be a PostgreSQL URL (postgres://user@host:port/db): the queue lives there"
    );
    Ok(())
}

pub fn enqueue_cmd(a: &EnqueueArgs, out: &mut dyn Write) -> Result<ExitCode> {
    require_pg(&a.db)?;
    let meta = match &a.meta {
        Some(p) => Some(
            crate::meta::MetaTable::load(p)
                .with_context(|| format!("loading metadata {}", p.display()))?,
        ),
        None => None,
    };
    let files = crate::batch::collect_inputs(&a.inputs)?;
    let mut store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    let r = super::enqueue(&mut store, &files, meta.as_ref(), a.again)?;
    writeln!(
        out,
        "enqueued {} calls ({} already queued or done{})",
        r.sent,
        r.skipped,
        if r.unreadable > 0 {
            format!(
                "; {} unreadable now, their workers will say why",
                r.unreadable
            )
        } else {
            String::new()
        }
    )?;
    for (file, why) in &r.refused {
        eprintln!("zhijian: {}: not queued: {why}", file.display());
    }
    Ok(if r.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub fn worker_cmd(a: &WorkerArgs, out: &mut dyn Write) -> Result<ExitCode> {
    require_pg(&a.db)?;
    anyhow::ensure!(a.lease >= 2, "--lease must be at least 2 seconds");
    anyhow::ensure!(a.max_attempts >= 1, "--max-attempts must be at least 1");
    crate::pii::policy::set_active(a.engine.privacy.policy(&a.engine.rules)?);
    let engine = crate::build_engine(&a.engine, None)?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    let o = WorkerOptions {
        db: a.db.clone(),
        name: a
            .name
            .clone()
            .unwrap_or_else(|| format!("{host}:{}", std::process::id())),
        jobs: a.jobs.unwrap_or_else(|| crate::default_jobs(&a.engine)),
        lease_s: a.lease,
        max_attempts: a.max_attempts,
        retry_delay_s: a.retry_delay.max(0),
        until_empty: a.until_empty,
        poll: std::time::Duration::from_millis(500),
    };
    let s = worker::run(&engine, &o)?;
    let outcomes = s.done + s.retried + s.dead + s.superseded;
    writeln!(
        out,
        "worker {}: {} done, {} retried, {} dead-lettered, {} taken over by another worker; \
         queue overhead {:.1} ms per call",
        o.name,
        s.done,
        s.retried,
        s.dead,
        s.superseded,
        if outcomes > 0 {
            s.queue_s * 1000.0 / outcomes as f64
        } else {
            0.0
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn status_cmd(a: &StatusArgs, out: &mut dyn Write) -> Result<ExitCode> {
    require_pg(&a.db)?;
    let store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    let st = super::status(&store)?;
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&st)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "queued {}  running {}  retrying {}  done {}  dead-lettered {}",
        st.queued, st.running, st.retrying, st.done, st.dead
    )?;
    if !st.workers.is_empty() {
        writeln!(
            out,
            "\n{:<28} {:>6} {:>10} {:>9} {:>8}",
            "worker", "calls", "audio min", "calls/h", "× real"
        )?;
        for w in &st.workers {
            writeln!(
                out,
                "{:<28} {:>6} {:>10.1} {:>9.0} {:>8.2}",
                w.worker,
                w.calls,
                w.audio_s / 60.0,
                w.calls_per_hour(),
                w.realtime()
            )?;
        }
    }
    for (id, file, why) in &st.dead_calls {
        writeln!(out, "dead: {id} ({file}): {why}")?;
    }
    Ok(ExitCode::SUCCESS)
}
