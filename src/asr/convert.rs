//! CTranslate2 Whisper model directory → whisper.cpp ggml `.bin`.
//!
//! No ggml Whisper file ships in a package registry, but CTranslate2 (faster-whisper) weights do,
//! so the project's set-up converts them. The mapping was checked against whisper.cpp's own
//! `convert-pt-to-ggml.py` and loader (whisper-rs-sys 0.15 = whisper.cpp 1.8.3):
//!
//! - CT2 stores matrices (out, in) like PyTorch; ggml lists dimensions in reverse, so the bytes
//!   are copied untransposed and only the dimension order is reversed in the header.
//! - Fused projections are split by rows: self-attention `linear_0` (3d × d) into
//!   query/key/value, cross-attention `linear_1` (2d × d) into key/value. whisper.cpp has no key
//!   bias; dropping it is exact (q·b is the same for every key, and softmax ignores a constant).
//! - The output projection is tied to the token embedding (the CT2 alias is skipped).
//! - Matrices are f16 or quantised with ggml's own `ggml_quantize_chunk` (what whisper.cpp's
//!   `quantize` tool calls); conv weights stay f16; biases, norms and positional embeddings f32.
//! - The vocabulary is written as raw bytes (GPT-2 byte↔unicode map undone) up to the first
//!   special token; whisper.cpp creates the special tokens itself from `n_vocab`.
//! - Mel filters (Slaney, 16 kHz, n_fft 400) are computed for the model's mel count (80, or 128
//!   for large-v3).

use super::ct2::Ct2Model;
use super::ggml::{self, GgmlType, Hparams};
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a conversion failed; every message names the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConvertError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a usable CTranslate2 Whisper model: {reason}", path.display())]
    BadCt2 { path: PathBuf, reason: String },
    #[error("{}: bad vocabulary: {reason}", path.display())]
    BadVocab { path: PathBuf, reason: String },
    #[error("{}: not a whisper.cpp ggml model: {reason}", path.display())]
    BadGgml { path: PathBuf, reason: String },
}

/// Weight format of the written model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quant {
    /// 16-bit floats: the CT2 weights unchanged.
    F16,
    /// 8-bit blocks (ggml q8_0): half the size of f16, near-identical output.
    #[value(name = "q8_0")]
    #[serde(rename = "q8_0")]
    Q8_0,
    /// 5-bit blocks (ggml q5_0): a third of f16, some accuracy loss.
    #[value(name = "q5_0")]
    #[serde(rename = "q5_0")]
    Q5_0,
}

impl Quant {
    /// The ggml tensor type of the large matrices.
    pub fn matrix_type(self) -> GgmlType {
        match self {
            Quant::F16 => GgmlType::F16,
            Quant::Q8_0 => GgmlType::Q8_0,
            Quant::Q5_0 => GgmlType::Q5_0,
        }
    }
    /// The `ftype` header field: ggml's `GGML_FTYPE_*`, plus `GGML_QNT_VERSION * 1000` for the
    /// quantised formats (whisper.cpp splits it with `% GGML_QNT_VERSION_FACTOR`).
    pub fn header_ftype(self) -> i32 {
        const QNT_VERSION: i32 = whisper_rs::whisper_rs_sys::GGML_QNT_VERSION as i32;
        const QNT_FACTOR: i32 = whisper_rs::whisper_rs_sys::GGML_QNT_VERSION_FACTOR as i32;
        match self {
            Quant::F16 => 1,
            Quant::Q8_0 => QNT_VERSION * QNT_FACTOR + 7,
            Quant::Q5_0 => QNT_VERSION * QNT_FACTOR + 8,
        }
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
            Quant::Q5_0 => "q5_0",
        })
    }
}

/// What a conversion produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertReport {
    pub src_dir: PathBuf,
    pub dst_file: PathBuf,
    pub quant: Quant,
    pub hparams: Hparams,
    /// Model size name as whisper.cpp reports it ("base", "large v3"…).
    pub model_type: &'static str,
    pub ct2_variables: usize,
    pub tensors_written: usize,
    /// Tokens written to the vocabulary (special tokens excluded).
    pub vocab_tokens: usize,
    pub bytes_written: u64,
}

