//! zhijian (智检): offline speech analytics for call-center quality inspection.
//!
//! One owned [`record::CallRecord`] flows through the stages: audio decoding ([`audio`]),
//! acoustic analysis ([`acoustic`]), and later transcription, classification and scoring.
//! [`pipeline`] runs one call, [`batch`] runs many, [`cli`] is the command line.

pub mod acoustic;
pub mod asr;
pub mod atomic;
pub mod audio;
pub mod batch;
pub mod benchmark;
pub mod classify;
pub mod cli;
pub mod doctor;
pub mod figures;
pub mod identity;
pub mod meta;
pub mod pii;
pub mod pipeline;
pub mod queue;
pub mod record;
pub mod report;
pub mod rescore;
pub mod rules;
pub mod serve;
pub mod store;
pub mod text;
pub mod time;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
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
        cli::Command::Models(cli::ModelsCommand::Convert { ct2, out, quant }) => {
            let r = asr::convert::convert_ct2(&ct2, &out, quant)?;
            eprintln!("zhijian: wrote {} ({r:?})", out.display());
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Eval(cli::EvalCommand::Classifier { data, models }) => {
            let r = classify::eval::evaluate(&classify::eval::EvalOptions {
                data_dir: data,
                models_dir: models,
            })?;
            println!("{r}");
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Train {
            data,
            models,
            seed,
            if_stale,
        } => {
            let opts = classify::train::TrainOptions {
                data_dir: data,
                models_dir: models,
                seed,
                ..Default::default()
            };
            if if_stale {
                match classify::train::stale_heads(&opts) {
                    None => {
                        eprintln!("classifier heads are current; not retrained");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Some(why) => eprintln!("retraining the classifier heads: {why}"),
                }
            }
            let r = classify::train::train(&opts)?;
            println!("{r}");
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Eval(cli::EvalCommand::Calls(a)) => eval_calls(a),
        cli::Command::Eval(cli::EvalCommand::Asr {
            dir,
            model,
            threads,
            decode,
        }) => {
            let mut opts = asr::AsrOptions {
                decode,
                ..Default::default()
            };
            if let Some(t) = threads {
                opts.threads = t;
            }
            let a = asr::Asr::load(&model, opts)?;
            let report = asr::eval::eval_asr_dir(&a, &dir)?;
            println!("{report}");
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        cli::Command::Eval(cli::EvalCommand::Pii { data }) => {
            let r = pii::eval::evaluate(&data)?;
            println!("{r}");
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Export(a) => {
            pii::policy::set_active(a.privacy.policy(std::path::Path::new("rules"))?);
            let r = pii::audio::export_cmd(&a.export)?;
            eprintln!(
                "zhijian: wrote {} ({:.1} s, {} span(s) redacted)",
                a.export.out.display(),
                r.seconds,
                r.spans.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Import(a) => {
            pii::policy::set_active(a.privacy.policy(std::path::Path::new("rules"))?);
            report::cli::import_cmd(&a, &mut std::io::stderr().lock())
        }
        cli::Command::Report(a) => report::agent::report_cmd(&a, &mut std::io::stderr().lock()),
        cli::Command::Review(a) => store::cli::review_cmd(&a, &mut std::io::stdout().lock()),
        cli::Command::Rescore(a) => {
            rescore::rescore_cmd(&a, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Doctor(a) => doctor::doctor_cmd(&a, &mut std::io::stdout().lock()),
        cli::Command::Ledger(a) => report::monthly::ledger_cmd(&a, &mut std::io::stdout().lock()),
        cli::Command::Serve(a) => serve::serve_cmd(&a),
        cli::Command::AsrChild { model, options } => {
            asr::supervised::child_main(&model, &options)?;
            Ok(ExitCode::SUCCESS)
        }
        cli::Command::Users(a) => serve::cli::users_cmd(&a, &mut std::io::stdout().lock()),
        cli::Command::Enqueue(a) => queue::cli::enqueue_cmd(&a, &mut std::io::stdout().lock()),
        cli::Command::Worker(a) => queue::cli::worker_cmd(&a, &mut std::io::stdout().lock()),
        cli::Command::Status(a) => queue::cli::status_cmd(&a, &mut std::io::stdout().lock()),
    }
}

/// `eval calls`: inspect the labelled folder (resuming), then score and compare.
fn eval_calls(a: cli::EvalCallsArgs) -> Result<ExitCode> {
    let name = a.dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("out").join(format!("eval-{}", name.as_deref().unwrap_or("calls")))
    });
    // Only the split asked for is inspected: the other half would cost as much again.
    let labels: Vec<_> = benchmark::load_labels(&a.dir)?
        .into_iter()
        .filter(|(_, l)| l.in_split(&a.split))
        .collect();
    anyhow::ensure!(
        !labels.is_empty(),
        "{}: no *.labels.json of split {}",
        a.dir.display(),
        a.split
    );
    if !a.reuse {
        let mut argv: Vec<std::ffi::OsString> = vec!["zhijian".into(), "inspect".into()];
        argv.extend(labels.iter().map(|(p, _)| p.clone().into_os_string()));
        for (k, v) in [
            ("--out", &out),
            ("--rules", &a.rules),
            ("--model", &a.model),
            ("--models", &a.models),
        ] {
            argv.push(k.into());
            argv.push(v.clone().into_os_string());
        }
        argv.extend(["--no-progress".into(), "--no-report".into()]);
        let decode = clap::ValueEnum::to_possible_value(&a.asr_decode).expect("named mode");
        argv.extend(["--asr-decode".into(), decode.get_name().into()]);
        if let Some(j) = a.jobs {
            argv.extend(["--jobs".into(), j.to_string().into()]);
        }
        let cli::Command::Inspect(ia) = <cli::Cli as clap::Parser>::try_parse_from(argv)?.command
        else {
            unreachable!("built as an inspect command")
        };
        inspect(ia)?;
    }
    let cards = rules::ScorecardSet::load(&a.rules)
        .with_context(|| format!("loading scorecards from {}", a.rules.display()))?;
    let mut results = benchmark::load_results(&out.join("calls"))?;
    let calls: Vec<_> = labels
        .into_iter()
        .map(|(p, l)| (l, results.remove(&p)))
        .collect();
    let r = benchmark::evaluate(&calls, &cards, &report::ReportOptions::default(), &a.split);
    println!("{r}");
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_vec_pretty(&r)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(t) = &a.thresholds {
        let fails = benchmark::Thresholds::load(t)?.failures(&r);
        for f in &fails {
            eprintln!("zhijian: below threshold: {f}");
        }
        if !fails.is_empty() {
            return Ok(ExitCode::from(3));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Calls in parallel by default: one per core without ASR, else cores / ASR threads.
pub fn default_jobs(a: &cli::EngineArgs) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if a.no_asr {
        cores
    } else {
        (cores / asr_threads(a)).max(1)
    }
}

/// One whisper.cpp thread per call unless asked: on 2 cores, two calls of one thread each
/// ran as fast as one call of two on an idle machine and 2.4× faster while another process
/// kept a core busy (benches/asr.sh; README "Transcription").
fn asr_threads(a: &cli::EngineArgs) -> usize {
    a.asr_threads.unwrap_or(1).max(1)
}

/// The pipeline `inspect` and `worker` run: settings, scorecards, speech model, classifier.
/// A file of the lexicons folder beside the scorecards (`--rules` a folder or one card).
fn rules_lexicon(rules: &Path, name: &str) -> PathBuf {
    if rules.is_dir() {
        rules.join("lexicons").join(name)
    } else {
        rules.with_file_name("lexicons").join(name)
    }
}

/// Whisper's vocabulary: `--asr-vocabulary`, else the rules' `lexicons/vocabulary.txt` if
/// present; one term per line (first field), `#` comments.
fn asr_vocabulary(a: &cli::EngineArgs) -> Result<Vec<String>> {
    if a.no_asr_vocabulary {
        return Ok(Vec::new());
    }
    let path = match &a.asr_vocabulary {
        Some(p) => p.clone(),
        None => {
            let p = rules_lexicon(&a.rules, rules::lexicon::ASR_VOCABULARY);
            if !p.is_file() {
                return Ok(Vec::new());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the ASR vocabulary {}", path.display()))?;
    Ok(asr::text::parse_vocabulary(&text))
}

pub fn build_engine(
    a: &cli::EngineArgs,
    meta: Option<meta::MetaTable>,
) -> Result<pipeline::Engine> {
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
    let userdict = rules_lexicon(&a.rules, "userdict.txt");
    if userdict.is_file() {
        text::init_user_dict(&userdict)
            .with_context(|| format!("loading user dictionary {}", userdict.display()))?;
    }
    pii::policy::set_active(a.privacy.policy(&a.rules)?);
    let cards = rules::ScorecardSet::load(&a.rules)
        .with_context(|| format!("loading scorecards from {}", a.rules.display()))?;
    let fingerprint = pipeline::rules_fingerprint(&a.rules)
        .with_context(|| format!("reading scorecards {}", a.rules.display()))?;
    let mut engine = pipeline::Engine::new(settings, meta).with_scorecards(cards, &fingerprint);
    let asr_threads = asr_threads(a);
    if !a.no_asr {
        let opts = asr::AsrOptions {
            threads: asr_threads,
            vocabulary: asr_vocabulary(a)?,
            fit_audio_ctx: !a.asr_full_window,
            bridge_s: a.asr_bridge,
            decode: a.asr_decode,
            use_gpu: a.gpu,
            ..Default::default()
        };
        let load_failed = || {
            format!(
                "loading the speech model {} (run scripts/setup.sh to make it, pass --model, or --no-asr)",
                a.model.display()
            )
        };
        if !a.model.is_file() {
            return Err(anyhow::Error::new(asr::AsrError::ModelMissing(
                a.model.clone(),
            )))
            .with_context(load_failed);
        }
        let (model_hash, _) = pipeline::file_sha256(&a.model).with_context(load_failed)?;
        engine = if a.asr_in_process {
            let model = asr::Asr::load(&a.model, opts).with_context(load_failed)?;
            engine.with_asr(model, &model_hash)
        } else {
            let spec = asr::supervised::ChildSpec {
                exe: std::env::current_exe().context("locating the zhijian binary")?,
                model: a.model.clone(),
                opts,
            };
            engine
                .with_supervised_asr(spec, &model_hash)
                .with_context(load_failed)?
        };
        if !a.no_classifier {
            let dir = classify::model_dir(&a.models);
            let c = classify::Classifier::load(&a.models).with_context(|| {
                format!(
                    "loading the classifier from {} (run scripts/setup.sh or `zhijian train`, or pass --no-classifier)",
                    dir.display()
                )
            })?;
            let hash = pipeline::classifier_fingerprint(&dir)
                .with_context(|| format!("reading {}", dir.display()))?;
            engine = engine.with_classifier(c, &hash);
        }
    }
    Ok(engine)
}

fn inspect(a: cli::InspectArgs) -> Result<ExitCode> {
    let meta = match &a.meta {
        Some(p) => Some(
            meta::MetaTable::load(p)
                .with_context(|| format!("loading metadata {}", p.display()))?,
        ),
        None => None,
    };
    for p in meta.iter().flat_map(|m| m.problems()) {
        eprintln!("zhijian: warning: {p}");
    }
    let engine = build_engine(&a.engine, meta)?;
    let jobs = a.jobs.unwrap_or_else(|| default_jobs(&a.engine));
    let opts = batch::BatchOptions {
        inputs: a.inputs,
        out: a.out.clone(),
        jobs,
        force: a.force,
        progress: !a.no_progress,
    };
    let report_opts = a.queue.options()?;
    let mut unreadable = 0;
    let s = if a.no_report {
        batch::run_batch(&engine, &opts)?
    } else {
        // Each call goes to the database and its page as soon as it is done; the batch pages
        // (covering the whole output folder) are written at the end.
        let mut stderr = std::io::stderr();
        let mut sink =
            report::cli::InspectSink::open(&a.out, a.db.as_deref(), &report_opts, &mut stderr)?;
        let s = batch::run_batch_into(&engine, &opts, Some(&mut sink))?;
        unreadable = sink.unreadable;
        s
    };
    eprintln!(
        "zhijian: {} calls ({} inspected, {} reused, {} failed, {} without speech), {:.1} min of audio ({:.1} s of speech untranscribed) in {:.1} s; open {} (results: {})",
        s.calls_total,
        s.calls_total - s.calls_skipped,
        s.calls_skipped,
        s.calls_failed,
        s.calls_no_speech,
        s.audio_seconds / 60.0,
        s.untranscribed_seconds,
        s.wall_seconds,
        a.out.join("index.html").display(),
        a.out.join("summary.json").display()
    );
    Ok(if s.calls_failed + unreadable > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn engine_args(extra: &[&str]) -> cli::EngineArgs {
        let mut argv = vec!["zhijian", "inspect", "x.wav", "--out", "o"];
        argv.extend_from_slice(extra);
        match cli::Cli::try_parse_from(argv).unwrap().command {
            cli::Command::Inspect(a) => a.engine,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_asr_vocabulary_is_read_from_the_rules_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(rules.join("lexicons")).unwrap();
        let r = rules.to_str().unwrap();
        // No vocabulary.txt beside the cards: the style sentence alone.
        assert!(asr_vocabulary(&engine_args(&["--rules", r]))
            .unwrap()
            .is_empty());
        std::fs::write(
            rules.join("lexicons/vocabulary.txt"),
            "# 本单位\n智检银行\n\n工号 100 n\n",
        )
        .unwrap();
        assert_eq!(
            asr_vocabulary(&engine_args(&["--rules", r])).unwrap(),
            ["智检银行", "工号"]
        );
        let none = engine_args(&["--rules", r, "--no-asr-vocabulary"]);
        assert!(asr_vocabulary(&none).unwrap().is_empty());
        // A file named on the command line must exist, and the error names it.
        let missing = dir.path().join("nope.txt");
        let e = asr_vocabulary(&engine_args(&[
            "--asr-vocabulary",
            missing.to_str().unwrap(),
        ]))
        .unwrap_err();
        assert!(format!("{e:#}").contains("nope.txt"), "{e:#}");
    }
}
