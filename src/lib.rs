//! zhijian (智检): offline speech analytics for call-center quality inspection.
//!
//! One owned [`record::CallRecord`] flows through the stages: audio decoding ([`audio`]),
//! acoustic analysis ([`acoustic`]), and later transcription, classification and scoring.
//! [`pipeline`] runs one call, [`batch`] runs many, [`cli`] is the command line.

pub mod acoustic;
pub mod audio;
pub mod batch;
pub mod cli;
pub mod meta;
pub mod pipeline;
pub mod classify;
pub mod record;

use anyhow::{Context, Result};
use std::process::ExitCode;

/// Run a parsed command line. `Ok(2)` means the command ran but some input failed.
pub fn run(cli: cli::Cli) -> Result<ExitCode> {
    match cli.command {
        cli::Command::Inspect(a) => inspect(a),
    }
}

fn inspect(a: cli::InspectArgs) -> Result<ExitCode> {
    let meta = match &a.meta {
        Some(p) => Some(
            meta::MetaTable::load(p)
                .with_context(|| format!("loading metadata {}", p.display()))?,
        ),
        None => None,
    };
    let settings = pipeline::Settings {
        agent_channel: a.agent_channel,
        findings: acoustic::FindingsConfig {
            silence_min_s: a.silence_min,
            overlap_min_s: a.overlap_min,
            ..Default::default()
        },
        max_duration_s: a.max_duration,
        ..Default::default()
    };
    let engine = pipeline::Engine::new(settings, meta);
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = batch::BatchOptions {
        inputs: a.inputs,
        out: a.out.clone(),
        jobs,
        force: a.force,
        progress: !a.no_progress,
    };
    let s = batch::run_batch(&engine, &opts)?;
    eprintln!(
        "zhijian: {} calls ({} inspected, {} reused, {} failed), {:.1} min of audio in {:.1} s; results in {}",
        s.calls_total,
        s.calls_total - s.calls_skipped,
        s.calls_skipped,
        s.calls_failed,
        s.audio_seconds / 60.0,
        s.wall_seconds,
        a.out.join("summary.json").display()
    );
    Ok(if s.calls_failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