impl fmt::Display for ConvertReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.hparams;
        write!(
            f,
            "{} → {}: Whisper {} ({}), {} CT2 variables → {} tensors, {} mel bins, vocab {} (+{} special), {:.1} MB",
            self.src_dir.display(),
            self.dst_file.display(),
            self.model_type,
            self.quant,
            self.ct2_variables,
            self.tensors_written,
            h.n_mels,
            self.vocab_tokens,
            h.n_vocab as usize - self.vocab_tokens,
            self.bytes_written as f64 / 1e6
        )
    }
}

/// Convert the CTranslate2 Whisper model in `src_dir` (`model.bin` and `vocabulary.json` or
/// `vocabulary.txt`) to a whisper.cpp ggml file at `dst_file`. The file is written to a
/// temporary name and renamed at the end, so a crash never leaves a half model behind.
pub fn convert_ct2(
    src_dir: &Path,
    dst_file: &Path,
    quant: Quant,
) -> Result<ConvertReport, ConvertError> {
    let model = Ct2Model::open(&src_dir.join("model.bin"))?;
    if model.spec != "WhisperSpec" {
        return Err(ConvertError::BadCt2 {
            path: model.path.clone(),
            reason: format!("model spec is {}, not WhisperSpec", model.spec),
        });
    }
    let hp = hparams(&model)?;
    let vocab = read_vocabulary(src_dir)?;
    if vocab.len() >= hp.n_vocab as usize {
        return Err(ConvertError::BadVocab {
            path: src_dir.to_path_buf(),
            reason: format!(
                "{} regular tokens leave no room for special tokens in n_vocab {}",
                vocab.len(),
                hp.n_vocab
            ),
        });
    }
    let tmp = dst_file.with_extension("bin.part");
    let io = |e| ConvertError::Io {
        path: tmp.clone(),
        source: e,
    };
    if let Some(dir) = dst_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ConvertError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io)?);
    let mut n_bytes = 0u64;
    let mut put = |w: &mut BufWriter<File>, b: &[u8]| -> Result<(), ConvertError> {
        n_bytes += b.len() as u64;
        w.write_all(b).map_err(io)
    };

    // Header, mel filters, vocabulary: the layout whisper.cpp's loader reads.
    let mut head = Vec::new();
    head.extend_from_slice(&ggml::MAGIC.to_le_bytes());
    for v in hp.as_array() {
        head.extend_from_slice(&v.to_le_bytes());
    }
    head.extend_from_slice(&quant.header_ftype().to_le_bytes());
    let filters = mel_filters(hp.n_mels as usize);
    head.extend_from_slice(&(hp.n_mels).to_le_bytes());
    head.extend_from_slice(&(N_FREQ as i32).to_le_bytes());
    for x in &filters {
        head.extend_from_slice(&x.to_le_bytes());
    }
    head.extend_from_slice(&(vocab.len() as i32).to_le_bytes());
    for t in &vocab {
        head.extend_from_slice(&(t.len() as u32).to_le_bytes());
        head.extend_from_slice(t);
    }
    put(&mut w, &head)?;

    let mut n_tensors = 0;
    for spec in tensor_plan(&model, &hp)? {
        let data = spec.load(&model)?;
        let bytes = encode(&spec, &data, quant, &model.path)?;
        let name = spec.name.as_bytes();
        let mut th = Vec::with_capacity(12 + 4 * spec.ne.len() + name.len());
        th.extend_from_slice(&(spec.ne.len() as i32).to_le_bytes());
        th.extend_from_slice(&(name.len() as i32).to_le_bytes());
        th.extend_from_slice(&(spec.out_type(quant) as i32).to_le_bytes());
        for &d in &spec.ne {
            th.extend_from_slice(&(d as i32).to_le_bytes());
        }
        th.extend_from_slice(name);
        put(&mut w, &th)?;
        put(&mut w, &bytes)?;
        n_tensors += 1;
    }
    w.flush().map_err(io)?;
    w.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&tmp, dst_file).map_err(|e| ConvertError::Io {
        path: dst_file.to_path_buf(),
        source: e,
    })?;
    Ok(ConvertReport {
        src_dir: src_dir.to_path_buf(),
        dst_file: dst_file.to_path_buf(),
        quant,
        model_type: hp.model_type(),
        hparams: hp,
        ct2_variables: model.vars.len(),
        tensors_written: n_tensors,
        vocab_tokens: vocab.len(),
        bytes_written: n_bytes,
    })
}

