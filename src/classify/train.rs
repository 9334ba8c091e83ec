//! `zhijian train`: fit the heads on the frozen encoder's embeddings of `train.tsv` (clean and
//! ASR-noised copies), deterministically, and write them to `<models>/classifier/`.
//!
//! Why cached embeddings: embedding is 99% of the cost (~40 sentences/s/core), fitting the heads
//! on fixed vectors takes seconds; so every text is embedded once and kept in
//! `<models>/classifier/cache/`, and retraining with other settings is nearly free.
//! The held-out `test.tsv` is never read here; settings are chosen with `validation_fold`,
//! which holds out part of the *training* groups.

use super::data::{self, Example, Labels};
use super::encoder::{Encoder, Scratch};
use super::eval::{score_head, HeadEval};
use super::heads::{HeadWeights, Heads, HeadsMeta};
use super::ngrams;
use super::noise::{fnv1a, NoiseLevel, Noiser, SplitMix64};
use super::{model_dir, ClassifyError, HEADS};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Folder with `train.tsv` (and `lexicon.toml`).
    pub data_dir: PathBuf,
    /// Models folder; heads go to `<models_dir>/classifier/`.
    pub models_dir: PathBuf,
    pub seed: u64,
    pub epochs: usize,
    /// Hidden units per head; 0 trains linear heads.
    pub hidden: usize,
    /// Hash buckets of the character n-gram term (0: embedding only).
    pub ngram_buckets: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Dropout on the hidden layer during training.
    pub dropout: f64,
    /// ASR-noised copies of each training line added to the clean line.
    pub noised_copies: usize,
    /// Use only the first N encoder layers (None = all 12). Faster, less accurate.
    pub encoder_layers: Option<usize>,
    /// `Some((k, folds))`: hold out fold `k` of `folds` of the training *groups* and report
    /// scores on it instead of writing heads (cross-validation for choosing settings). The
    /// test split is never used for this.
    pub validation_fold: Option<(u64, u64)>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            data_dir: PathBuf::from(data::DEFAULT_DIR),
            models_dir: PathBuf::from("models"),
            seed: 17,
            epochs: 60,
            hidden: 256,
            ngram_buckets: super::ngrams::BUCKETS,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            dropout: 0.2,
            noised_copies: 1,
            encoder_layers: None,
            validation_fold: None,
        }
    }
}

/// What a training run did.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Training rows per head (clean + noised).
    pub examples: BTreeMap<String, usize>,
    /// Texts embedded now / found in the cache.
    pub embedded: usize,
    pub cached: usize,
    pub seconds: f64,
    /// Scores on the held-out training fold when `validation_fold` is set (clean, noised).
    pub validation: Option<(Vec<HeadEval>, Vec<HeadEval>)>,
    /// Where the heads were written (None when validating: nothing is written then).
    pub written_to: Option<PathBuf>,
}

impl fmt::Display for TrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "embedded {} texts ({} from cache) in {:.1} s total",
            self.embedded + self.cached,
            self.cached,
            self.seconds
        )?;
        for (h, n) in &self.examples {
            writeln!(f, "  {h}: {n} training rows")?;
        }
        if let Some((clean, noised)) = &self.validation {
            for (name, set) in [("clean", clean), ("noised", noised)] {
                for e in set {
                    writeln!(
                        f,
                        "  validation {name} {}: accuracy {:.3}, macro-F1 {:.3} (n={})",
                        e.head, e.accuracy, e.macro_f1, e.n
                    )?;
                }
            }
        }
        if let Some(p) = &self.written_to {
            writeln!(f, "heads written to {}", p.display())?;
        }
        Ok(())
    }
}

/// Seed of the noise stream for training copy `k` (eval uses its own, see `eval`).
fn train_noise_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(k as u64)
}

/// The character pool for ASR noise: every character of the training file, so train-time and
/// eval-time noise draw homophones from the same vocabulary.
pub fn noiser_for(train: &[Example]) -> Noiser {
    Noiser::from_texts(train.iter().map(|e| e.text.as_str()), NoiseLevel::default())
}

