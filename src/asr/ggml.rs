//! The whisper.cpp ggml model file: header layout, tensor types, quantisation through ggml
//! itself, and an index reader (used to check converted files and to describe a model that a
//! site brings).

use super::convert::ConvertError;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use whisper_rs::whisper_rs_sys as sys;

/// "ggml" as the little-endian i32 at the start of the file.
pub const MAGIC: i32 = 0x6767_6d6c;

/// Model dimensions, in the order of the file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
}

impl Hparams {
    pub fn as_array(&self) -> [i32; 10] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
        ]
    }
    /// The size name whisper.cpp derives from the layer count.
    pub fn model_type(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 if self.n_vocab == 51866 => "large v3",
            32 => "large",
            _ => "unknown",
        }
    }
}

/// The ggml tensor types a Whisper file uses (`enum ggml_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q5_0 = 6,
    Q8_0 = 8,
}

impl GgmlType {
    pub fn from_id(id: i32) -> Option<GgmlType> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            6 => GgmlType::Q5_0,
            8 => GgmlType::Q8_0,
            _ => return None,
        })
    }
    fn sys(self) -> sys::ggml_type {
        self as sys::ggml_type
    }
    /// Values per block (1 for the float types).
    pub fn block_size(self) -> usize {
        // SAFETY: pure lookup in ggml's static type-traits table.
        unsafe { sys::ggml_blck_size(self.sys()) as usize }
    }
    /// Bytes of one row of `n` values.
    pub fn row_bytes(self, n: usize) -> usize {
        // SAFETY: pure arithmetic on ggml's static type-traits table.
        unsafe { sys::ggml_row_size(self.sys(), n as i64) }
    }
}

/// Quantise row-major `data` (rows of `n_per_row` values) to `t` with ggml's own
/// `ggml_quantize_chunk`, exactly what whisper.cpp's `quantize` tool does.
pub fn quantize(t: GgmlType, data: &[f32], n_per_row: usize) -> Vec<u8> {
    assert!(n_per_row > 0 && data.len().is_multiple_of(n_per_row));
    assert_eq!(n_per_row % t.block_size(), 0);
    let nrows = data.len() / n_per_row;
    let mut out = vec![0u8; nrows * t.row_bytes(n_per_row)];
    // SAFETY: `data` holds nrows × n_per_row f32 values; `out` is sized by ggml_row_size for
    // the same shape; the types used here need no importance matrix (null is allowed).
    let written = unsafe {
        sys::ggml_quantize_chunk(
            t.sys(),
            data.as_ptr(),
            out.as_mut_ptr().cast(),
            0,
            nrows as i64,
            n_per_row as i64,
            std::ptr::null(),
        )
    };
    assert_eq!(
        written,
        out.len(),
        "ggml_quantize_chunk wrote an unexpected size"
    );
    out
}

/// Index entry of one tensor in a ggml file.
#[derive(Debug, Clone)]
pub struct GgmlTensor {
    pub name: String,
    /// Dimensions, innermost first.
    pub ne: Vec<usize>,
    pub ttype: GgmlType,
    pub offset: u64,
    pub nbytes: usize,
}

/// A ggml Whisper file's header and tensor index.
#[derive(Debug)]
pub struct GgmlFile {
    pub path: PathBuf,
    pub hparams: Hparams,
    /// The raw `ftype` field (e.g. 1 for f16, 2007 for q8_0).
    pub ftype: i32,
    pub n_mel: usize,
    pub n_fft: usize,
    pub mel_filters: Vec<f32>,
    pub vocab: Vec<Vec<u8>>,
    pub tensors: Vec<GgmlTensor>,
}