/// Read the model dimensions from the variable shapes (CT2's `config.json` has none).
fn hparams(m: &Ct2Model) -> Result<Hparams, ConvertError> {
    let shape = |name: &str, rank: usize| -> Result<Vec<usize>, ConvertError> {
        let v = m.var(name)?;
        if v.shape.len() != rank {
            return Err(ConvertError::BadCt2 {
                path: m.path.clone(),
                reason: format!("{name} has shape {:?}, expected rank {rank}", v.shape),
            });
        }
        Ok(v.shape.clone())
    };
    let layers = |prefix: &str| {
        (0..)
            .take_while(|i| {
                m.vars
                    .contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
            })
            .count() as i32
    };
    let conv1 = shape("encoder/conv1/weight", 3)?;
    let enc_pos = shape("encoder/position_encodings/encodings", 2)?;
    let dec_pos = shape("decoder/position_encodings/encodings", 2)?;
    let emb = shape("decoder/embeddings/weight", 2)?;
    let n_audio_state = conv1[0] as i32;
    let n_text_state = emb[1] as i32;
    // Every Whisper size uses 64-dimensional heads; the stored count wins when present.
    let heads = |name: &str, state: i32| m.scalar_int(name).map_or(state / 64, |h| h as i32);
    let hp = Hparams {
        n_vocab: emb[0] as i32,
        n_audio_ctx: enc_pos[0] as i32,
        n_audio_state,
        n_audio_head: heads("encoder/num_heads", n_audio_state),
        n_audio_layer: layers("encoder"),
        n_text_ctx: dec_pos[0] as i32,
        n_text_state,
        n_text_head: heads("decoder/num_heads", n_text_state),
        n_text_layer: layers("decoder"),
        n_mels: conv1[1] as i32,
    };
    let bad = |reason: String| ConvertError::BadCt2 {
        path: m.path.clone(),
        reason,
    };
    if hp.n_audio_state != hp.n_text_state {
        return Err(bad(format!(
            "encoder width {} differs from decoder width {} (whisper.cpp needs them equal)",
            hp.n_audio_state, hp.n_text_state
        )));
    }
    if hp.n_audio_layer == 0 || hp.n_text_layer == 0 {
        return Err(bad("no encoder or decoder layers found".into()));
    }
    if enc_pos[1] as i32 != n_audio_state || dec_pos[1] as i32 != n_text_state {
        return Err(bad(
            "positional encodings do not match the model width".into()
        ));
    }
    Ok(hp)
}

/// How a tensor is stored in the ggml file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// 2-D weight: f16 or quantised.
    Matrix,
    /// Convolution weight: f16 (whisper.cpp's conv kernels need it).
    Conv,
    /// Biases, norms, positional embeddings: f32.
    F32,
}

/// One output tensor: which CT2 variable, which rows of it, and its ggml shape.
struct TensorSpec {
    name: String,
    src: String,
    /// Row range of the source (for the split fused projections); None = all.
    rows: Option<(usize, usize)>,
    /// ggml dimensions (innermost first).
    ne: Vec<usize>,
    kind: Kind,
}

impl TensorSpec {
    fn load(&self, m: &Ct2Model) -> Result<Vec<f32>, ConvertError> {
        let v = m.var(&self.src)?;
        let all = m.f32(&self.src)?;
        let Some((r0, r1)) = self.rows else {
            return Ok(all);
        };
        let cols = v.numel() / v.shape[0];
        Ok(all[r0 * cols..r1 * cols].to_vec())
    }
    fn out_type(&self, q: Quant) -> GgmlType {
        match self.kind {
            Kind::Matrix => q.matrix_type(),
            Kind::Conv => GgmlType::F16,
            Kind::F32 => GgmlType::F32,
        }
    }
}

