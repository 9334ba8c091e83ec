//! Speech recognition with the real default model: Whisper base from the registry wheels
//! (`scripts/fetch-models.sh`), converted to ggml by this build's converter once per test run.
//! Checks robust facts (key phrases, CER bounds, timing invariants), never exact Whisper text.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zhijian::asr::convert::{convert_ct2, ConvertReport, Quant};
use zhijian::asr::ct2::Ct2Model;
use zhijian::asr::ggml::{GgmlFile, GgmlType};

pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// The CT2 model fetched by the set-up. Missing means the test command was not run as
/// documented: fail loudly instead of skipping.
pub fn ct2_dir() -> PathBuf {
    let d = models_dir().join("whisper-base-ct2");
    assert!(
        d.join("model.bin").exists(),
        "{} missing: run scripts/fetch-models.sh first (scripts/test.sh does)",
        d.display()
    );
    d
}

struct Converted {
    _dir: tempfile::TempDir,
    path: PathBuf,
    report: ConvertReport,
}

fn converted(q: Quant) -> &'static Converted {
    static F16: OnceLock<Converted> = OnceLock::new();
    static Q8: OnceLock<Converted> = OnceLock::new();
    let cell = match q {
        Quant::F16 => &F16,
        Quant::Q8_0 => &Q8,
        Quant::Q5_0 => unreachable!("not used by the tests"),
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("ggml-base-{q}.bin"));
        let report = convert_ct2(&ct2_dir(), &path, q).unwrap();
        Converted {
            _dir: dir,
            path,
            report,
        }
    })
}

/// The f16 model converted by this build (shared by all ASR tests of the run).
pub fn base_model() -> &'static Path {
    &converted(Quant::F16).path
}

fn f16s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

#[test]
fn converted_header_and_vocabulary_are_whisper_base() {
    let c = converted(Quant::F16);
    let g = GgmlFile::open(&c.path).unwrap();
    let h = g.hparams;
    assert_eq!(
        h.as_array(),
        [51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80],
        "{h:?}"
    );
    assert_eq!(g.ftype, 1);
    assert_eq!(c.report.model_type, "base");
    assert_eq!(c.report.ct2_variables, 214);
    assert_eq!((g.n_mel, g.n_fft), (80, 201));
    assert!((g.mel_filters[1] - 0.024_862_59).abs() < 1e-7);
    // 50,257 regular tokens (ids 0..=50256); whisper.cpp adds the specials.
    assert_eq!(g.vocab.len(), 50257);
    assert_eq!(g.vocab[0], b"!");
    assert_eq!(g.vocab[220], b" ");
    assert!(g.vocab[50256].is_empty());
    // Encoder 1 + 4 + 6×15 + 2, decoder 2 + 6×24 + 2.
    assert_eq!(g.tensors.len(), 245);
    assert_eq!(c.report.tensors_written, 245);
    assert_eq!(
        std::fs::metadata(&c.path).unwrap().len(),
        c.report.bytes_written
    );
    let conv = g.tensor("encoder.conv1.bias").unwrap();
    assert_eq!((conv.ne.clone(), conv.ttype), (vec![1, 512], GgmlType::F32));
    let conv_w = g.tensor("encoder.conv2.weight").unwrap();
    assert_eq!(conv_w.ne, vec![3, 512, 512]);
    assert!(g.tensor("decoder.blocks.0.attn.key.bias").is_none());
}

