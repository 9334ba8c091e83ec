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
pub mod record;
pub mod report;
pub mod rules;
pub mod store;
pub mod text;

use anyhow::{Context, Result};
use std::process::ExitCode;

/// Run a parsed command line. `Ok(2)` means the command ran but some input failed.
pub fn run(cli: cli::Cli) -> Result<ExitCode> {
    match cli.command {
        cli::Command::Inspect(a) => inspect(a),
        cli::Command::Score { call, rules, json } => {
            rules::cli::score_cmd(&call, &rules, json, &mut std::io::stdout().lock())
        }
        cli::Command::Rules(cli::RulesCommand::Check { files }) => {
            rules::cli::check_cmd(&files, &mut std::io::stdout().lock())
        }
        cli::Command::Rules(cli::RulesCommand::Explain { kind }) => {
            rules::cli::explain_cmd(kind.as_deref(), &mut std::io::stdout().lock())
        }
        cli::Command::Import(a) => report::cli::import_cmd(&a, &mut std::io::stderr().lock()),
        cli::Command::Report(a) => report::agent::report_cmd(&a, &mut std::io::stderr().lock()),
        cli::Command::Review(a) => store::cli::review_cmd(&a, &mut std::io::stdout().lock()),
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
    let cards = rules::ScorecardSet::load_dir(&a.rules)
        .with_context(|| format!("loading scorecards from {}", a.rules.display()))?;
    let fingerprint = pipeline::tree_hash(&a.rules)
        .with_context(|| format!("reading scorecards {}", a.rules.display()))?;
    let engine = pipeline::Engine::new(settings, meta).with_scorecards(cards, &fingerprint);
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
