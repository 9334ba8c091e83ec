//! Command-line interface (clap derive). Doc comments are the `--help` text, written for QA
//! engineers. Each subcommand maps to one library function; `main.rs` only prints errors.

use crate::pipeline::AgentChannel;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// zhijian (智检): offline speech analytics for call-center quality inspection.
///
/// Inspects every recorded call on your own server: finds silences (冷场), overlaps and
/// interruptions (抢话), response latency and who hung up, and writes one result per call plus a
/// batch summary. Nothing leaves the machine.
#[derive(Debug, Parser)]
#[command(name = "zhijian", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect recordings (files or folders, searched recursively) and write results to --out.
    ///
    /// Results: <OUT>/calls/<call_id>.json per call and <OUT>/summary.json for the batch.
    /// Rerunning with the same --out skips calls already inspected with the same file content and
    /// settings, so an interrupted batch resumes where it stopped. Exit code: 0 if every call
    /// was inspected, 2 if any file failed (each failure is named on stderr and in the summary).
    Inspect(InspectArgs),

    /// Score one call record (a result of `inspect`, or hand-written JSON) with a scorecard.
    ///
    /// With a folder of scorecards, the card is chosen from the call's metadata (queue,
    /// direction), as `inspect` does.
    Score {
        /// The call record (JSON).
        call: PathBuf,
        /// A scorecard TOML file, or a folder of them (with lexicons/).
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Print the result as JSON instead of a readable report.
        #[arg(long)]
        json: bool,
    },

    /// Check or explain scorecards.
    #[command(subcommand)]
    Rules(RulesCommand),

    /// Prepare model files (the set-up script runs this; nothing is downloaded here).
    #[command(subcommand)]
    Models(ModelsCommand),

    /// Measure accuracy against references.
    #[command(subcommand)]
    Eval(EvalCommand),

    /// Train the classifier heads (agent attitude, customer emotion, intent, speaker role) on the frozen
    /// text encoder, deterministically, and write them to MODELS/classifier/.
    Train {
        /// Training data folder (train.tsv, lexicon.toml).
        #[arg(long, default_value = "data/classify")]
        data: PathBuf,
        /// Models folder (the encoder is fetched there by the set-up).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Random seed (same data + seed → same weights).
        #[arg(long, default_value_t = 17)]
        seed: u64,
        /// Train only when the heads are missing, lack a head or label of this build, or were
        /// trained on other data or another seed (the set-up uses this after an upgrade).
        #[arg(long)]
        if_stale: bool,
    },

    /// Load inspected calls into the database and (re)write the HTML and CSV reports.
    ///
    /// Reads OUT/calls/*.json, stores the calls in OUT/zhijian.db (or --db), writes
    /// OUT/calls/<call_id>.html per call and OUT/index.html (review queue and batch summary),
    /// calls.csv, review_queue.csv, review_queue.json and queues.csv. Re-importing replaces the
    /// automatic results but keeps every human verdict, manual score and appeal.
    Import(crate::report::cli::ImportArgs),

    /// Per-agent report for a period, from the database (agents.html, agents.csv, agents.json).
    ///
    /// Rank and top X%, mean score (after review) and automatic mean, low-score warnings,
    /// problems by type and severity, 致命错误准确性 / 非致命错误准确性, and the trend against the
    /// previous period of equal length. The HTML prints one agent per page.
    Report(crate::report::agent::AgentReportArgs),

    /// Review and appeal: verdicts, manual scores, appeals (申诉), final decisions (终审).
    ///
    /// Human input is kept apart from the automatic score and survives re-inspection; the final
    /// score uses it where it exists. `precision` shows how often each rule's flags hold up.
    Review(crate::store::cli::ReviewArgs),

    /// Score the database's calls again with scorecards, from their stored records (no audio,
    /// no speech model): try a new card on last month before adopting it.
    ///
    /// With --diff nothing is written: prints each call whose score or flags would change
    /// (`call_id  before -> after  +added -removed`). Without it the new automatic scores are
    /// stored; verdicts, manual scores and appeals are kept.
    Rescore(RescoreArgs),

    /// Check an installation offline: files and checksums, models load, a sample call inspects,
    /// CPU features, free disk, database schema. Says in plain words what is wrong; exit 1 if
    /// anything must be fixed.
    Doctor(crate::doctor::DoctorArgs),
    /// QA lead's monthly ledger (seed 003): praise, justified complaints and test-call results
    /// per agent and month, counted by the monthly rules (rules/monthly/*.toml) in `report`.
    Ledger(crate::report::monthly::LedgerArgs),

    /// Write a call's recording (or a clip of it) as WAV; with --redact the time spans of
    /// personal data (phone, ID and card numbers, codes …) are replaced by a tone or silence.
    Export(ExportCommand),

    /// The inspectors' web workbench over the database: review queue, call pages with the
    /// recording, verdicts, appeals, reports, audit log. Log in with a user from `users add`.
    Serve(crate::serve::ServeArgs),

    /// Workbench accounts: add, list, disable, change password (read from stdin).
    Users(crate::serve::cli::UsersArgs),

    /// Register recordings in the shared PostgreSQL database and queue one job per call that
    /// still needs work (the same recording twice is one call). Workers take them from there.
    Enqueue(crate::queue::cli::EnqueueArgs),

    /// Take calls from the shared queue and inspect them until stopped (SIGTERM: finish the
    /// calls in hand, then exit). Run one per machine; results go to the shared database.
    Worker(crate::queue::cli::WorkerArgs),

    /// The shared queue: queued, running, retrying, done and dead-lettered calls, and each
    /// worker's throughput.
    Status(crate::queue::cli::StatusArgs),

    /// (internal) A supervised speech-recogniser process, started by `inspect`.
    #[command(hide = true)]
    AsrChild {
        #[arg(long)]
        model: PathBuf,
        /// The recognition options (JSON).
        #[arg(long)]
        options: String,
    },
}

