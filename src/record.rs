//! The per-call record: one owned value that flows through every stage and is written as the
//! call's JSON result. Its shape is the public schema (see README "Result schema"); bump
//! [`SCHEMA_VERSION`] on any incompatible change so that resumed batches re-run stale results.

pub mod personal;
pub mod verdict;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Version of the JSON result layout written for each call.
pub const SCHEMA_VERSION: u32 = 1;

/// Who is speaking on a track or in an utterance.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Customer,
    /// A mono recording: both parties on one track, role not known from the audio layout.
    #[default]
    Mixed,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Customer => "customer",
            Role::Mixed => "mixed",
        }
    }
    /// Chinese label used in reports.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Agent => "座席",
            Role::Customer => "客户",
            Role::Mixed => "混合",
        }
    }
}

/// Which party ended the call.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Agent,
    Customer,
    Unknown,
}

/// Call direction from the switch metadata.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Outcome of a call's inspection.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Every stage ran (warnings may still be present).
    #[default]
    Ok,
    /// A stage failed; `errors` says which and why. Later stages did not run.
    Failed,
    /// The recording holds no speech at all (silence, tone or noise): analysed but not scored,
    /// listed apart in reports and left out of averages.
    NoSpeech,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Failed => "failed",
            CallStatus::NoSpeech => "no_speech",
        }
    }
}

/// A time span on the call's time line, in seconds from the start of the recording.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn new(start: f64, end: f64) -> Span {
        Span { start, end }
    }
    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
}

/// The per-call record written as `<out>/calls/<call_id>.json`.
///
/// Every field has a default so that hand-written records (e.g. for `zhijian score`) need only
/// the parts a scorecard reads.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct CallRecord {
    pub schema_version: u32,
    /// Version of zhijian that wrote the record.
    pub zhijian_version: String,
    /// The call's key (see [`crate::identity`]): a readable label (the switch's call id, else
    /// the file stem) and a hash of the recording's content and the switch's call id, e.g.
    /// `0001-3fa2b1c4d5e6`. Unique across batches; the result file is `calls/<call_id>.json`.
    pub call_id: String,
    pub input: InputInfo,
    /// Hash of everything that affects the result (equal to `fingerprints.score`).
    pub settings_hash: String,
    /// Per-stage fingerprints: a rerun redoes only the stages whose inputs changed.
    #[serde(default, skip_serializing_if = "Fingerprints::is_empty")]
    pub fingerprints: Fingerprints,
    pub status: CallStatus,
    /// Length of the recording in seconds (0 when decoding failed).
    pub duration_s: f64,
    /// One entry per analysed track, with the role it was given.
    pub channels: Vec<ChannelInfo>,
    /// True when the recording is mono: roles of speech are then not known from the layout.
    pub mono: bool,
    /// The row of `--meta` for this file, if any.
    pub metadata: Option<CallMeta>,
    /// Speech found by the VAD, per track, sorted by start time.
    pub segments: Vec<SpeechSegment>,
    /// Time-stamped acoustic events a reviewer can jump to.
    pub findings: Findings,
    /// Call-level numbers derived from the segments.
    pub metrics: Metrics,
    /// Transcribed utterances (empty until ASR runs), sorted by start time.
    #[serde(default)]
    pub utterances: Vec<Utterance>,
    /// VAD speech the recogniser returned nothing usable for, even decoded on its own: kept so
    /// that no speech is lost silently (items that look at it go to review).
    #[serde(default)]
    pub untranscribed: Vec<Untranscribed>,
    /// Call-level classifier features (absent until the classifier runs).
    #[serde(default)]
    pub classification: Option<CallClassification>,
    /// Scorecard result (absent until scoring runs).
    #[serde(default)]
    pub score: Option<verdict::ScoreResult>,
    /// Personal data found in the utterances (where, which type, masked form; never the raw
    /// value). Filled after transcription; rules read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pii: Vec<personal::Entity>,
    /// Problems that did not stop the inspection (e.g. an all-silent track).
    #[serde(default)]
    pub warnings: Vec<Problem>,
    /// Problems that stopped it; present only when `status` is `failed`.
    #[serde(default)]
    pub errors: Vec<Problem>,
    /// Wall time per stage in milliseconds.
    #[serde(default)]
    pub timings_ms: BTreeMap<String, f64>,
}

