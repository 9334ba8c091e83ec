//! How far an utterance's recognised text can be trusted as classifier input, and the
//! fall-back towards each head's neutral label when it cannot.
//!
//! Why: the heads were trained on sentences; a garbled recognition (「佩尼佳佳佳」, 「寻求您。」)
//! is out of their distribution and can land anywhere, often with a confident "rude". What the
//! recogniser and the text themselves say about that is cheap to read: Whisper's mean token
//! log-probability, a speaking rate no person has, very short text, and characters that form no
//! word (jieba leaves them as single characters that are not common function words) or repeat.
//! Each lowers a weight `w` in (0, 1]; probabilities become `w·p + (1 − w)·neutral`, so such a
//! line can no longer reach a deduction threshold on its own.

use super::{Scores, HEADS};
use crate::record::Utterance;

/// Single-character words that are ordinary in speech (not a sign of garbling).
const COMMON_SINGLE: &str = "的了我你您他她它们吗呢吧啊呀哦嗯哈是在有不也就都还要会能和把被给让这那哪谁么个对好说看想去来到从跟很太又再才没别请帮查等问叫给点下上里多少几号元块天月年钱卡";

/// Trust in `u`'s text, in (0, 1]; 1 for a normal sentence. Each factor is documented inline.
pub fn text_reliability(u: &Utterance) -> f64 {
    let han: Vec<char> = u
        .text
        .chars()
        .filter(|&c| crate::asr::text::is_han(c))
        .collect();
    let n = han.len();
    if n == 0 {
        return 1.0; // digits or Latin only: nothing the heads read as tone either way
    }
    // Whisper's mean log-probability: ≥ −0.7 is a confident decode, −1.5 a guess (0 = unknown).
    let lp = if u.avg_logprob < 0.0 {
        ramp(u.avg_logprob, -1.5, -0.7, 0.25)
    } else {
        1.0
    };
    // Characters per minute: Mandarin on a service line runs 120–420; under 60 or over 600
    // means the text does not match the audio (0 = unknown).
    let cpm = u.chars_per_min;
    let rate = if cpm <= 0.0 {
        1.0
    } else if cpm < 120.0 {
        ramp(cpm, 60.0, 120.0, 0.5)
    } else {
        ramp(-cpm, -600.0, -420.0, 0.5)
    };
    // Very short text carries little tone and is where mis-recognitions concentrate.
    let short = match n {
        1 | 2 => 0.5,
        3 => 0.6,
        4 => 0.75,
        5 => 0.9,
        _ => 1.0,
    };
    let odd = odd_char_share(u, n);
    let garble = 1.0 - 0.7 * ((odd - 0.2) / 0.4).clamp(0.0, 1.0);
    (lp * rate * short * garble).clamp(0.05, 1.0)
}

/// Share of Han characters that jieba leaves as uncommon single characters, or that repeat the
/// character before them (「佳佳佳」).
fn odd_char_share(u: &Utterance, n: usize) -> f64 {
    let owned;
    let tokens: &[String] = if u.tokens.is_empty() {
        owned = crate::text::tokenize(&u.text);
        &owned
    } else {
        &u.tokens
    };
    let mut odd = 0usize;
    for t in tokens {
        let mut cs = t.chars();
        if let (Some(c), None) = (cs.next(), cs.next()) {
            if crate::asr::text::is_han(c) && !COMMON_SINGLE.contains(c) {
                odd += 1;
            }
        }
    }
    let han: Vec<char> = u
        .text
        .chars()
        .filter(|&c| crate::asr::text::is_han(c))
        .collect();
    let repeats = han.windows(2).filter(|w| w[0] == w[1]).count();
    ((odd + repeats) as f64 / n as f64).min(1.0)
}

/// Linear from `floor` at `lo` to 1 at `hi`.
fn ramp(x: f64, lo: f64, hi: f64, floor: f64) -> f64 {
    floor + (1.0 - floor) * ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Move every head's probabilities towards its fall-back ([`super::HeadSpec::neutral`]: the
/// neutral label, or uniform for the role head): `w·p + (1 − w)·neutral`.
pub fn shrink(scores: &mut Scores, w: f64) {
    if w >= 1.0 {
        return;
    }
    for spec in HEADS {
        let Some(m) = scores.get_mut(spec.name) else {
            continue;
        };
        for (l, p) in m.iter_mut() {
            let i = spec.labels.iter().position(|x| x == l).unwrap_or(0);
            let neutral = spec.neutral(i);
            *p = ((w * *p + (1.0 - w) * neutral) * 10_000.0).round() / 10_000.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utt(text: &str, avg_logprob: f64, cpm: f64) -> Utterance {
        Utterance {
            text: text.into(),
            avg_logprob,
            chars_per_min: cpm,
            ..Utterance::default()
        }
    }

    #[test]
    fn garbled_or_unsure_text_is_trusted_less() {
        let ok = utt("好的，我帮您查一下这个订单的物流信息。", -0.35, 260.0);
        assert_eq!(text_reliability(&ok), 1.0);
        // The examples: short nonsense, and a non-word with a repeated character.
        let a = text_reliability(&utt("寻求您。", -0.9, 250.0));
        assert!((a - 0.6 * ramp(-0.9, -1.5, -0.7, 0.25)).abs() < 1e-9, "{a}");
        assert!(a < 0.55, "{a}");
        let b = text_reliability(&utt("佩尼佳佳佳", -0.5, 300.0));
        assert!(b < 0.5, "{b}");
        // A confident decode of a short real reply is only mildly discounted.
        assert_eq!(text_reliability(&utt("你听不懂吗？", -0.3, 240.0)), 0.9);
        // Text far too dense for its time.
        let fast = text_reliability(&utt("好的我帮您查一下这个订单的物流信息", -0.3, 900.0));
        assert_eq!(fast, 0.5);
    }

    #[test]
    fn shrinking_moves_towards_the_neutral_label() {
        let mut s = super::super::default_scores();
        s.get_mut("attitude").unwrap().insert("ok".into(), 0.01);
        s.get_mut("attitude").unwrap().insert("rude".into(), 0.99);
        shrink(&mut s, 0.5);
        assert_eq!(s["attitude"]["rude"], 0.495);
        assert_eq!(s["attitude"]["ok"], 0.505);
        assert_eq!(s["emotion"]["neutral"], 1.0);
        let sum: f64 = s["attitude"].values().sum();
        assert!((sum - 1.0).abs() < 1e-9);
        // The role head has no "nothing wrong" label: it moves towards even odds.
        assert_eq!(s["role"]["agent"], 0.5);
        s.get_mut("role").unwrap().insert("agent".into(), 0.9);
        s.get_mut("role").unwrap().insert("customer".into(), 0.1);
        shrink(&mut s, 0.5);
        assert_eq!(s["role"]["agent"], 0.7);
        assert_eq!(s["role"]["customer"], 0.3);
        // What the mono role guess reads.
        let u = Utterance {
            scores: s.clone(),
            ..Utterance::default()
        };
        assert_eq!(u.p_agent(), Some(0.7));
    }
}