/// Why the heads in `opts.models_dir` must be (re)trained, or None when they load with this
/// build's heads and labels and were trained on the current `train.tsv` and seed. Lets the
/// set-up retrain after an upgrade that adds a head or changes the data, and only then.
pub fn stale_heads(opts: &TrainOptions) -> Option<String> {
    let dir = model_dir(&opts.models_dir);
    let heads = match super::heads::Heads::load(&dir) {
        Ok(h) => h,
        Err(e) => return Some(e.to_string()),
    };
    let (train_path, _) = data::paths(&opts.data_dir);
    let sha = match std::fs::read(&train_path) {
        Ok(b) => hex::encode(Sha256::digest(&b)),
        Err(e) => return Some(format!("{}: {e}", train_path.display())),
    };
    if heads.meta.train_sha256 != sha {
        return Some(format!("trained on another {}", train_path.display()));
    }
    if heads.meta.seed != opts.seed {
        return Some(format!("trained with seed {}", heads.meta.seed));
    }
    None
}

pub fn train(opts: &TrainOptions) -> Result<TrainReport, ClassifyError> {
    let t0 = Instant::now();
    let (train_path, _) = data::paths(&opts.data_dir);
    let examples = data::load_tsv(&train_path)?;
    let train_bytes = std::fs::read(&train_path).map_err(|e| ClassifyError::io(&train_path, e))?;
    let dir = model_dir(&opts.models_dir);
    super::encoder::ensure_converted(&dir)?;
    let encoder = Encoder::load(&dir, opts.encoder_layers)?;
    let noiser = noiser_for(&examples);

    let is_val = |e: &Example| {
        opts.validation_fold
            .is_some_and(|(k, folds)| fnv1a(e.group.as_bytes()) % folds.max(1) == k)
    };
    let (fit, val): (Vec<&Example>, Vec<&Example>) = examples.iter().partition(|e| !is_val(e));

    // Rows: each fitting example clean plus its noised copies.
    let rows = rows_of(&fit, &noiser, opts);
    let val_noised: Vec<String> = val
        .iter()
        .map(|e| noiser.noise(&e.text, super::eval::EVAL_NOISE_SEED))
        .collect();
    let mut cache = EmbeddingCache::open(&dir, &encoder)?;
    let mut all: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    all.extend(val.iter().map(|e| e.text.as_str()));
    all.extend(val_noised.iter().map(String::as_str));
    let (mut embedded, mut cached) = cache.fill(&encoder, &all)?;

    let dim = encoder.dim();
    let nb = opts.ngram_buckets;
    let (trained, tensors, counts) = fit_heads(&rows, &cache, dim, opts)?;

    let validation = if val.is_empty() {
        None
    } else {
        let clean: Vec<&str> = val.iter().map(|e| e.text.as_str()).collect();
        let noised: Vec<&str> = val_noised.iter().map(String::as_str).collect();
        let c = validate(&val, &clean, &trained, &cache, dim, nb)?;
        let n = validate(&val, &noised, &trained, &cache, dim, nb)?;
        Some((c, n))
    };

    let written_to = if val.is_empty() {
        let (temperatures, e, c) = fit_temperatures(&fit, &noiser, &encoder, &mut cache, opts)?;
        embedded += e;
        cached += c;
        let meta = HeadsMeta {
            dim,
            encoder_layers: encoder.layers(),
            hidden: opts.hidden,
            ngram_buckets: nb,
            labels: HEADS
                .iter()
                .map(|s| {
                    let l = s.labels.iter().map(|x| x.to_string()).collect();
                    (s.name.to_string(), l)
                })
                .collect(),
            seed: opts.seed,
            epochs: opts.epochs,
            train_sha256: hex::encode(Sha256::digest(&train_bytes)),
            examples: counts.clone(),
            trained_by: format!("zhijian {}", env!("CARGO_PKG_VERSION")),
            temperatures,
        };
        Heads::save(&dir, &meta, tensors)?;
        Some(dir)
    } else {
        None
    };
    Ok(TrainReport {
        examples: counts,
        embedded,
        cached,
        seconds: t0.elapsed().as_secs_f64(),
        validation,
        written_to,
    })
}

/// Training rows: each example clean plus `opts.noised_copies` ASR-noised copies.
fn rows_of(examples: &[&Example], noiser: &Noiser, opts: &TrainOptions) -> Vec<(String, Labels)> {
    let mut rows = Vec::new();
    for e in examples {
        rows.push((e.text.clone(), e.labels));
        for k in 0..opts.noised_copies {
            rows.push((
                noiser.noise(&e.text, train_noise_seed(opts.seed, k)),
                e.labels,
            ));
        }
    }
    rows
}