/// Fingerprints of the inputs of each stage, each chained on the one before it: a change
/// upstream invalidates everything after it (README "Fingerprints").
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Fingerprints {
    /// Decoder + VAD + findings settings and the per-file agent channel.
    pub audio: String,
    /// `audio` + speech model file hash + decoding options that change text (not threads/GPU).
    pub transcript: String,
    /// `transcript` + classifier weights (encoder and heads, not the evaluation cache).
    pub classify: String,
    /// `classify` + scorecards and lexicons + the metadata row.
    pub score: String,
}

impl Fingerprints {
    pub fn is_empty(&self) -> bool {
        self.audio.is_empty()
    }
}

/// What was read from disk.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct InputInfo {
    /// The file as given (written as UTF-8, lossily when the name is not; `path_raw` then keeps
    /// the exact bytes).
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    /// Hex of the path's raw bytes, present only when they are not valid UTF-8 (e.g. GBK file
    /// names copied from Windows shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_raw: Option<String>,
    pub size_bytes: u64,
    /// SHA-256 of the file's bytes (hex).
    pub sha256: String,
    /// Absent when the file could not be probed.
    pub format: Option<AudioFormat>,
}

fn lossy_path<S: serde::Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

impl InputInfo {
    /// The path as given: the raw bytes when the name was not UTF-8.
    pub fn raw_path(&self) -> PathBuf {
        #[cfg(unix)]
        if let Some(bytes) = self.path_raw.as_deref().and_then(|h| hex::decode(h).ok()) {
            use std::os::unix::ffi::OsStringExt;
            return PathBuf::from(std::ffi::OsString::from_vec(bytes));
        }
        self.path.clone()
    }
}

/// The container and codec as decoded.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AudioFormat {
    /// e.g. "wav", "mp3", "flac", "ogg", "m4a".
    pub container: String,
    /// e.g. "pcm_s16le", "pcm_alaw", "pcm_mulaw", "mp3", "aac", "vorbis", "flac".
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ChannelInfo {
    /// Index of the track in the source file (0 = left).
    pub index: usize,
    pub role: Role,
    /// Seconds of detected speech on this track.
    pub speech_s: f64,
    /// Estimated background level (dBFS) and speech level (dBFS), for diagnosing bad audio.
    pub noise_floor_dbfs: f64,
    pub speech_level_dbfs: f64,
}