/// Builds the list of output tensors, checking each source variable exists.
struct Planner<'m> {
    m: &'m Ct2Model,
    plan: Vec<TensorSpec>,
}

impl Planner<'_> {
    fn add(
        &mut self,
        name: String,
        src: String,
        rows: Option<(usize, usize)>,
        kind: Kind,
    ) -> Result<(), ConvertError> {
        let mut shape = self.m.var(&src)?.shape.clone();
        if let Some((r0, r1)) = rows {
            if shape.is_empty() || r1 > shape[0] {
                return Err(ConvertError::BadCt2 {
                    path: self.m.path.clone(),
                    reason: format!("{src} has shape {shape:?}, need {r1} rows"),
                });
            }
            shape[0] = r1 - r0;
        }
        // Conv biases are (n, 1) in whisper.cpp.
        if name.starts_with("encoder.conv") && name.ends_with(".bias") {
            shape.push(1);
        }
        shape.reverse();
        self.plan.push(TensorSpec {
            name,
            src,
            rows,
            ne: shape,
            kind,
        });
        Ok(())
    }

    /// A linear layer: weight (matrix) and, unless dropped, bias (f32); `rows` picks a slice of
    /// a fused projection.
    fn linear(
        &mut self,
        dst: &str,
        src: &str,
        rows: Option<(usize, usize)>,
        bias: bool,
    ) -> Result<(), ConvertError> {
        self.add(
            format!("{dst}.weight"),
            format!("{src}/weight"),
            rows,
            Kind::Matrix,
        )?;
        if bias {
            self.add(
                format!("{dst}.bias"),
                format!("{src}/bias"),
                rows,
                Kind::F32,
            )?;
        }
        Ok(())
    }

    fn norm(&mut self, dst: &str, src: &str) -> Result<(), ConvertError> {
        self.add(
            format!("{dst}.weight"),
            format!("{src}/gamma"),
            None,
            Kind::F32,
        )?;
        self.add(
            format!("{dst}.bias"),
            format!("{src}/beta"),
            None,
            Kind::F32,
        )
    }

    fn self_attention(&mut self, o: &str, s: &str, d: usize) -> Result<(), ConvertError> {
        self.norm(
            &format!("{o}.attn_ln"),
            &format!("{s}/self_attention/layer_norm"),
        )?;
        let a = format!("{s}/self_attention/linear_0");
        // Fused q/k/v: rows [0,d) query, [d,2d) key (no bias in whisper.cpp), [2d,3d) value.
        self.linear(&format!("{o}.attn.query"), &a, Some((0, d)), true)?;
        self.linear(&format!("{o}.attn.key"), &a, Some((d, 2 * d)), false)?;
        self.linear(&format!("{o}.attn.value"), &a, Some((2 * d, 3 * d)), true)?;
        self.linear(
            &format!("{o}.attn.out"),
            &format!("{s}/self_attention/linear_1"),
            None,
            true,
        )
    }

    fn cross_attention(&mut self, o: &str, s: &str, d: usize) -> Result<(), ConvertError> {
        self.norm(
            &format!("{o}.cross_attn_ln"),
            &format!("{s}/attention/layer_norm"),
        )?;
        let a = format!("{s}/attention");
        self.linear(
            &format!("{o}.cross_attn.query"),
            &format!("{a}/linear_0"),
            None,
            true,
        )?;
        // Fused key/value; the key half of the bias is dropped (see the module note).
        let kv = format!("{a}/linear_1");
        self.linear(&format!("{o}.cross_attn.key"), &kv, Some((0, d)), false)?;
        self.linear(
            &format!("{o}.cross_attn.value"),
            &kv,
            Some((d, 2 * d)),
            true,
        )?;
        self.linear(
            &format!("{o}.cross_attn.out"),
            &format!("{a}/linear_2"),
            None,
            true,
        )
    }

    fn ffn(&mut self, o: &str, s: &str) -> Result<(), ConvertError> {
        self.norm(&format!("{o}.mlp_ln"), &format!("{s}/ffn/layer_norm"))?;
        self.linear(
            &format!("{o}.mlp.0"),
            &format!("{s}/ffn/linear_0"),
            None,
            true,
        )?;
        self.linear(
            &format!("{o}.mlp.2"),
            &format!("{s}/ffn/linear_1"),
            None,
            true,
        )
    }
}

