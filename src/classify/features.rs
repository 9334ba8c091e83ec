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
}