/// A row of the `--meta` CSV.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct CallMeta {
    pub call_id: Option<String>,
    pub file: Option<String>,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    /// Queue or skill group; selects the scorecard.
    pub queue: Option<String>,
    pub direction: Option<Direction>,
    /// Call start as written by the switch (ISO 8601 recommended).
    pub start_time: Option<String>,
    pub customer_number: Option<String>,
    /// Which side hung up, when the switch records it; overrides the acoustic guess.
    pub hangup_side: Option<Side>,
    /// Which stereo channel carries the agent for this file ("left"/"right"), overriding
    /// `--agent-channel`.
    pub agent_channel: Option<String>,
    /// Columns zhijian does not know, kept for rules and reports.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// Speech found by the VAD on one track.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct SpeechSegment {
    pub role: Role,
    pub channel: usize,
    pub start: f64,
    pub end: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct Findings {
    /// Spans where nobody speaks, longer than the silence threshold, between the first and the
    /// last speech of the call (冷场 / dead air).
    pub silences: Vec<Span>,
    /// Spans where both parties speak at once for at least the overlap threshold.
    pub overlaps: Vec<Span>,
    /// One party starting to speak while the other is mid-utterance (抢话).
    pub interruptions: Vec<Interruption>,
    /// Customer turn end → agent reply start.
    pub latencies: Vec<Latency>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Interruption {
    /// Who started speaking.
    pub by: Role,
    /// When they started (seconds).
    pub at: f64,
    /// The overlapping span.
    pub span: Span,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Latency {
    /// End of the customer's turn.
    pub customer_end: f64,
    /// Start of the agent's reply.
    pub agent_start: f64,
    pub seconds: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct Metrics {
    pub duration_s: f64,
    /// Seconds of speech per role ("agent", "customer" or "mixed").
    pub talk_s: BTreeMap<String, f64>,
    /// Agent talk time over total talk time (None for mono or when nobody spoke).
    pub agent_talk_ratio: Option<f64>,
    pub silence_count: usize,
    pub silence_total_s: f64,
    pub silence_longest_s: f64,
    /// Seconds from the start of the recording to the first speech, and from the last speech
    /// to the end.
    pub leading_silence_s: f64,
    pub trailing_silence_s: f64,
    pub overlap_count: usize,
    pub overlap_total_s: f64,
    pub interruptions_by_agent: usize,
    pub interruptions_by_customer: usize,
    pub latency_mean_s: Option<f64>,
    pub latency_max_s: Option<f64>,
    /// Role of the last speech segment (None when there is no speech).
    pub last_speaker: Option<Role>,
    /// The customer's speech runs into the end of the recording: the call was cut while they
    /// were talking.
    pub ended_while_customer_speaking: bool,
    pub hangup: Hangup,
    /// Characters per minute per role, filled in by ASR.
    #[serde(default)]
    pub speech_rate_cpm: BTreeMap<String, f64>,
    /// Seconds of VAD speech left untranscribed (see `CallRecord::untranscribed`).
    #[serde(default)]
    pub untranscribed_s: f64,
}

/// Who ended the call, and how we know.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Hangup {
    pub side: Side,
    /// "metadata" (switch record), "inferred" (from the audio) or "unknown".
    pub source: String,
    /// Short reason, in Chinese: it is shown to inspectors as evidence.
    pub reason: String,
}

impl Default for Hangup {
    fn default() -> Self {
        Hangup {
            side: Side::Unknown,
            source: "unknown".into(),
            reason: String::new(),
        }
    }
}

/// One transcribed stretch of speech by one party.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Utterance {
    /// Index in the call's utterance list (stable evidence reference).
    pub id: usize,
    /// Agent or customer (exact on stereo); on mono a guess from what is said, or `mixed`.
    pub role: Role,
    pub start: f64,
    pub end: f64,
    /// Simplified Chinese text as recognised.
    pub text: String,
    /// jieba tokens of `text`.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Mean token log-probability from the recogniser (0 when unknown).
    #[serde(default)]
    pub avg_logprob: f64,
    /// Speech rate of this utterance in characters (Han + digits) per minute.
    #[serde(default)]
    pub chars_per_min: f64,
    /// Classifier probabilities per head ("attitude", "emotion", "intent") and label.
    #[serde(default)]
    pub scores: BTreeMap<String, BTreeMap<String, f64>>,
    /// When each character of `text` was said (seconds from the start of the recording), from
    /// the recogniser's token times; empty when not known. Places personal data in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub char_times: Vec<f64>,
    /// The recogniser's probability of each character of `text` (its token's, 0–1); empty
    /// when not known. Low values mark words it was unsure of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub char_probs: Vec<f32>,
}

impl Utterance {
    /// The classifier's probability that the agent said this (its `role` head), when scored.
    /// Read by the mono role guess and the swapped-channels check.
    pub fn p_agent(&self) -> Option<f64> {
        self.scores.get("role")?.get("agent").copied()
    }
}

/// A VAD speech span with no usable text after a retry decoded on its own.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Untranscribed {
    pub role: Role,
    pub start: f64,
    pub end: f64,
    /// Why: "no text" (Whisper returned nothing), "hallucination" (only a known
    /// hallucination or prompt echo), "outside speech" (text timed off the span).
    pub reason: String,
}

/// Call-level classifier features for the scorecards.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CallClassification {
    /// Per role, per head, per label: the maximum probability over the role's utterances.
    pub max: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
    /// Same shape: the mean probability.
    pub mean: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
    /// The customer's emotion label probabilities over the first and last thirds of the call.
    pub customer_emotion_start: BTreeMap<String, f64>,
    pub customer_emotion_end: BTreeMap<String, f64>,
    /// The utterance (`Utterance::id`) behind each maximum, keyed `"role/head/label"`.
    #[serde(default)]
    pub evidence: BTreeMap<String, usize>,
}

/// A warning or error with the stage it came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Problem {
    /// "read", "decode", "vad", "asr", "classify", "score", "write" …
    pub stage: String,
    pub message: String,
}