/// The full list of tensors whisper.cpp expects, mapped to CT2 variables.
fn tensor_plan(m: &Ct2Model, hp: &Hparams) -> Result<Vec<TensorSpec>, ConvertError> {
    let mut p = Planner {
        m,
        plan: Vec::new(),
    };
    let d = hp.n_audio_state as usize;
    p.add(
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings".into(),
        None,
        Kind::F32,
    )?;
    for c in ["conv1", "conv2"] {
        p.add(
            format!("encoder.{c}.weight"),
            format!("encoder/{c}/weight"),
            None,
            Kind::Conv,
        )?;
        p.add(
            format!("encoder.{c}.bias"),
            format!("encoder/{c}/bias"),
            None,
            Kind::F32,
        )?;
    }
    for i in 0..hp.n_audio_layer {
        let (o, s) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        p.self_attention(&o, &s, d)?;
        p.ffn(&o, &s)?;
    }
    p.norm("encoder.ln_post", "encoder/layer_norm")?;
    p.add(
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings".into(),
        None,
        Kind::F32,
    )?;
    p.add(
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight".into(),
        None,
        Kind::Matrix,
    )?;
    for i in 0..hp.n_text_layer {
        let (o, s) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        p.self_attention(&o, &s, d)?;
        p.cross_attention(&o, &s, d)?;
        p.ffn(&o, &s)?;
    }
    p.norm("decoder.ln", "decoder/layer_norm")?;
    Ok(p.plan)
}

/// Encode one tensor's values in its output type.
fn encode(spec: &TensorSpec, data: &[f32], q: Quant, src: &Path) -> Result<Vec<u8>, ConvertError> {
    let t = spec.out_type(q);
    match t {
        GgmlType::F32 => Ok(data.iter().flat_map(|x| x.to_le_bytes()).collect()),
        GgmlType::F16 => Ok(data
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect()),
        GgmlType::Q8_0 | GgmlType::Q5_0 | GgmlType::Q4_0 => {
            let n_per_row = spec.ne[0];
            let block = t.block_size();
            if !n_per_row.is_multiple_of(block) {
                return Err(ConvertError::BadCt2 {
                    path: src.to_path_buf(),
                    reason: format!(
                        "{}: row length {n_per_row} is not a multiple of {block}, cannot quantise to {q}",
                        spec.src
                    ),
                });
            }
            Ok(ggml::quantize(t, data, n_per_row))
        }
    }
}

/// Whisper's tokens as raw bytes, in id order, up to (not including) the first special token.
fn read_vocabulary(dir: &Path) -> Result<Vec<Vec<u8>>, ConvertError> {
    let json = dir.join("vocabulary.json");
    let txt = dir.join("vocabulary.txt");
    let (path, tokens): (PathBuf, Vec<String>) = if json.exists() {
        let s = std::fs::read_to_string(&json).map_err(|e| ConvertError::Io {
            path: json.clone(),
            source: e,
        })?;
        let v: Vec<String> = serde_json::from_str(&s).map_err(|e| ConvertError::BadVocab {
            path: json.clone(),
            reason: format!("expected a JSON array of strings: {e}"),
        })?;
        (json, v)
    } else {
        let s = std::fs::read_to_string(&txt).map_err(|e| ConvertError::Io {
            path: txt.clone(),
            source: e,
        })?;
        (txt, s.lines().map(str::to_string).collect())
    };
    let unicode_to_byte = gpt2_unicode_to_byte();
    let mut out = Vec::new();
    for (id, tok) in tokens.iter().enumerate() {
        if tok == "<|endoftext|>" {
            return Ok(out);
        }
        let mut bytes = Vec::with_capacity(tok.len());
        for ch in tok.chars() {
            let b = unicode_to_byte
                .get(&ch)
                .ok_or_else(|| ConvertError::BadVocab {
                    path: path.clone(),
                    reason: format!("token {id} {tok:?} has character {ch:?} outside the byte map"),
                })?;
            bytes.push(*b);
        }
        out.push(bytes);
    }
    Err(ConvertError::BadVocab {
        path,
        reason: "no <|endoftext|> token: cannot tell regular from special tokens".into(),
    })
}