type Fitted = (
    Vec<HeadWeights>,
    HashMap<String, Tensor>,
    BTreeMap<String, usize>,
);

/// Fit every head on the rows that carry its label (embeddings from `cache`).
fn fit_heads(
    rows: &[(String, Labels)],
    cache: &EmbeddingCache,
    dim: usize,
    opts: &TrainOptions,
) -> Result<Fitted, ClassifyError> {
    let nb = opts.ngram_buckets;
    let mut tensors = HashMap::new();
    let mut counts = BTreeMap::new();
    let mut trained: Vec<HeadWeights> = Vec::new();
    for (h, spec) in HEADS.iter().enumerate() {
        let (mut x, mut xn, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for (text, labels) in rows {
            if let Some(l) = labels[h] {
                x.extend_from_slice(cache.get(text).expect("filled before fitting"));
                xn.push(if nb > 0 {
                    ngrams::features(text, nb)
                } else {
                    Vec::new()
                });
                y.push(l as u32);
            }
        }
        counts.insert(spec.name.to_string(), y.len());
        let t = fit_head(&x, &xn, &y, dim, spec.labels.len(), h, opts)?;
        if let Some((w1, b1)) = &t.l1 {
            tensors.insert(format!("{}.w1", spec.name), w1.clone());
            tensors.insert(format!("{}.b1", spec.name), b1.clone());
        }
        tensors.insert(format!("{}.w2", spec.name), t.l2.0.clone());
        tensors.insert(format!("{}.b2", spec.name), t.l2.1.clone());
        if let Some(wn) = &t.ngram {
            tensors.insert(format!("{}.wn", spec.name), wn.clone());
        }
        trained.push(t);
    }
    Ok((trained, tensors, counts))
}

/// One in this many training groups is the calibration (dev) fold.
pub const CALIBRATION_FOLDS: u64 = 5;

/// Cross-fitted temperatures: heads fitted without the calibration fold of the training
/// groups, their logits on that fold (clean and ASR-noised lines, as the pipeline sees both),
/// and per head the temperature with the lowest NLL there. The written heads are then fitted
/// on all groups and use these temperatures. Returns (temperatures, embedded, cached).
fn fit_temperatures(
    fit: &[&Example],
    noiser: &Noiser,
    encoder: &Encoder,
    cache: &mut EmbeddingCache,
    opts: &TrainOptions,
) -> Result<(BTreeMap<String, f64>, usize, usize), ClassifyError> {
    let is_cal = |e: &Example| {
        fnv1a(format!("cal:{}", e.group).as_bytes()).is_multiple_of(CALIBRATION_FOLDS)
    };
    let (cal, rest): (Vec<&Example>, Vec<&Example>) = fit.iter().partition(|e| is_cal(e));
    let mut texts: Vec<String> = cal.iter().map(|e| e.text.clone()).collect();
    texts.extend(
        cal.iter()
            .map(|e| noiser.noise(&e.text, super::eval::EVAL_NOISE_SEED)),
    );
    let gold: Vec<Labels> = cal.iter().chain(cal.iter()).map(|e| e.labels).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (embedded, cached) = cache.fill(encoder, &refs)?;
    let dim = encoder.dim();
    let (heads, _, _) = fit_heads(&rows_of(&rest, noiser, opts), cache, dim, opts)?;
    let logits = head_logits(&heads, &refs, cache, dim, opts.ngram_buckets)?;
    let mut temps = BTreeMap::new();
    for (h, spec) in HEADS.iter().enumerate() {
        let (mut z, mut g) = (Vec::new(), Vec::new());
        for (row, labels) in logits[h].iter().zip(&gold) {
            if let Some(l) = labels[h] {
                z.push(row.clone());
                g.push(l);
            }
        }
        let t = super::calibrate::fit_temperature(&z, &g);
        log::info!(
            "temperature of {}: {t} (fitted on {} held-out lines)",
            spec.name,
            g.len()
        );
        temps.insert(spec.name.to_string(), t);
    }
    Ok((temps, embedded, cached))
}

/// Raw logits of every head for `texts` (embedded in `cache`): `[head][text][label]`.
/// The heads' inputs for `texts`: cached embeddings (n × dim) and, when the heads use them,
/// dense character n-gram features (n × nb).
fn head_inputs(
    texts: &[&str],
    cache: &EmbeddingCache,
    dim: usize,
    nb: usize,
) -> candle_core::Result<(Tensor, Option<Tensor>)> {
    let n = texts.len();
    let mut emb = Vec::with_capacity(n * dim);
    for t in texts {
        emb.extend_from_slice(
            cache
                .get(t)
                .expect("embeddings are cached before the heads run"),
        );
    }
    let x = Tensor::from_vec(emb, (n, dim), &Device::Cpu)?;
    let xn = if nb > 0 {
        let rows: Vec<Vec<(u32, f32)>> = texts.iter().map(|t| ngrams::features(t, nb)).collect();
        let refs: Vec<&[(u32, f32)]> = rows.iter().map(Vec::as_slice).collect();
        let mut d = Vec::new();
        ngrams::densify(&refs, nb, &mut d);
        Some(Tensor::from_vec(d, (n, nb), &Device::Cpu)?)
    } else {
        None
    };
    Ok((x, xn))
}

fn head_logits(
    heads: &[HeadWeights],
    texts: &[&str],
    cache: &EmbeddingCache,
    dim: usize,
    nb: usize,
) -> Result<Vec<Vec<Vec<f32>>>, ClassifyError> {
    let err = |e| ClassifyError::candle("calibration".into(), e);
    let (x, xn) = head_inputs(texts, cache, dim, nb).map_err(err)?;
    heads
        .iter()
        .map(|h| {
            h.logits(&x, xn.as_ref())
                .and_then(|l| l.to_dtype(DType::F32)?.to_vec2::<f32>())
                .map_err(err)
        })
        .collect()
}

/// Scores of freshly trained heads on validation texts (`texts[i]` is `val[i]`, clean or
/// noised).
fn validate(
    val: &[&Example],
    texts: &[&str],
    heads: &[HeadWeights],
    cache: &EmbeddingCache,
    dim: usize,
    nb: usize,
) -> Result<Vec<HeadEval>, ClassifyError> {
    let err = |e| ClassifyError::candle("validation".into(), e);
    let (x, xn) = head_inputs(texts, cache, dim, nb).map_err(err)?;
    let mut out = Vec::new();
    for (h, spec) in HEADS.iter().enumerate() {
        let pred = heads[h]
            .logits(&x, xn.as_ref())
            .and_then(|l| l.argmax(D::Minus1)?.to_vec1::<u32>())
            .map_err(err)?;
        let (mut gold, mut p) = (Vec::new(), Vec::new());
        for (e, &q) in val.iter().zip(&pred) {
            if let Some(l) = e.labels[h] {
                gold.push(l);
                p.push(q as usize);
            }
        }
        out.push(score_head(spec, &gold, &p));
    }
    Ok(out)
}

/// Train one head with AdamW on class-weighted cross-entropy, minibatches of 128, dropout on
/// the hidden layer. All randomness (init, shuffles, dropout masks) comes from `SplitMix64`
/// seeded by `opts.seed` and the head index, so a rerun gives the same weights.
#[allow(clippy::too_many_arguments)]
fn fit_head(
    x: &[f32],
    xn: &[Vec<(u32, f32)>],
    y: &[u32],
    dim: usize,
    classes: usize,
    head: usize,
    opts: &TrainOptions,
) -> Result<HeadWeights, ClassifyError> {
    let err = |e| ClassifyError::candle(format!("training head {}", HEADS[head].name), e);
    let dev = Device::Cpu;
    let mut rng = SplitMix64::new(opts.seed ^ (0x5eed_0000 + head as u64));
    let n = y.len();
    let nb = opts.ngram_buckets;
    let mut normal = |rows: usize, cols: usize, scale: f64| -> candle_core::Result<Var> {
        let v: Vec<f32> = (0..rows * cols)
            .map(|_| (rng.normal() * scale) as f32)
            .collect();
        Var::from_tensor(&Tensor::from_vec(v, (rows, cols), &dev)?)
    };
    let hid = opts.hidden;
    let (l1, d2) = if hid > 0 {
        let w1 = normal(hid, dim, (2.0 / dim as f64).sqrt()).map_err(err)?;
        let b1 = Var::zeros(hid, DType::F32, &dev).map_err(err)?;
        (Some((w1, b1)), hid)
    } else {
        (None, dim)
    };
    let w2 = normal(classes, d2, (1.0 / d2 as f64).sqrt()).map_err(err)?;
    let b2 = Var::zeros(classes, DType::F32, &dev).map_err(err)?;
    let wn = if nb > 0 {
        Some(Var::zeros((classes, nb), DType::F32, &dev).map_err(err)?)
    } else {
        None
    };
    let mut vars = vec![w2.clone(), b2.clone()];
    if let Some((w1, b1)) = &l1 {
        vars.extend([w1.clone(), b1.clone()]);
    }
    if let Some(wn) = &wn {
        vars.push(wn.clone());
    }
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: opts.learning_rate,
            weight_decay: opts.weight_decay,
            ..Default::default()
        },
    )
    .map_err(err)?;

    // Inverse-frequency class weights, so that rare labels (praise, refusal) count.
    let mut freq = vec![0usize; classes];
    for &l in y {
        freq[l as usize] += 1;
    }
    let weights: Vec<f32> = freq
        .iter()
        .map(|&f| {
            if f == 0 {
                0.0
            } else {
                n as f32 / (classes as f32 * f as f32)
            }
        })
        .collect();
    let class_w = Tensor::from_vec(weights, classes, &dev).map_err(err)?;
    let xs = Tensor::from_slice(x, (n, dim), &dev).map_err(err)?;
    let ys = Tensor::from_slice(y, n, &dev).map_err(err)?;

    const BATCH: usize = 128;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let keep = 1.0 - opts.dropout;
    let mut dense = Vec::new();
    let mut rows: Vec<&[(u32, f32)]> = Vec::with_capacity(BATCH);
    for _ in 0..opts.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(BATCH) {
            let mut step = || -> candle_core::Result<()> {
                let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
                let xb = xs.index_select(&idx, 0)?;
                let yb = ys.index_select(&idx, 0)?;
                let h = match &l1 {
                    Some((w1, b1)) => {
                        let h = xb.matmul(&w1.t()?)?.broadcast_add(b1)?.relu()?;
                        if opts.dropout > 0.0 {
                            let mask: Vec<f32> = (0..chunk.len() * hid)
                                .map(|_| {
                                    if rng.next_f64() < keep {
                                        (1.0 / keep) as f32
                                    } else {
                                        0.0
                                    }
                                })
                                .collect();
                            (h * Tensor::from_vec(mask, (chunk.len(), hid), &dev)?)?
                        } else {
                            h
                        }
                    }
                    None => xb,
                };
                let mut logits = h.matmul(&w2.t()?)?.broadcast_add(&b2)?;
                if let Some(wn) = &wn {
                    rows.clear();
                    rows.extend(chunk.iter().map(|&i| xn[i as usize].as_slice()));
                    ngrams::densify(&rows, nb, &mut dense);
                    let xnb = Tensor::from_slice(&dense, (chunk.len(), nb), &dev)?;
                    logits = (logits + xnb.matmul(&wn.t()?)?)?;
                }
                let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
                let nll = logp.gather(&yb.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;
                let w = class_w.index_select(&yb, 0)?;
                let loss = ((nll * &w)?.sum_all()? / w.sum_all()?.to_scalar::<f32>()? as f64)?;
                opt.backward_step(&loss)
            };
            step().map_err(err)?;
        }
    }
    Ok(HeadWeights {
        l1: l1.map(|(w, b)| (w.as_tensor().clone(), b.as_tensor().clone())),
        l2: (w2.as_tensor().clone(), b2.as_tensor().clone()),
        ngram: wn.map(|w| w.as_tensor().clone()),
    })
}

