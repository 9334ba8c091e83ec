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
fn aishell_clips_come_out_with_their_key_words_and_cer_under_the_bound() {
    let dir = models_dir().join("testdata/aishell");
    let r = {
        let _turn = super::common::whisper_turn();
        eval::eval_asr_dir(asr_base(), &dir).unwrap()
    };
    eprintln!("{r}");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.files.len(), 2);
    // Measured with base f16, beam 5: 1/13 (停滞→停止) and 2/13 (城市→尝试), 11.5% overall.
    // The bounds leave room for a build or thread-count difference, not for a regression
    // such as lost characters or traditional output.
    for f in &r.files {
        assert_eq!(f.ref_chars, 13);
        assert!(
            f.edits <= 3,
            "{}: {} edits: {}",
            f.path.display(),
            f.edits,
            f.hypothesis
        );
    }
    assert!(r.cer <= 0.20, "overall CER {}", r.cer);
    let hyp: String = r.files.iter().map(|f| f.hypothesis.as_str()).collect();
    for key in ["甚至出现交易几乎", "的情况", "线城市", "虽然也处于调整中"] {
        assert!(hyp.contains(key), "{key:?} missing from {hyp:?}");
    }
    // 一二线 may come out in digits (「1.2线」 with the encoder sized to the clip): the rules
    // normalise numbers, a lost or invented number is still caught here.
    assert!(hyp.contains("一二线") || hyp.contains("1.2线"), "{hyp:?}");
}

use zhijian::acoustic::{self, VadConfig};
use zhijian::asr::assign_mono_roles;
use zhijian::audio::{decode_file, resample_to, DecodeOptions};
use zhijian::record::{Role, Utterance};

/// Decode, resample, VAD and transcribe every channel of a recording as the pipeline does
/// (channel 0 = agent on stereo; mono gets roles from what is said).
fn transcribe_file(path: &Path) -> SampleRun {
    let d = decode_file(path, &DecodeOptions::default()).unwrap();
    let chans = resample_to(d.channels, d.sample_rate, 16_000).unwrap();
    let mono = chans.len() == 1;
    let mut w = asr_base().worker().unwrap();
    let (mut utts, mut untranscribed, mut spans_all) = (Vec::new(), Vec::new(), Vec::new());
    for (i, ch) in chans.iter().enumerate() {
        let role = match (mono, i) {
            (true, _) => Role::Mixed,
            (false, 0) => Role::Agent,
            _ => Role::Customer,
        };
        let vad = acoustic::detect(ch, &VadConfig::default());
        let spans: Vec<(f64, f64)> = vad.segments.iter().map(|s| (s.start, s.end)).collect();
        let t = w.transcribe_track_checked(ch, &spans, role).unwrap();
        spans_all.extend(spans.iter().map(|&s| (role, s)));
        utts.extend(t.utterances);
        untranscribed.extend(t.untranscribed);
    }
    utts.sort_by(|a, b| a.start.total_cmp(&b.start));
    if mono {
        assign_mono_roles(&mut utts);
    }
    SampleRun {
        labels: serde_json::Value::Null,
        utts,
        dur: chans[0].len() as f64 / 16_000.0,
        stats: w.stats(),
        untranscribed,
        spans: spans_all,
    }
}

struct SampleRun {
    labels: serde_json::Value,
    utts: Vec<Utterance>,
    dur: f64,
    stats: zhijian::asr::AsrStats,
    untranscribed: Vec<zhijian::record::Untranscribed>,
    /// VAD spans per track, with the track's role.
    spans: Vec<(Role, (f64, f64))>,
}

/// The four sample calls transcribed, once per test run.
fn sample_runs() -> &'static Vec<SampleRun> {
    static T: OnceLock<Vec<SampleRun>> = OnceLock::new();
    T.get_or_init(|| {
        let _turn = super::common::whisper_turn();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut out = Vec::new();
        for name in [
            "call01_inbound_good",
            "call02_inbound_bad",
            "call03_outbound_sales",
            "call04_mono_insurance",
        ] {
            let labels: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.join(format!("{name}.labels.json"))).unwrap(),
            )
            .unwrap();
            let mut run = transcribe_file(&dir.join(labels["file"].as_str().unwrap()));
            run.labels = labels;
            out.push(run);
        }
        out
    })
}