impl GgmlFile {
    /// Read the header, mel filters, vocabulary and tensor index of `path`.
    pub fn open(path: &Path) -> Result<GgmlFile, ConvertError> {
        let bad = |reason: String| ConvertError::BadGgml {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(|e| ConvertError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut r = BufReader::new(file);
        let i32_ = |r: &mut BufReader<File>, what: &str| -> Result<i32, ConvertError> {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)
                .map_err(|_| bad(format!("truncated while reading {what}")))?;
            Ok(i32::from_le_bytes(b))
        };
        if i32_(&mut r, "magic")? != MAGIC {
            return Err(bad("bad magic (not a ggml file)".into()));
        }
        let mut h = [0i32; 10];
        for v in h.iter_mut() {
            *v = i32_(&mut r, "header")?;
        }
        let hparams = Hparams {
            n_vocab: h[0],
            n_audio_ctx: h[1],
            n_audio_state: h[2],
            n_audio_head: h[3],
            n_audio_layer: h[4],
            n_text_ctx: h[5],
            n_text_state: h[6],
            n_text_head: h[7],
            n_text_layer: h[8],
            n_mels: h[9],
        };
        let ftype = i32_(&mut r, "ftype")?;
        let n_mel = i32_(&mut r, "mel count")? as usize;
        let n_fft = i32_(&mut r, "fft size")? as usize;
        if n_mel > 512 || n_fft > 4096 {
            return Err(bad(format!(
                "implausible mel filter shape {n_mel} × {n_fft}"
            )));
        }
        let mut fb = vec![0u8; n_mel * n_fft * 4];
        r.read_exact(&mut fb)
            .map_err(|_| bad("truncated mel filters".into()))?;
        let mel_filters = fb
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let n_vocab = i32_(&mut r, "vocabulary size")?;
        if !(0..=1_000_000).contains(&n_vocab) {
            return Err(bad(format!("implausible vocabulary size {n_vocab}")));
        }
        let mut vocab = Vec::with_capacity(n_vocab as usize);
        for _ in 0..n_vocab {
            let n = i32_(&mut r, "token length")? as usize;
            let mut t = vec![0u8; n];
            r.read_exact(&mut t)
                .map_err(|_| bad("truncated vocabulary".into()))?;
            vocab.push(t);
        }
        let mut tensors = Vec::new();
        let mut pos = r
            .stream_position()
            .map_err(|e| bad(format!("seek failed: {e}")))?;
        while pos < len {
            let n_dims = i32_(&mut r, "tensor rank")?;
            let name_len = i32_(&mut r, "tensor name length")?;
            let tid = i32_(&mut r, "tensor type")?;
            if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
                return Err(bad(format!("corrupt tensor header at byte {pos}")));
            }
            let ttype =
                GgmlType::from_id(tid).ok_or_else(|| bad(format!("unknown tensor type {tid}")))?;
            let mut ne = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                ne.push(i32_(&mut r, "tensor dimension")? as usize);
            }
            let mut nb = vec![0u8; name_len as usize];
            r.read_exact(&mut nb)
                .map_err(|_| bad("truncated tensor name".into()))?;
            let name = String::from_utf8_lossy(&nb).into_owned();
            let rows: usize = ne[1..].iter().product();
            let nbytes = rows * ttype.row_bytes(ne[0]);
            let offset = pos + 12 + 4 * n_dims as u64 + name_len as u64;
            if offset + nbytes as u64 > len {
                return Err(bad(format!("tensor {name} runs past the end of the file")));
            }
            r.seek(SeekFrom::Start(offset + nbytes as u64))
                .map_err(|e| bad(format!("seek failed: {e}")))?;
            pos = offset + nbytes as u64;
            tensors.push(GgmlTensor {
                name,
                ne,
                ttype,
                offset,
                nbytes,
            });
        }
        Ok(GgmlFile {
            path: path.to_path_buf(),
            hparams,
            ftype,
            n_mel,
            n_fft,
            mel_filters,
            vocab,
            tensors,
        })
    }

    pub fn tensor(&self, name: &str) -> Option<&GgmlTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Raw bytes of a tensor.
    pub fn raw(&self, t: &GgmlTensor) -> Result<Vec<u8>, ConvertError> {
        use std::os::unix::fs::FileExt;
        let io = |e| ConvertError::Io {
            path: self.path.clone(),
            source: e,
        };
        let f = File::open(&self.path).map_err(io)?;
        let mut b = vec![0u8; t.nbytes];
        f.read_exact_at(&mut b, t.offset).map_err(io)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ggml_quantiser_is_linked_and_q8_0_round_trips() {
        // 2 rows of 64 values: 4 q8_0 blocks of 34 bytes (f16 scale + 32 int8).
        let data: Vec<f32> = (0..128).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
        assert_eq!(GgmlType::Q8_0.block_size(), 32);
        assert_eq!(GgmlType::Q8_0.row_bytes(64), 68);
        let q = quantize(GgmlType::Q8_0, &data, 64);
        assert_eq!(q.len(), 4 * 34);
        for (b, chunk) in q.chunks_exact(34).zip(data.chunks_exact(32)) {
            let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            let amax = chunk.iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                (d - amax / 127.0).abs() < 1e-3,
                "scale {d} vs {}",
                amax / 127.0
            );
            for (j, &x) in chunk.iter().enumerate() {
                let y = d * (b[2 + j] as i8) as f32;
                // Half a step, plus the f16 rounding of the scale times |q| <= 127.
                assert!((x - y).abs() <= d * (0.5 + 127.0 / 2048.0), "{x} vs {y}");
            }
        }
    }
}