/// Embeddings of every text seen so far, per encoder depth, in
/// `<classifier>/cache/emb-L<layers>.{safetensors,txt}`; invalid when the encoder weights
/// change (their size and modification time are recorded).
pub struct EmbeddingCache {
    path: PathBuf,
    texts_path: PathBuf,
    stamp: String,
    dim: usize,
    index: HashMap<String, usize>,
    rows: Vec<f32>,
}

impl EmbeddingCache {
    pub fn open(dir: &Path, encoder: &Encoder) -> Result<EmbeddingCache, ClassifyError> {
        let cache_dir = dir.join("cache");
        std::fs::create_dir_all(&cache_dir).map_err(|e| ClassifyError::io(&cache_dir, e))?;
        let path = cache_dir.join(format!("emb-L{}.safetensors", encoder.layers()));
        let texts_path = path.with_extension("txt");
        let w = dir.join(super::encoder::WEIGHTS_FILE);
        let md = std::fs::metadata(&w).map_err(|e| ClassifyError::io(&w, e))?;
        let mtime = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let stamp = format!(
            "# weights {} bytes, modified {mtime}, layers {}",
            md.len(),
            encoder.layers()
        );
        let mut cache = EmbeddingCache {
            path,
            texts_path,
            stamp,
            dim: encoder.dim(),
            index: HashMap::new(),
            rows: Vec::new(),
        };
        cache.read();
        Ok(cache)
    }