/// Transcripts of the four sample calls: (labels, utterances, duration).
fn sample_transcripts() -> &'static Vec<(serde_json::Value, Vec<Utterance>, f64)> {
    static T: OnceLock<Vec<(serde_json::Value, Vec<Utterance>, f64)>> = OnceLock::new();
    T.get_or_init(|| {
        sample_runs()
            .iter()
            .map(|r| (r.labels.clone(), r.utts.clone(), r.dur))
            .collect()
    })
}

#[test]
fn sample_calls_lose_no_speech() {
    for run in sample_runs() {
        let name = run.labels["file"].as_str().unwrap();
        // Every VAD span is under an utterance (of its track) or listed as untranscribed.
        for &(role, (a, b)) in &run.spans {
            let said = run.utts.iter().any(|u| {
                (u.role == role || role == Role::Mixed)
                    && u.start < b
                    && u.end.max(u.start + 0.01) > a
            });
            let listed = run
                .untranscribed
                .iter()
                .any(|g| g.role == role && g.start <= a + 0.001 && g.end >= b - 0.001);
            assert!(
                said || listed,
                "{name}: {role:?} speech {a:.2}–{b:.2} s lost silently"
            );
        }
        eprintln!(
            "{name}: {} untranscribed span(s) {:?}, {} retried, {} dropped, {} of {} decodes \
             were beam redos",
            run.untranscribed.len(),
            run.untranscribed,
            run.stats.retries,
            run.stats.dropped,
            run.stats.beam_redos,
            run.stats.windows
        );
    }
    // The default (adaptive) decoding keeps clear telephone speech greedy: beam search runs
    // again on some windows, not on all of them.
    let (redos, decodes): (usize, usize) = sample_runs()
        .iter()
        .map(|r| (r.stats.beam_redos, r.stats.windows))
        .fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
    assert!(
        redos * 2 < decodes,
        "{redos} beam redos in {decodes} decodes"
    );
    // Every scripted turn of the samples is real speech: nothing is left untranscribed, and
    // each call's last agent turn (the closing) comes through.
    let lost: Vec<_> = sample_runs()
        .iter()
        .flat_map(|r| &r.untranscribed)
        .collect();
    assert!(lost.is_empty(), "{lost:?}");
    let closing = |r: &SampleRun| {
        r.utts
            .iter()
            .rev()
            .find(|u| u.role == Role::Agent)
            .map(|u| zhijian::asr::text::squash(&u.text))
            .unwrap_or_default()
    };
    let runs = sample_runs();
    assert!(closing(&runs[0]).contains("再见"), "{}", closing(&runs[0]));
    assert!(closing(&runs[2]).contains("再见"), "{}", closing(&runs[2]));
}

fn role_of(t: &serde_json::Value) -> Role {
    if t["role"] == "agent" {
        Role::Agent
    } else {
        Role::Customer
    }
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0.0)
}

/// The call's text by role, normalised (simplified, no punctuation).
fn said(u: &[Utterance], role: Role) -> String {
    u.iter()
        .filter(|u| u.role == role)
        .map(|u| zhijian::asr::text::squash(&u.text))
        .collect::<Vec<_>>()
        .join("|")
}

fn has_any(text: &str, alternatives: &[&str]) -> bool {
    alternatives.iter().any(|a| text.contains(a))
}

