//! Call-level classifier features for the scorecards: per role, head and label the maximum
//! and mean probability over the role's utterances, the utterance behind each maximum
//! (evidence a reviewer can jump to), and the customer's emotion at the start and the end of the
//! call (was an upset customer calmed down?).
//!
//! Only the heads that were trained for a role are aggregated for it: attitude for the agent,
//! emotion and intent for the customer; `mixed` (mono, role unknown) gets all three.

use super::{ATTITUDE, EMOTION, INTENT};
use crate::record::{CallClassification, Role, Utterance};
use std::collections::BTreeMap;

/// Heads aggregated for `role`.
pub fn heads_for(role: Role) -> &'static [&'static str] {
    match role {
        Role::Agent => &[ATTITUDE.name],
        Role::Customer => &[EMOTION.name, INTENT.name],
        Role::Mixed => &[ATTITUDE.name, EMOTION.name, INTENT.name],
    }
}

/// Aggregate the `scores` of `utts` (in call order). Utterances without scores are skipped.
pub fn call_features(utts: &[Utterance]) -> CallClassification {
    let mut out = CallClassification::default();
    // (role, head, label) → (sum, count)
    let mut sums: BTreeMap<(&str, &str, &str), (f64, usize)> = BTreeMap::new();
    for u in utts {
        let role = u.role.as_str();
        for head in heads_for(u.role) {
            let Some(probs) = u.scores.get(*head) else {
                continue;
            };
            for (label, &p) in probs {
                let e = sums.entry((role, head, label)).or_insert((0.0, 0));
                e.0 += p;
                e.1 += 1;
                let max = out
                    .max
                    .entry(role.to_string())
                    .or_default()
                    .entry(head.to_string())
                    .or_default();
                // Strictly greater: the first utterance reaching the maximum is the evidence.
                if max.get(label).is_none_or(|&m| p > m) {
                    max.insert(label.clone(), p);
                    out.evidence.insert(format!("{role}/{head}/{label}"), u.id);
                }
            }
        }
    }
    for ((role, head, label), (sum, n)) in sums {
        out.mean
            .entry(role.to_string())
            .or_default()
            .entry(head.to_string())
            .or_default()
            .insert(label.to_string(), sum / n as f64);
    }
    let customer: Vec<&BTreeMap<String, f64>> = utts
        .iter()
        .filter(|u| u.role == Role::Customer)
        .filter_map(|u| u.scores.get(EMOTION.name))
        .collect();
    if !customer.is_empty() {
        // A third of the customer's scored utterances, at least one, from each end.
        let k = customer.len().div_ceil(3);
        out.customer_emotion_start = mean_of(&customer[..k]);
        out.customer_emotion_end = mean_of(&customer[customer.len() - k..]);
    }
    out
}

fn mean_of(rows: &[&BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        for (l, &p) in r.iter() {
            *m.entry(l.clone()).or_default() += p / rows.len() as f64;
        }
    }
    m
}

/// Stereo channels that read as swapped: per channel, the role head's P(agent) averaged over
/// the channel's utterances weighted by their Han characters. Returns (agent channel, customer
/// channel) means when the customer channel reads as the agent by at least `SWAP_MARGIN`, with
/// at least 3 classified utterances a side; None otherwise.
///
/// Why: a site whose left/right mapping is wrong (a PBX change, a metadata row) would have every
/// verdict of its calls pinned on the wrong party. On the call benchmark's 38 stereo dev calls
/// the agent channel always reads more like the agent (the smallest lead is 0.20), so a reversed
/// lead of 0.3 is a wiring question for a person, not a verdict.
pub fn swapped_channels(utts: &[Utterance]) -> Option<(f64, f64)> {
    let mut acc = [(0.0, 0.0, 0usize); 2]; // (Σ n·p, Σ n, utterances) for agent, customer
    for u in utts {
        let side = match u.role {
            Role::Agent => 0,
            Role::Customer => 1,
            Role::Mixed => continue,
        };
        let Some(p) = u.p_agent() else {
            continue;
        };
        let n = u
            .text
            .chars()
            .filter(|&c| crate::asr::text::is_han(c))
            .count() as f64;
        if n == 0.0 {
            continue;
        }
        acc[side].0 += n * p;
        acc[side].1 += n;
        acc[side].2 += 1;
    }
    if acc.iter().any(|a| a.2 < 3) {
        return None;
    }
    let (a, c) = (acc[0].0 / acc[0].1, acc[1].0 / acc[1].1);
    (c - a >= SWAP_MARGIN).then_some((a, c))
}

/// How much more agent-like the customer channel must read to be reported as swapped.
pub const SWAP_MARGIN: f64 = 0.3;

#[cfg(test)]
mod tests {
    use super::*;

    fn utt(id: usize, role: Role, head: &str, probs: &[(&str, f64)]) -> Utterance {
        let mut u = Utterance {
            id,
            role,
            text: format!("u{id}"),
            ..Default::default()
        };
        u.scores.insert(
            head.to_string(),
            probs.iter().map(|(l, p)| (l.to_string(), *p)).collect(),
        );
        u
    }

    #[test]
    fn empty_call_has_no_features() {
        assert_eq!(call_features(&[]), CallClassification::default());
    }

    #[test]
    fn heads_not_trained_for_a_role_are_ignored() {
        // An agent utterance carrying emotion scores contributes nothing.
        let u = utt(0, Role::Agent, "emotion", &[("angry", 0.9)]);
        assert_eq!(call_features(&[u]), CallClassification::default());
    }

    #[test]
    fn channels_that_read_as_the_other_party_are_reported() {
        let side = |role: Role, ps: &[f64]| -> Vec<Utterance> {
            ps.iter()
                .enumerate()
                .map(|(i, &p)| {
                    let mut u = utt(i, role, "role", &[("agent", p), ("customer", 1.0 - p)]);
                    u.text = "好的明白".repeat(i + 1); // 4, 8, 12 Han characters
                    u
                })
                .collect()
        };
        let swapped = [
            side(Role::Agent, &[0.2, 0.1, 0.3]),
            side(Role::Customer, &[0.9; 3]),
        ];
        let (a, c) = swapped_channels(&swapped.concat()).unwrap();
        // Weighted by characters: (4·0.2 + 8·0.1 + 12·0.3) / 24.
        assert!(
            (a - 5.2 / 24.0).abs() < 1e-9 && (c - 0.9).abs() < 1e-9,
            "{a} {c}"
        );
        // The usual order, a lead under the margin, or too few lines: nothing to say.
        let right = [
            side(Role::Agent, &[0.9; 3]),
            side(Role::Customer, &[0.2; 3]),
        ];
        assert_eq!(swapped_channels(&right.concat()), None);
        let close = [
            side(Role::Agent, &[0.5; 3]),
            side(Role::Customer, &[0.75; 3]),
        ];
        assert_eq!(swapped_channels(&close.concat()), None);
        let few = [
            side(Role::Agent, &[0.1; 2]),
            side(Role::Customer, &[0.9; 3]),
        ];
        assert_eq!(swapped_channels(&few.concat()), None);
    }
}