#[derive(Debug, Args)]
pub struct ExportCommand {
    #[command(flatten)]
    pub export: crate::pii::audio::ExportArgs,
    #[command(flatten)]
    pub privacy: crate::pii::policy::PrivacyArgs,
}

#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// The database (e.g. OUT/zhijian.db, or the one shared with --db).
    #[arg(long, default_value = "zhijian.db", value_name = "FILE")]
    pub db: PathBuf,
    /// Scorecards: a folder of TOML cards (selected per call by queue/direction) or one card.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// First call date (YYYY-MM-DD) to re-score; all calls when neither --from nor --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Last call date (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Only list the calls whose score or flags would change; write nothing.
    #[arg(long)]
    pub diff: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Convert a CTranslate2 Whisper model folder (faster-whisper format, any size from tiny
    /// to large-v3) into the whisper.cpp ggml file zhijian loads.
    Convert {
        /// The CTranslate2 folder (model.bin, config.json, vocabulary.json).
        #[arg(long, value_name = "DIR")]
        ct2: PathBuf,
        /// The ggml file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Weight format: f16 (as stored), q8_0 (half the size, near-identical) or q5_0.
        #[arg(long, value_enum, default_value = "f16")]
        quant: crate::asr::convert::Quant,
    },
}

#[derive(Debug, clap::Args)]
pub struct EvalCallsArgs {
    /// Folder of labelled recordings.
    pub dir: PathBuf,
    /// Scorecards to score with (file or folder).
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// Inspection output folder (results reused when current). Default: out/eval-<folder name>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Minimum figures (TOML: queue_precision, queue_recall, max_untranscribed_s,
    /// [items.ID] precision/recall/accuracy); exit code 3 when one is not reached.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// dev, test, holdout or all: only that split's calls are inspected and counted.
    #[arg(long, default_value = "all")]
    pub split: String,
    /// Only read existing results in --out; inspect nothing.
    #[arg(long)]
    pub reuse: bool,
    /// whisper.cpp ggml model for the inspection.
    #[arg(long, default_value = "models/ggml-base-q8_0.bin")]
    pub model: PathBuf,
    /// Models folder holding classifier/.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Calls inspected in parallel.
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// When Whisper uses beam search (see `inspect --asr-decode`).
    #[arg(long, value_enum, value_name = "MODE", default_value = "adaptive")]
    pub asr_decode: crate::asr::Decode,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Per-class precision/recall/F1 and confusion matrices of the classifier on the held-out
    /// split (clean and ASR-noised), side by side with the keyword baseline.
    Classifier {
        /// Training data folder (train.tsv, test.tsv, lexicon.toml).
        #[arg(long, default_value = "data/classify")]
        data: PathBuf,
        /// Models folder holding classifier/.
        #[arg(long, default_value = "models")]
        models: PathBuf,
    },
    /// Precision and recall of the personal-data detector per type on a labelled set.
    Pii {
        /// The labelled set (JSON lines; see data/pii/README.md).
        #[arg(long, default_value = "data/pii/labelled.jsonl")]
        data: PathBuf,
    },
    /// Whole-call benchmark: per scorecard item precision/recall on labelled calls
    /// (`<stem>.labels.json` beside each recording, see data/calls/), where the misses come
    /// from, and the review queue's precision/recall. Inspects the folder into --out first
    /// (reusing current results); every record is scored again with --rules. Exit code 3 when
    /// a figure is below --thresholds.
    Calls(EvalCallsArgs),
    /// Character error rate of the recogniser on a folder of audio files, each with a
    /// `<name>.txt` reference beside it; prints CER per file and overall.
    Asr {
        dir: PathBuf,
        /// whisper.cpp ggml model.
        #[arg(long, default_value = "models/ggml-base-q8_0.bin")]
        model: PathBuf,
        /// whisper.cpp threads.
        #[arg(long)]
        threads: Option<usize>,
        /// When beam search runs (see `inspect --asr-decode`).
        #[arg(long, value_enum, default_value = "adaptive")]
        decode: crate::asr::Decode,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate scorecard files or folders; prints every problem as file:line:column: message.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Describe a condition kind (or list them all), with an example.
    Explain { kind: Option<String> },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Recordings or folders of recordings (WAV incl. G.711 A-law/μ-law, MP3, FLAC, OGG, M4A).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,

    /// Output folder for per-call results and the batch summary.
    #[arg(short, long)]
    pub out: PathBuf,

    /// Calls inspected in parallel (default: cores / --asr-threads, at least 1).
    #[arg(short, long)]
    pub jobs: Option<usize>,

    /// Call metadata CSV: call_id, file, agent_id, agent_name, queue, direction, start_time,
    /// customer_number, hangup_side (optional: agent_channel). Files without a row are still
    /// inspected.
    #[arg(long, value_name = "CSV")]
    pub meta: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Database the calls are stored in (default: OUT/zhijian.db): an SQLite file, or
    /// `postgres://…` (the shared store of many workers). Share one across batches for
    /// monthly agent reports.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Do not write the database and the HTML/CSV reports (JSON results only).
    #[arg(long)]
    pub no_report: bool,

    #[command(flatten)]
    pub queue: crate::report::cli::QueueArgs,

    /// Re-inspect every call even when a current result exists.
    #[arg(long)]
    pub force: bool,

    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// How calls are inspected: the pipeline's settings, models and scorecards (shared by
/// `inspect` and `worker`).
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Stereo channel that carries the agent; the other is the customer. A metadata
    /// `agent_channel` column overrides it per file.
    #[arg(long, value_enum, default_value = "left")]
    pub agent_channel: AgentChannel,

    /// Report silences (nobody speaking) at least this long, in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub silence_min: f64,

    /// Report overlaps and interruptions where both talk at least this long, in seconds.
    #[arg(long, default_value_t = 0.5, value_name = "SECS")]
    pub overlap_min: f64,

    /// Refuse recordings longer than this, in seconds (protects memory from mislabelled files).
    #[arg(long, default_value_t = 14400.0, value_name = "SECS")]
    pub max_duration: f64,

    /// whisper.cpp ggml model for transcription (any size: base ships; small, medium or
    /// large-v3-turbo files work as they are).
    #[arg(long, default_value = "models/ggml-base-q8_0.bin", value_name = "FILE")]
    pub model: PathBuf,

    /// Run whisper.cpp on the GPU (needs a build with `--features cuda`).
    #[arg(long)]
    pub gpu: bool,

    /// Models folder holding the classifier (classifier/); calls are classified when it is
    /// there, and the run stops with a clear error when it is incomplete.
    #[arg(long, default_value = "models", value_name = "DIR")]
    pub models: PathBuf,

    /// Skip the attitude/emotion/intent classifier.
    #[arg(long)]
    pub no_classifier: bool,

    /// Skip transcription (acoustic findings and acoustic scorecard items only).
    #[arg(long)]
    pub no_asr: bool,

    /// whisper.cpp threads per call being transcribed (default 1: one call per core keeps
    /// every core busy without whisper.cpp's threads spinning at barriers when another
    /// program takes CPU; 2 helps a batch of one long call). --jobs × --asr-threads should
    /// not exceed the cores.
    #[arg(long, value_name = "N")]
    pub asr_threads: Option<usize>,

    /// When Whisper uses beam search: adaptive (greedy, beam again where greedy is unsure;
    /// the default), beam (every window: slowest, most careful) or greedy (fastest).
    #[arg(long, value_enum, value_name = "MODE", default_value = "adaptive")]
    pub asr_decode: crate::asr::Decode,

    /// Run Whisper inside this process instead of in supervised child processes (by default a
    /// crash inside whisper.cpp fails only the call it happened on).
    #[arg(long)]
    pub asr_in_process: bool,

    /// Words for Whisper's prompt, one per line (default: lexicons/vocabulary.txt of --rules,
    /// when there is one). The first 80 characters' worth are used.
    #[arg(long, value_name = "FILE")]
    pub asr_vocabulary: Option<PathBuf>,

    /// Run Whisper's encoder over a full 30 s for every window (the pre-2026-12 way: slower,
    /// for comparing) instead of over the window's own length.
    #[arg(long)]
    pub asr_full_window: bool,

    /// Decode a track's speech segments that are closer than this (seconds) as one stretch,
    /// with the audio between them: on a noisy line the VAD hears only a sentence's loud
    /// syllables, and Whisper reads the whole sentence far better than those islands. Stereo
    /// tracks only (on a mono track the gap is usually a turn boundary). 0 turns it off.
    #[arg(long, value_name = "SECS", default_value_t = crate::asr::AsrOptions::default().bridge_s)]
    pub asr_bridge: f64,

    /// Give Whisper the style sentence alone, no vocabulary.
    #[arg(long, conflicts_with = "asr_vocabulary")]
    pub no_asr_vocabulary: bool,

    /// Scorecards: a folder of TOML cards (selected per call by queue/direction) or one card.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,

    #[command(flatten)]
    pub privacy: crate::pii::policy::PrivacyArgs,
}
