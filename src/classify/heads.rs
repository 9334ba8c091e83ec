//! The trained heads: per head a small MLP (embedding → hidden ReLU → labels) or, with
//! `hidden = 0`, a linear layer, all reading the same sentence embedding, plus a linear term
//! over hashed character n-grams ([`super::ngrams`]) when `ngram_buckets > 0`.
//!
//! Weights are `heads.safetensors` (`<head>.w1`, `<head>.b1`, `<head>.w2`, `<head>.b2`,
//! `<head>.wn`);
//! `heads.json` says how they were made (data hash, seed, encoder layers, held-out scores) so
//! that a report can state which model produced it.

use super::{ClassifyError, Scores, HEADS};
use candle_core::{DType, Device, Tensor, D};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub const HEADS_WEIGHTS: &str = "heads.safetensors";
pub const HEADS_META: &str = "heads.json";

/// What `heads.json` records.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HeadsMeta {
    /// Embedding width the heads read.
    pub dim: usize,
    /// Transformer layers of the encoder the heads were trained on (inference must match).
    pub encoder_layers: usize,
    /// Hidden units per head (0 = linear).
    pub hidden: usize,
    /// Hash buckets of the character n-gram term (0 = no such term).
    #[serde(default)]
    pub ngram_buckets: usize,
    /// Labels per head, in output order.
    pub labels: BTreeMap<String, Vec<String>>,
    pub seed: u64,
    pub epochs: usize,
    /// SHA-256 of the training file.
    pub train_sha256: String,
    /// Examples per head (clean + noised copies).
    pub examples: BTreeMap<String, usize>,
    /// zhijian version that trained them.
    pub trained_by: String,
    /// Softmax temperature per head, fitted on held-out lines ([`super::calibrate`]); a head
    /// without one uses 1 (raw softmax).
    #[serde(default)]
    pub temperatures: BTreeMap<String, f64>,
}

impl HeadsMeta {
    /// The temperature of `head` (1 when not calibrated).
    pub fn temperature(&self, head: &str) -> f64 {
        self.temperatures
            .get(head)
            .copied()
            .filter(|t| *t > 0.0)
            .unwrap_or(1.0)
    }
}

/// One head's weights.
pub struct HeadWeights {
    /// (hidden, dim) and (hidden); None for a linear head.
    pub l1: Option<(Tensor, Tensor)>,
    /// (labels, hidden or dim) and (labels).
    pub l2: (Tensor, Tensor),
    /// (labels, buckets): n-gram term; None without one.
    pub ngram: Option<Tensor>,
}

impl HeadWeights {
    /// Logits: `relu(x·w1ᵀ + b1)·w2ᵀ + b2 + xn·wnᵀ` (parts absent when not configured).
    pub fn logits(&self, x: &Tensor, xn: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let h = match &self.l1 {
            Some((w1, b1)) => x.matmul(&w1.t()?)?.broadcast_add(b1)?.relu()?,
            None => x.clone(),
        };
        let out = h.matmul(&self.l2.0.t()?)?.broadcast_add(&self.l2.1)?;
        match (&self.ngram, xn) {
            (Some(wn), Some(xn)) => out + xn.matmul(&wn.t()?)?,
            _ => Ok(out),
        }
    }
}

pub struct Heads {
    pub meta: HeadsMeta,
    heads: Vec<HeadWeights>,
}

fn c(what: &str) -> impl Fn(candle_core::Error) -> ClassifyError + '_ {
    move |e| ClassifyError::candle(what.to_string(), e)
}