/// Inverse of GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to
/// U+0100 onwards in byte order.
fn gpt2_unicode_to_byte() -> std::collections::HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = std::collections::HashMap::with_capacity(256);
    let mut n = 0u32;
    for b in 0..=255u8 {
        let ch = if printable(b) {
            char::from(b)
        } else {
            n += 1;
            char::from_u32(255 + n).expect("valid code point")
        };
        map.insert(ch, b);
    }
    map
}

/// Frequency bins of a 400-point FFT (n_fft / 2 + 1).
pub const N_FREQ: usize = 201;

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels)` with the default Slaney mel scale and
/// Slaney area normalisation: what Whisper's `mel_filters.npz` holds. Row-major n_mels × 201.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    const SR: f64 = 16_000.0;
    let hz_to_mel = |f: f64| {
        let f_sp = 200.0 / 3.0;
        let (min_log_hz, min_log_mel) = (1000.0, 1000.0 / f_sp);
        let logstep = 6.4f64.ln() / 27.0;
        if f >= min_log_hz {
            min_log_mel + (f / min_log_hz).ln() / logstep
        } else {
            f / f_sp
        }
    };
    let mel_to_hz = |m: f64| {
        let f_sp = 200.0 / 3.0;
        let (min_log_hz, min_log_mel) = (1000.0, 1000.0 / f_sp);
        let logstep = 6.4f64.ln() / 27.0;
        if m >= min_log_mel {
            min_log_hz * (logstep * (m - min_log_mel)).exp()
        } else {
            f_sp * m
        }
    };
    let fft_freqs: Vec<f64> = (0..N_FREQ)
        .map(|i| i as f64 * (SR / 2.0) / (N_FREQ - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SR / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut w = vec![0f32; n_mels * N_FREQ];
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
            let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
            w[i * N_FREQ + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filters_match_whisper_values() {
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * N_FREQ);
        // Whisper's mel_filters.npz, mel_80: row 0 = [0, 0.02486259, 0.001990...].
        assert_eq!(f[0], 0.0);
        assert!((f[1] - 0.024_862_59).abs() < 1e-7, "{}", f[1]);
        // Every filter has some weight, and the last bin (8 kHz) is outside all filters.
        for r in 0..80 {
            assert!(f[r * N_FREQ..(r + 1) * N_FREQ].iter().any(|&x| x > 0.0));
        }
        assert!((0..80).all(|r| f[r * N_FREQ + 200] == 0.0));
        assert_eq!(mel_filters(128).len(), 128 * N_FREQ);
    }

    #[test]
    fn gpt2_byte_map_is_a_bijection() {
        let m = gpt2_unicode_to_byte();
        assert_eq!(m.len(), 256);
        assert_eq!(m[&'!'], b'!');
        assert_eq!(m[&'Ġ'], b' '); // U+0120 is the space byte
        assert_eq!(m[&'Ċ'], b'\n');
        let mut seen: Vec<u8> = m.values().copied().collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn quant_header_ftype_matches_whisper_cpp() {
        assert_eq!(Quant::F16.header_ftype(), 1);
        assert_eq!(Quant::Q8_0.header_ftype(), 2007);
        assert_eq!(Quant::Q5_0.header_ftype(), 2008);
    }
}