#[test]
fn sample_calls_have_their_key_phrases_under_the_right_role() {
    let t = sample_transcripts();
    // call01: greeting with staff number (Whisper base writes 工号 as 公号), closing.
    let (a, c) = (said(&t[0].1, Role::Agent), said(&t[0].1, Role::Customer));
    assert!(
        has_any(&a, &["工号1086", "公号1086", "工号一零八六"]),
        "{a}"
    );
    assert!(
        a.contains("很高兴为您服务") && a.contains("有什么可以帮您"),
        "{a}"
    );
    // 来电 has homophones in Whisper base's output (来订, 来变): the rules' pinyin matching
    // and the other closing phrases are built for them.
    assert!(
        has_any(&a, &["感谢您的来电", "感谢您的来订", "感谢您的来变"]) && a.contains("生活愉快"),
        "{a}"
    );
    assert!(c.contains("再见") && !c.contains("工号"), "{c}");
    assert_eq!(
        t[0].1.last().unwrap().role,
        Role::Customer,
        "the customer says goodbye last"
    );
    // call02: the complaint, the agent's bad answers, no staff number in the greeting.
    let (a, c) = (said(&t[1].1, Role::Agent), said(&t[1].1, Role::Customer));
    assert!(
        c.contains("我要投诉你们") && c.contains("第三次") && c.contains("找你们领导"),
        "{c}"
    );
    assert!(
        a.contains("我已经说过了") && a.contains("听不懂") && a.contains("领导不在"),
        "{a}"
    );
    assert!(!has_any(&a, &["工号", "公号"]), "{a}");
    // call03: three refusals, identity check.
    let (a, c) = (said(&t[2].1, Role::Agent), said(&t[2].1, Role::Customer));
    assert!(
        c.matches("不需要").count() >= 2 && c.contains("不用了"),
        "{c}"
    );
    assert!(
        a.contains("王先生本人") && has_any(&a, &["工号", "公号"]),
        "{a}"
    );
    assert!(a.contains("生活愉快"), "{a}");
}

#[test]
fn sample_call_utterances_are_timed_inside_their_turns() {
    for (labels, utts, dur) in sample_transcripts() {
        let name = labels["file"].as_str().unwrap();
        let mono = labels["agent_channel"].is_null();
        let turns: Vec<(Role, f64, f64, usize)> = labels["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    role_of(t),
                    t["start"].as_f64().unwrap(),
                    t["end"].as_f64().unwrap(),
                    t["chars"].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert!(!utts.is_empty(), "{name}");
        for w in utts.windows(2) {
            assert!(w[0].start <= w[1].start, "{name}: not sorted");
        }
        for u in utts {
            assert!(
                0.0 <= u.start && u.start < u.end && u.end <= *dur,
                "{name}: {u:?}"
            );
            assert_eq!(
                u.text,
                zhijian::asr::text::to_simplified(&u.text),
                "{name}: traditional characters"
            );
            assert!(u.id == 0 && u.tokens.is_empty());
            assert!(u.avg_logprob < 0.0 && u.avg_logprob > -3.0, "{name}: {u:?}");
            if u.end - u.start > 1.5 {
                assert!((100.0..=500.0).contains(&u.chars_per_min), "{name}: {u:?}");
            }
            // Each utterance lies on speech of its own party (stereo: exact roles).
            let on_turns: f64 = turns
                .iter()
                .filter(|t| mono || t.0 == u.role)
                .map(|t| overlap((u.start, u.end), (t.1, t.2)))
                .sum();
            assert!(
                on_turns >= 0.6 * (u.end - u.start),
                "{name}: {u:?} is off its party's turns"
            );
        }
        // Nothing said is lost: every turn of 4+ characters has an utterance on it.
        for t in turns.iter().filter(|t| t.3 >= 4) {
            assert!(
                utts.iter().any(|u| (mono || u.role == t.0) && overlap((u.start, u.end), (t.1, t.2)) > 0.3),
                "{name}: turn {t:?} has no utterance"
            );
        }
    }
}

#[test]
fn mono_call_roles_come_from_what_is_said() {
    let (labels, utts, _) = &sample_transcripts()[3];
    assert!(labels["agent_channel"].is_null());
    let turns = labels["turns"].as_array().unwrap();
    let mut right = 0;
    for u in utts {
        let truth = turns
            .iter()
            .max_by(|a, b| {
                let o = |t: &&serde_json::Value| {
                    overlap(
                        (u.start, u.end),
                        (t["start"].as_f64().unwrap(), t["end"].as_f64().unwrap()),
                    )
                };
                o(a).total_cmp(&o(b))
            })
            .map(role_of)
            .unwrap();
        right += usize::from(u.role == truth);
    }
    // Approximate by design; on this call every utterance came out right (13/13).
    assert!(
        right as f64 >= 0.85 * utts.len() as f64,
        "{right}/{} right",
        utts.len()
    );
    assert_eq!(utts[0].role, Role::Agent);
    assert!(has_any(
        &zhijian::asr::text::squash(&utts[0].text),
        &["工号", "公号"]
    ));
}

fn low_noise(n: usize) -> Vec<f32> {
    let mut seed = 12345u64;
    (0..n)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.006 // about -55 dBFS
        })
        .collect()
}

