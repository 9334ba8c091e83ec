//! `zhijian eval classifier`: per-class precision/recall/F1 and confusion matrices on the
//! held-out `test.tsv`, for the classifier and, side by side, the keyword baseline
//! ([`super::baseline`]); on clean text, on ASR-noised copies, and on the lines that contain no
//! word of the baseline's lexicon (where keyword rules are blind by construction).

use super::baseline::{Lexicon, LEXICON_FILE};
use super::data::{self, Example};
use super::encoder::Encoder;
use super::heads::{Heads, HeadsMeta};
use super::train::{noiser_for, EmbeddingCache};
use super::{model_dir, ClassifyError, HeadSpec, HEADS};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Noise stream for held-out (and validation) copies; training copies use other seeds.
pub const EVAL_NOISE_SEED: u64 = 0x0000_e7a1_5eed;

#[derive(Clone, Debug, PartialEq)]
pub struct EvalOptions {
    /// Folder with `train.tsv` (noise vocabulary), `test.tsv` and `lexicon.toml`.
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            data_dir: PathBuf::from(data::DEFAULT_DIR),
            models_dir: PathBuf::from("models"),
        }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ClassScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold examples of this label.
    pub support: usize,
}

/// Scores of one head on one set of examples.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct HeadEval {
    pub head: String,
    pub labels: Vec<String>,
    pub n: usize,
    pub accuracy: f64,
    /// Mean F1 over the labels that occur in the gold data.
    pub macro_f1: f64,
    pub per_class: Vec<ClassScore>,
    /// `confusion[gold][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

/// Classifier and baseline on one set.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EvalSet {
    pub name: String,
    pub classifier: Vec<HeadEval>,
    pub baseline: Vec<HeadEval>,
    /// Whether the classifier's top probability means what it says, per head.
    pub calibration: Vec<super::calibrate::Calibration>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EvalReport {
    pub test_file: PathBuf,
    pub heads: HeadsMeta,
    pub sets: Vec<EvalSet>,
    /// A few noised test lines, to show what "noised" means.
    pub noise_examples: Vec<(String, String)>,
}

/// Precision/recall/F1 per label, accuracy, macro-F1 and the confusion matrix.
pub fn score_head(spec: &HeadSpec, gold: &[usize], pred: &[usize]) -> HeadEval {
    let k = spec.labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    for (&g, &p) in gold.iter().zip(pred) {
        confusion[g][p] += 1;
    }
    let n = gold.len();
    let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
    let mut per_class = Vec::new();
    let (mut f1_sum, mut present) = (0.0, 0usize);
    for (i, label) in spec.labels.iter().enumerate() {
        let tp = confusion[i][i] as f64;
        let predicted: usize = (0..k).map(|g| confusion[g][i]).sum();
        let support: usize = confusion[i].iter().sum();
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        if support > 0 {
            f1_sum += f1;
            present += 1;
        }
        per_class.push(ClassScore {
            label: label.to_string(),
            precision,
            recall,
            f1,
            support,
        });
    }
    HeadEval {
        head: spec.name.to_string(),
        labels: spec.labels.iter().map(|s| s.to_string()).collect(),
        n,
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
        macro_f1: if present > 0 {
            f1_sum / present as f64
        } else {
            0.0
        },
        per_class,
        confusion,
    }
}