impl Heads {
    pub fn load(dir: &Path) -> Result<Heads, ClassifyError> {
        let meta_path = dir.join(HEADS_META);
        let w_path = dir.join(HEADS_WEIGHTS);
        for p in [&meta_path, &w_path] {
            if !p.exists() {
                return Err(ClassifyError::Missing {
                    path: p.clone(),
                    hint: "train the heads first: `zhijian train`",
                });
            }
        }
        let text =
            std::fs::read_to_string(&meta_path).map_err(|e| ClassifyError::io(&meta_path, e))?;
        let meta: HeadsMeta = serde_json::from_str(&text).map_err(|e| ClassifyError::Format {
            path: meta_path.clone(),
            message: e.to_string(),
        })?;
        for spec in HEADS {
            let want: Vec<String> = spec.labels.iter().map(|s| s.to_string()).collect();
            if meta.labels.get(spec.name) != Some(&want) {
                return Err(ClassifyError::Format {
                    path: meta_path.clone(),
                    message: format!(
                        "head {} was trained with labels {:?}, this build expects {want:?}: retrain",
                        spec.name,
                        meta.labels.get(spec.name)
                    ),
                });
            }
        }
        let mut t = candle_core::safetensors::load(&w_path, &Device::Cpu)
            .map_err(|e| ClassifyError::candle(format!("reading {}", w_path.display()), e))?;
        let mut take = |name: String, shape: &[usize]| -> Result<Tensor, ClassifyError> {
            let x = t.remove(&name).ok_or_else(|| ClassifyError::Format {
                path: w_path.clone(),
                message: format!("tensor {name} missing"),
            })?;
            if x.dims() != shape {
                return Err(ClassifyError::Format {
                    path: w_path.clone(),
                    message: format!("tensor {name} has shape {:?}, expected {shape:?}", x.dims()),
                });
            }
            Ok(x)
        };
        let mut heads = Vec::new();
        for spec in HEADS {
            let n = spec.labels.len();
            let (l1, d2) = if meta.hidden > 0 {
                let w1 = take(format!("{}.w1", spec.name), &[meta.hidden, meta.dim])?;
                let b1 = take(format!("{}.b1", spec.name), &[meta.hidden])?;
                (Some((w1, b1)), meta.hidden)
            } else {
                (None, meta.dim)
            };
            let w2 = take(format!("{}.w2", spec.name), &[n, d2])?;
            let b2 = take(format!("{}.b2", spec.name), &[n])?;
            let ngram = if meta.ngram_buckets > 0 {
                Some(take(format!("{}.wn", spec.name), &[n, meta.ngram_buckets])?)
            } else {
                None
            };
            heads.push(HeadWeights {
                l1,
                l2: (w2, b2),
                ngram,
            });
        }
        Ok(Heads { meta, heads })
    }

    /// Build from trained tensors (names as in the file) and write both files to `dir`.
    pub fn save(
        dir: &Path,
        meta: &HeadsMeta,
        tensors: HashMap<String, Tensor>,
    ) -> Result<(), ClassifyError> {
        std::fs::create_dir_all(dir).map_err(|e| ClassifyError::io(dir, e))?;
        let w = dir.join(HEADS_WEIGHTS);
        let tmp = super::convert::tmp_name(&w);
        candle_core::safetensors::save(&tensors, &tmp)
            .map_err(|e| ClassifyError::candle(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &w).map_err(|e| ClassifyError::io(&w, e))?;
        let m = dir.join(HEADS_META);
        let json = serde_json::to_string_pretty(meta).expect("meta serialises");
        std::fs::write(&m, json + "\n").map_err(|e| ClassifyError::io(&m, e))?;
        Ok(())
    }

    /// Probabilities for the texts whose embeddings are laid out row-major in `emb`.
    pub fn predict(&self, emb: &[f32], texts: &[&str]) -> Result<Vec<Scores>, ClassifyError> {
        let n = texts.len();
        let mut out = vec![Scores::new(); n];
        if n == 0 {
            return Ok(out);
        }
        let x = Tensor::from_slice(emb, (n, self.meta.dim), &Device::Cpu).map_err(c("heads"))?;
        let xn = if self.meta.ngram_buckets > 0 {
            let b = self.meta.ngram_buckets;
            let rows: Vec<Vec<(u32, f32)>> = texts
                .iter()
                .map(|t| super::ngrams::features(t, b))
                .collect();
            let refs: Vec<&[(u32, f32)]> = rows.iter().map(Vec::as_slice).collect();
            let mut dense = Vec::new();
            super::ngrams::densify(&refs, b, &mut dense);
            Some(Tensor::from_vec(dense, (n, b), &Device::Cpu).map_err(c("heads"))?)
        } else {
            None
        };
        for (spec, head) in HEADS.iter().zip(&self.heads) {
            let t = self.meta.temperature(spec.name);
            let p = head
                .logits(&x, xn.as_ref())
                .and_then(|l| l / t)
                .and_then(|l| candle_nn::ops::softmax(&l, D::Minus1))
                .and_then(|p| p.to_dtype(DType::F32)?.to_vec2::<f32>())
                .map_err(c("heads"))?;
            for (row, s) in p.iter().zip(out.iter_mut()) {
                let m = spec
                    .labels
                    .iter()
                    .zip(row)
                    .map(|(l, &v)| (l.to_string(), v as f64))
                    .collect();
                s.insert(spec.name.to_string(), m);
            }
        }
        Ok(out)
    }
}