#[test]
fn silence_and_low_noise_produce_no_text() {
    let _turn = super::common::whisper_turn();
    let mut w = asr_base().worker().unwrap();
    let n = 10 * 16_000;
    for (name, x) in [("silence", vec![0f32; n]), ("low noise", low_noise(n))] {
        // As the pipeline runs: the VAD finds nothing, so nothing is transcribed.
        let vad = acoustic::detect(&x, &VadConfig::default());
        let spans: Vec<(f64, f64)> = vad.segments.iter().map(|s| (s.start, s.end)).collect();
        assert!(
            w.transcribe_track(&x, &spans, Role::Agent)
                .unwrap()
                .is_empty(),
            "{name}"
        );
        // Even when told the whole 10 s is speech, the guards (prompt echo, known
        // hallucinations, loops) leave no text: base writes 「…是普通话的句子。」 loops here.
        let before = w.stats().windows;
        let u = w.transcribe_track(&x, &[(0.0, 10.0)], Role::Agent).unwrap();
        assert!(w.stats().windows > before, "{name}: whisper must have run");
        assert!(
            u.is_empty(),
            "{name}: {:?}",
            u.iter().map(|u| &u.text).collect::<Vec<_>>()
        );
    }
}

/// A track's transcript does not depend on what the worker decoded before it. whisper.cpp
/// seeds the temperature fallback's sampler once per decoding state; with one state per worker
/// the same call came out differently depending on its place in the batch (6 of 46 benchmark
/// calls differed between two runs). The noisy benchmark call makes the fallback sample.
#[test]
fn a_track_transcribes_the_same_whatever_the_worker_did_before() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/calls/ci/bench040.wav");
    let d = decode_file(&path, &DecodeOptions::default()).unwrap();
    let chans = resample_to(d.channels, d.sample_rate, 16_000).unwrap();
    let spans = |ch: &[f32]| -> Vec<(f64, f64)> {
        let vad = acoustic::detect(ch, &VadConfig::default());
        vad.segments.iter().map(|s| (s.start, s.end)).collect()
    };
    let (agent, customer) = (&chans[0], &chans[1]);
    let (sa, sc) = (spans(agent), spans(customer));
    let _turn = super::common::whisper_turn();
    let mut w = asr_base().worker().unwrap();
    let first = w.transcribe_track_checked(agent, &sa, Role::Agent).unwrap();
    w.transcribe_track_checked(customer, &sc, Role::Customer)
        .unwrap();
    let again = w.transcribe_track_checked(agent, &sa, Role::Agent).unwrap();
    let text = |t: &zhijian::asr::TrackTranscript| -> Vec<String> {
        t.utterances.iter().map(|u| u.text.clone()).collect()
    };
    assert!(!first.utterances.is_empty());
    assert_eq!(text(&first), text(&again));
    let mut fresh = asr_base().worker().unwrap();
    let alone = fresh
        .transcribe_track_checked(agent, &sa, Role::Agent)
        .unwrap();
    assert_eq!(text(&first), text(&alone));
}