fn argmax(p: &std::collections::BTreeMap<String, f64>, spec: &HeadSpec) -> usize {
    let mut best = (0, f64::MIN);
    for (i, l) in spec.labels.iter().enumerate() {
        let v = p.get(*l).copied().unwrap_or(0.0);
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

pub fn evaluate(opts: &EvalOptions) -> Result<EvalReport, ClassifyError> {
    let (train_path, test_path) = data::paths(&opts.data_dir);
    let train = data::load_tsv(&train_path)?;
    let test = data::load_tsv(&test_path)?;
    let lexicon = Lexicon::load(&opts.data_dir.join(LEXICON_FILE))?;
    let dir = model_dir(&opts.models_dir);
    let heads = Heads::load(&dir)?;
    super::encoder::ensure_converted(&dir)?;
    let encoder = Encoder::load(&dir, Some(heads.meta.encoder_layers))?;
    let noiser = noiser_for(&train);
    let noised: Vec<String> = test
        .iter()
        .map(|e| noiser.noise(&e.text, EVAL_NOISE_SEED))
        .collect();
    let mut cache = EmbeddingCache::open(&dir, &encoder)?;
    let clean: Vec<&str> = test.iter().map(|e| e.text.as_str()).collect();
    let noisy: Vec<&str> = noised.iter().map(String::as_str).collect();
    cache.fill(&encoder, &clean)?;
    cache.fill(&encoder, &noisy)?;

    let mut sets = Vec::new();
    for (name, texts, only_unmatched) in [
        ("clean", &clean, false),
        ("noised", &noisy, false),
        ("clean, no lexicon word", &clean, true),
        ("noised, no lexicon word", &noisy, true),
    ] {
        let mut emb = Vec::with_capacity(texts.len() * encoder.dim());
        for t in texts.iter() {
            emb.extend_from_slice(cache.get(t).expect("filled above"));
        }
        let scores = heads.predict(&emb, texts)?;
        let (mut clf, mut base, mut cal) = (Vec::new(), Vec::new(), Vec::new());
        for (h, spec) in HEADS.iter().enumerate() {
            let (mut gold, mut p_clf, mut p_base) = (Vec::new(), Vec::new(), Vec::new());
            let mut conf = Vec::new();
            for ((e, t), s) in test.iter().zip(texts.iter()).zip(&scores) {
                let Some(g) = e.labels[h] else { continue };
                let b = lexicon.predict(h, t);
                if only_unmatched && b.matched {
                    continue;
                }
                gold.push(g);
                let top = argmax(&s[spec.name], spec);
                conf.push((s[spec.name][spec.labels[top]], top == g));
                p_clf.push(top);
                p_base.push(b.label);
            }
            cal.push(super::calibrate::calibration(spec.name, &conf, 10));
            clf.push(score_head(spec, &gold, &p_clf));
            base.push(score_head(spec, &gold, &p_base));
        }
        sets.push(EvalSet {
            name: name.to_string(),
            classifier: clf,
            baseline: base,
            calibration: cal,
        });
    }
    let noise_examples = examples_of_noise(&test, &noised);
    Ok(EvalReport {
        test_file: test_path,
        heads: heads.meta.clone(),
        sets,
        noise_examples,
    })
}

fn examples_of_noise(test: &[Example], noised: &[String]) -> Vec<(String, String)> {
    let step = (test.len() / 5).max(1);
    test.iter()
        .zip(noised)
        .step_by(step)
        .take(5)
        .map(|(e, n)| (e.text.clone(), n.clone()))
        .collect()
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "held-out set {} (encoder layers {}, heads hidden {}, seed {}, train sha256 {})",
            self.test_file.display(),
            self.heads.encoder_layers,
            self.heads.hidden,
            self.heads.seed,
            &self.heads.train_sha256[..12.min(self.heads.train_sha256.len())]
        )?;
        writeln!(f, "noised = ASR-like copies, e.g.:")?;
        for (a, b) in &self.noise_examples {
            writeln!(f, "  {a}  →  {b}")?;
        }
        writeln!(f)?;
        writeln!(f, "summary (macro-F1, classifier vs keyword baseline)")?;
        write!(f, "  {:<26}", "set")?;
        for h in HEADS {
            write!(f, "{:>25}", h.name)?;
        }
        writeln!(f)?;
        for s in &self.sets {
            write!(f, "  {:<26}", s.name)?;
            for (c, b) in s.classifier.iter().zip(&s.baseline) {
                write!(
                    f,
                    "{:>25}",
                    format!("{:.3} vs {:.3} (n={})", c.macro_f1, b.macro_f1, c.n)
                )?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "\ncalibration (temperatures {:?}): ECE, and accuracy where the top probability ≥ 0.8",
            self.heads.temperatures
        )?;
        for s in &self.sets {
            write!(f, "  {:<26}", s.name)?;
            for c in &s.calibration {
                write!(
                    f,
                    "{:>25}",
                    format!("{:.3}, {:.3} (n={})", c.ece, c.accuracy_at_08, c.n_at_08)
                )?;
            }
            writeln!(f)?;
        }
        for s in &self.sets {
            writeln!(f, "\n=== {} ===", s.name)?;
            for c in &s.calibration {
                let bins: Vec<String> = c
                    .bins
                    .iter()
                    .map(|b| {
                        format!(
                            "{:.1}–{:.1}: {:.2}/{:.2} n={}",
                            b.lo, b.hi, b.confidence, b.accuracy, b.n
                        )
                    })
                    .collect();
                writeln!(
                    f,
                    "{} reliability (confidence/accuracy): {}",
                    c.head,
                    bins.join("; ")
                )?;
            }
            for (c, b) in s.classifier.iter().zip(&s.baseline) {
                write_head(f, c, b)?;
            }
        }
        Ok(())
    }
}

fn write_head(f: &mut fmt::Formatter<'_>, c: &HeadEval, b: &HeadEval) -> fmt::Result {
    writeln!(
        f,
        "\n{} (n={}): classifier accuracy {:.3} macro-F1 {:.3} | baseline accuracy {:.3} macro-F1 {:.3}",
        c.head, c.n, c.accuracy, c.macro_f1, b.accuracy, b.macro_f1
    )?;
    writeln!(
        f,
        "  {:<14}{:>8}{:>8}{:>8}  |{:>8}{:>8}{:>8}{:>9}",
        "label", "P", "R", "F1", "P", "R", "F1", "support"
    )?;
    for (x, y) in c.per_class.iter().zip(&b.per_class) {
        writeln!(
            f,
            "  {:<14}{:>8.3}{:>8.3}{:>8.3}  |{:>8.3}{:>8.3}{:>8.3}{:>9}",
            x.label, x.precision, x.recall, x.f1, y.precision, y.recall, y.f1, x.support
        )?;
    }
    writeln!(
        f,
        "  confusion (rows gold, columns predicted): classifier | baseline"
    )?;
    let w = c.labels.iter().map(|l| l.len()).max().unwrap_or(4).max(5);
    write!(f, "  {:<w$}", "")?;
    for half in 0..2 {
        for l in &c.labels {
            write!(f, " {:>w$}", &l[..l.len().min(w)])?;
        }
        if half == 0 {
            write!(f, "  |")?;
        }
    }
    writeln!(f)?;
    for (i, l) in c.labels.iter().enumerate() {
        write!(f, "  {l:<w$}")?;
        for v in &c.confusion[i] {
            write!(f, " {v:>w$}")?;
        }
        write!(f, "  |")?;
        for v in &b.confusion[i] {
            write!(f, " {v:>w$}")?;
        }
        writeln!(f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::EMOTION;

    #[test]
    fn scores_match_hand_computation() {
        // gold: neutral ×3, dissatisfied ×2, angry ×1
        let gold = [0, 0, 0, 1, 1, 2];
        let pred = [0, 0, 1, 1, 2, 2];
        let e = score_head(&EMOTION, &gold, &pred);
        assert_eq!(
            e.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((e.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // neutral P=1 R=2/3 F1=0.8; dissatisfied P=.5 R=.5 F1=.5; angry P=.5 R=1 F1=2/3
        let f1: Vec<f64> = e.per_class.iter().map(|c| c.f1).collect();
        assert!((f1[0] - 0.8).abs() < 1e-12 && (f1[1] - 0.5).abs() < 1e-12);
        assert!((f1[2] - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn labels_without_gold_examples_do_not_count_in_macro_f1() {
        let e = score_head(&EMOTION, &[0, 0], &[0, 0]);
        assert_eq!(e.macro_f1, 1.0);
        assert_eq!(e.per_class[2].support, 0);
    }
}