#[test]
fn converted_tensors_are_the_source_bytes() {
    let c = converted(Quant::F16);
    let g = GgmlFile::open(&c.path).unwrap();
    let m = Ct2Model::open(&ct2_dir().join("model.bin")).unwrap();
    let d = 512usize;
    // The key slice of encoder layer 2's fused q/k/v: rows d..2d, byte for byte.
    let fused = m
        .raw(
            m.var("encoder/layer_2/self_attention/linear_0/weight")
                .unwrap(),
        )
        .unwrap();
    let key = g.tensor("encoder.blocks.2.attn.key.weight").unwrap();
    assert_eq!((key.ne.clone(), key.ttype), (vec![d, d], GgmlType::F16));
    assert_eq!(g.raw(key).unwrap(), fused[d * d * 2..2 * d * d * 2]);
    let value = g.tensor("encoder.blocks.2.attn.value.weight").unwrap();
    assert_eq!(g.raw(value).unwrap(), fused[2 * d * d * 2..3 * d * d * 2]);
    // Cross-attention value bias: second half of the fused k/v bias, widened to f32.
    let kv_bias = f16s(
        &m.raw(m.var("decoder/layer_1/attention/linear_1/bias").unwrap())
            .unwrap(),
    );
    let vb = g.tensor("decoder.blocks.1.cross_attn.value.bias").unwrap();
    assert_eq!(vb.ttype, GgmlType::F32);
    let vb: Vec<f32> = g
        .raw(vb)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(vb, kv_bias[d..]);
    // The token embedding (also the tied output projection) is copied whole.
    let emb = g.tensor("decoder.token_embedding.weight").unwrap();
    assert_eq!(emb.ne, vec![512, 51865]);
    assert_eq!(
        g.raw(emb).unwrap(),
        m.raw(m.var("decoder/embeddings/weight").unwrap()).unwrap()
    );
}

#[test]
fn q8_0_conversion_quantises_matrices_with_ggml() {
    let c = converted(Quant::Q8_0);
    let g = GgmlFile::open(&c.path).unwrap();
    assert_eq!(g.ftype, 2007);
    assert_eq!(g.tensors.len(), 245);
    let f16_size = std::fs::metadata(base_model()).unwrap().len();
    let q8_size = std::fs::metadata(&c.path).unwrap().len();
    assert!(
        (q8_size as f64) < 0.62 * f16_size as f64,
        "q8_0 {q8_size} vs f16 {f16_size}"
    );
    assert_eq!(
        g.tensor("encoder.conv1.weight").unwrap().ttype,
        GgmlType::F16
    );
    assert_eq!(
        g.tensor("encoder.positional_embedding").unwrap().ttype,
        GgmlType::F32
    );
    // Dequantise decoder layer 3's mlp.0 and compare with the f16 source.
    let t = g.tensor("decoder.blocks.3.mlp.0.weight").unwrap();
    assert_eq!((t.ne.clone(), t.ttype), (vec![512, 2048], GgmlType::Q8_0));
    let src = f16s(
        &Ct2Model::open(&ct2_dir().join("model.bin"))
            .and_then(|m| m.raw(m.var("decoder/layer_3/ffn/linear_0/weight")?))
            .unwrap(),
    );
    let q = g.raw(t).unwrap();
    assert_eq!(q.len(), 2048 * 512 / 32 * 34);
    let mut worst = 0f32;
    for (b, x) in q.chunks_exact(34).zip(src.chunks_exact(32)) {
        let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        for j in 0..32 {
            let err = (x[j] - d * (b[2 + j] as i8) as f32).abs();
            // Half a step, plus the f16 rounding of the stored scale times |q| <= 127.
            assert!(err <= d * (0.5 + 127.0 / 2048.0), "err {err} scale {d}");
            worst = worst.max(err);
        }
    }
    assert!(worst > 0.0, "quantisation must change something");
}

use zhijian::asr::{eval, Asr, AsrOptions};

fn asr_base() -> &'static Asr {
    static ASR: OnceLock<Asr> = OnceLock::new();
    ASR.get_or_init(|| {
        let opts = AsrOptions {
            threads: 2,
            ..Default::default()
        };
        Asr::load(base_model(), opts).unwrap()
    })
}

#[test]
fn aishell_clips_come_out_with_their_key_words() {
    let dir = models_dir().join("testdata/aishell");
    let r = eval::eval_asr_dir(asr_base(), &dir).unwrap();
    eprintln!("{r}");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.files.len(), 2);
}