    /// Load what is on disk; a stale, missing or unreadable cache is simply empty.
    fn read(&mut self) {
        let Ok(text) = std::fs::read_to_string(&self.texts_path) else {
            return;
        };
        let mut lines = text.lines();
        if lines.next() != Some(self.stamp.as_str()) {
            return;
        }
        let Ok(mut t) = candle_core::safetensors::load(&self.path, &Device::Cpu) else {
            return;
        };
        let Some(rows) = t
            .remove("emb")
            .and_then(|e| e.flatten_all().ok()?.to_vec1().ok())
        else {
            return;
        };
        let texts: Vec<&str> = lines.collect();
        if rows.len() != texts.len() * self.dim {
            return;
        }
        self.rows = rows;
        self.index = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (unescape(t), i))
            .collect();
    }

    fn write(&self) -> Result<(), ClassifyError> {
        let n = self.rows.len() / self.dim;
        let t = Tensor::from_slice(&self.rows, (n, self.dim), &Device::Cpu)
            .map_err(|e| ClassifyError::candle("embedding cache".into(), e))?;
        let tmp = super::convert::tmp_name(&self.path);
        t.save_safetensors("emb", &tmp)
            .map_err(|e| ClassifyError::candle(format!("writing {}", tmp.display()), e))?;
        let mut by_row: Vec<(&String, &usize)> = self.index.iter().collect();
        by_row.sort_by_key(|(_, &i)| i);
        let mut text = self.stamp.clone() + "\n";
        for (t, _) in by_row {
            text.push_str(&escape(t));
            text.push('\n');
        }
        let ttmp = super::convert::tmp_name(&self.texts_path);
        std::fs::write(&ttmp, text).map_err(|e| ClassifyError::io(&ttmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| ClassifyError::io(&self.path, e))?;
        std::fs::rename(&ttmp, &self.texts_path)
            .map_err(|e| ClassifyError::io(&self.texts_path, e))?;
        Ok(())
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        let i = *self.index.get(text)?;
        Some(&self.rows[i * self.dim..(i + 1) * self.dim])
    }

    /// Embed the texts not cached yet (saving every 512 so an interrupted run resumes).
    /// Returns (embedded now, already cached).
    pub fn fill(
        &mut self,
        encoder: &Encoder,
        texts: &[&str],
    ) -> Result<(usize, usize), ClassifyError> {
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.index.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let cached = texts.len() - missing.len();
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        let t0 = Instant::now();
        for (k, chunk) in missing.chunks(512).enumerate() {
            encoder.embed(chunk, &mut scratch, &mut out)?;
            for (i, t) in chunk.iter().enumerate() {
                self.index.insert(t.to_string(), self.rows.len() / self.dim);
                self.rows
                    .extend_from_slice(&out[i * self.dim..(i + 1) * self.dim]);
            }
            self.write()?;
            let done = (k * 512 + chunk.len()) as f64;
            log::info!(
                "classifier: embedded {done} of {} texts ({:.1}/s)",
                missing.len(),
                done / t0.elapsed().as_secs_f64()
            );
        }
        Ok((missing.len(), cached))
    }
}

fn escape(t: &str) -> String {
    t.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut it = t.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_text_escaping_round_trips() {
        for t in ["普通一句", "带\\反斜杠", "两行\n文本", "\\n"] {
            assert_eq!(unescape(&escape(t)), t);
        }
    }
}
