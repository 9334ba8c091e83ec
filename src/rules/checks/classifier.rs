//! `classifier`: the local text classifier's probabilities (agent attitude, customer emotion,
//! intent) reach a threshold.

use super::{Compiler, Ctx, Evidence, Names, Outcome, Position, RoleFilter};
use crate::record::Utterance;
use serde::Deserialize;

/// Heads of the classifier and their labels, as written in `Utterance::scores`.
pub const HEADS: &[(&str, &[&str])] = &[
    ("attitude", &["ok", "impatient", "rude", "shirking"]),
    ("emotion", &["neutral", "dissatisfied", "angry"]),
    (
        "intent",
        &[
            "inquiry",
            "complaint",
            "cancellation",
            "refund",
            "escalation",
            "praise",
            "other",
        ],
    ),
];

/// Report an unknown head, or labels (the field `label_key`) unknown for the head.
pub fn check_head_labels(cx: &mut Compiler, head: &str, label_key: &str, labels: &[String]) {
    match HEADS.iter().find(|(h, _)| *h == head) {
        None => {
            let known: Vec<&str> = HEADS.iter().map(|(h, _)| *h).collect();
            cx.problem(
                "head",
                format!(
                    "unknown classifier head `{head}` (known: {})",
                    known.join(", ")
                ),
            );
        }
        Some((_, known)) => {
            if labels.is_empty() {
                cx.problem(label_key, "no label given");
            }
            for l in labels {
                if !known.contains(&l.as_str()) {
                    cx.problem(
                        label_key,
                        format!(
                            "unknown label `{l}` for head `{head}` (known: {})",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// Report a probability threshold outside (0, 1].
pub fn check_probability(cx: &mut Compiler, key: &str, p: f64) {
    if !(p > 0.0 && p <= 1.0) {
        cx.problem(
            key,
            format!("{key} must be a probability in (0, 1], got {p}"),
        );
    }
}

/// An utterance's probability for one of `label` under `head` is at least `at_least`.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ScoreAtLeast {
    pub head: String,
    pub label: Names,
    pub at_least: f64,
}

impl ScoreAtLeast {
    /// The most probable of the wanted labels in `u`, or `None` when `u` has no scores for the
    /// head.
    pub fn best(&self, u: &Utterance) -> Option<(String, f64)> {
        best_label(u.scores.get(&self.head)?, &self.label.0)
    }
}

fn best_label(
    scores: &std::collections::BTreeMap<String, f64>,
    labels: &[String],
) -> Option<(String, f64)> {
    labels
        .iter()
        .filter_map(|l| scores.get(l).map(|p| (l.clone(), *p)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

documented! { EXPLAIN,
/// `classifier`: the classifier's probability for a label reaches a threshold.
///
/// ## What it checks
/// Reads `scores[head][label]` of each utterance in scope (`role`, `position`). It hits when at
/// least `times` utterances (default 1) have a probability of at least `at_least` for one of the
/// `label`s; each such utterance is an occurrence with its text as evidence. Heads and labels:
/// `attitude` (ok, impatient, rude, shirking), `emotion` (neutral, dissatisfied, angry),
/// `intent` (inquiry, complaint, cancellation, refund, escalation, praise, other).
///
/// With `sure = P` (above `at_least`) one weak signal is not enough to deduct: the condition
/// hits when the utterances at or above `at_least` are at least `max(times, 2)`, or when one
/// reaches `P`; a lone utterance between `at_least` and `P` makes the answer unknown, so the
/// item goes to review with that utterance as evidence instead of deducting.
///
/// When the utterances carry no scores but the call-level summary does, the summary's maximum
/// for the role is used (no utterance evidence; `times` must then be 1). With no scores at all
/// the answer is unknown and the item goes to review.
///
/// ## Example
/// ```toml
/// # agent rude or impatient at least once
/// when = { kind = "classifier", head = "attitude", label = ["rude", "impatient"], at_least = 0.7, role = "agent" }
/// # one line at 0.7–0.9 is a review hint; two such lines, or one ≥ 0.9, deduct
/// when = { kind = "classifier", head = "attitude", label = "impatient", at_least = 0.7, sure = 0.9, role = "agent" }
/// # customer intends to complain
/// when = { kind = "classifier", head = "intent", label = "complaint", at_least = 0.6, role = "customer" }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    pub head: String,
    pub label: Names,
    pub at_least: f64,
    #[serde(default)]
    pub role: RoleFilter,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(default = "one")]
    pub times: usize,
    #[serde(default)]
    pub sure: Option<f64>,
}
}

fn one() -> usize {
    1
}

impl Classifier {
    pub fn compile(&mut self, cx: &mut Compiler) {
        check_head_labels(cx, &self.head, "label", &self.label.0);
        check_probability(cx, "at_least", self.at_least);
        if self.times == 0 {
            cx.problem("times", "times must be at least 1");
        }
        if let Some(p) = self.sure {
            check_probability(cx, "sure", p);
            if p <= self.at_least {
                cx.problem(
                    "sure",
                    format!("sure ({p}) must be above at_least ({})", self.at_least),
                );
            }
        }
        if let Some(p) = &self.position {
            p.compile(cx);
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let scope = cx.view.scope(self.role, self.position.as_ref(), cx.lenient);
        let scored: Vec<_> = scope
            .iter()
            .filter_map(|u| best_label(u.u.scores.get(&self.head)?, &self.label.0).map(|b| (u, b)))
            .collect();
        let any_scores = cx
            .view
            .utts
            .iter()
            .any(|u| u.u.scores.contains_key(&self.head));
        if !any_scores {
            return self.eval_call_level(cx);
        }
        let evidence: Vec<Evidence> = scored
            .iter()
            .filter(|(_, (_, p))| *p >= self.at_least)
            .map(|(u, (label, p))| Evidence {
                utterance: Some(u.u.id),
                role: Some(u.u.role),
                start: u.u.start,
                end: u.u.end,
                text: Some(u.u.text.clone()),
                phrase: None,
                note: format!("{}.{label} = {p:.2}", self.head),
            })
            .collect();
        let n = evidence.len();
        if let Some(sure) = self.sure {
            let strong = scored.iter().any(|(_, (_, p))| *p >= sure);
            if n >= self.times && (strong || n >= 2) {
                return Outcome::from_bool(true, n, evidence);
            }
            if n >= 1 {
                return Outcome::unknown(
                    format!(
                        "{n} utterance(s) at {:.2}–{sure:.2}: one weak signal, for a person to judge",
                        self.at_least
                    ),
                    evidence,
                );
            }
            return Outcome::from_bool(false, 0, evidence);
        }
        Outcome::from_bool(n >= self.times, n, evidence)
    }

    /// Fall back on the call-level maxima when utterances carry no scores.
    fn eval_call_level(&self, cx: &Ctx) -> Outcome {
        let Some(cls) = &cx.view.call.classification else {
            return Outcome::unknown(format!("no classifier scores for `{}`", self.head), vec![]);
        };
        if self.position.is_some() || self.times > 1 {
            return Outcome::unknown(
                "only call-level classifier scores: position and times cannot be checked",
                vec![],
            );
        }
        let roles: Vec<&str> = match self.role.key() {
            Some(k) => vec![k],
            None => cls.max.keys().map(String::as_str).collect(),
        };
        let best = roles
            .iter()
            .filter_map(|r| best_label(cls.max.get(*r)?.get(&self.head)?, &self.label.0))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            None => Outcome::unknown(format!("no classifier scores for `{}`", self.head), vec![]),
            Some((label, p)) => Outcome::from_bool(
                p >= self.at_least,
                1,
                vec![Evidence::span(
                    0.0,
                    cx.view.duration,
                    format!("通话级 {}.{label} 最大值 = {p:.2}", self.head),
                )],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids, problems};
    use super::super::Verdict;
    use crate::record::CallClassification;

    fn scored() -> crate::record::CallRecord {
        let mut c = call(&[
            ("a", 0.0, 2.0, "您好"),
            ("c", 2.0, 4.0, "你们怎么回事"),
            ("a", 4.0, 6.0, "你听不懂吗"),
            ("a", 6.0, 8.0, "我说了多少遍了"),
        ]);
        let set = |c: &mut crate::record::CallRecord, i: usize, head: &str, l: &str, p: f64| {
            c.utterances[i]
                .scores
                .entry(head.into())
                .or_default()
                .insert(l.into(), p);
        };
        set(&mut c, 0, "attitude", "rude", 0.02);
        set(&mut c, 2, "attitude", "rude", 0.85);
        set(&mut c, 3, "attitude", "impatient", 0.75);
        set(&mut c, 3, "attitude", "rude", 0.40);
        set(&mut c, 1, "emotion", "dissatisfied", 0.9);
        c
    }

    #[test]
    fn counts_utterances_over_the_threshold() {
        let c = scored();
        let k = cond(
            r#"{ kind = "classifier", head = "attitude", label = ["rude", "impatient"], at_least = 0.7, role = "agent" }"#,
        );
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(ids(&o), [2, 3]);
        assert_eq!(o.occurrences, 2);
        assert_eq!(o.evidence[1].note, "attitude.impatient = 0.75");
        let k = cond(
            r#"{ kind = "classifier", head = "attitude", label = "rude", at_least = 0.7, role = "agent", times = 2 }"#,
        );
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
    }

    #[test]
    fn one_weak_signal_goes_to_review_two_or_a_strong_one_deduct() {
        let mut c = scored();
        let sure = |s: &str| {
            cond(&format!(
                r#"{{ kind = "classifier", head = "attitude", label = ["rude", "impatient"], at_least = 0.7, sure = {s}, role = "agent" }}"#
            ))
        };
        // Two utterances ≥ 0.7 (0.85, 0.75): two weak signals suffice.
        assert_eq!(eval(&sure("0.9"), &c).verdict, Verdict::Hit);
        // Only the 0.85 one left: below sure = 0.9 → review, with it as evidence.
        c.utterances[3]
            .scores
            .get_mut("attitude")
            .unwrap()
            .insert("impatient".into(), 0.3);
        let o = eval(&sure("0.9"), &c);
        assert_eq!(o.verdict, Verdict::Unknown);
        assert_eq!(ids(&o), [2]);
        // … but one at or above sure deducts alone.
        assert_eq!(eval(&sure("0.85"), &c).verdict, Verdict::Hit);
        // Nothing ≥ at_least: clear.
        c.utterances[2]
            .scores
            .get_mut("attitude")
            .unwrap()
            .insert("rude".into(), 0.5);
        assert_eq!(eval(&sure("0.9"), &c).verdict, Verdict::Clear);
        assert_eq!(
            problems(
                r#"{ kind = "classifier", head = "attitude", label = "rude", at_least = 0.8, sure = 0.7 }"#
            ),
            ["sure (0.7) must be above at_least (0.8)"]
        );
    }

    #[test]
    fn role_filter_applies() {
        let c = scored();
        let k = cond(
            r#"{ kind = "classifier", head = "emotion", label = "dissatisfied", at_least = 0.8, role = "agent" }"#,
        );
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        let k = cond(
            r#"{ kind = "classifier", head = "emotion", label = "dissatisfied", at_least = 0.8, role = "customer" }"#,
        );
        assert_eq!(ids(&eval(&k, &c)), [1]);
    }

    #[test]
    fn call_level_fallback_and_unknown_without_scores() {
        let mut c = call(&[("a", 0.0, 2.0, "您好")]);
        let k = cond(
            r#"{ kind = "classifier", head = "attitude", label = "rude", at_least = 0.7, role = "agent" }"#,
        );
        assert_eq!(eval(&k, &c).verdict, Verdict::Unknown);
        let mut cls = CallClassification::default();
        cls.max
            .entry("agent".into())
            .or_default()
            .insert("attitude".into(), [("rude".to_string(), 0.9)].into());
        c.classification = Some(cls);
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "通话级 attitude.rude 最大值 = 0.90");
    }

    #[test]
    fn unknown_heads_and_labels_are_reported() {
        assert_eq!(
            problems(
                r#"{ kind = "classifier", head = "attitude", label = "rudee", at_least = 0.7 }"#
            ),
            ["unknown label `rudee` for head `attitude` (known: ok, impatient, rude, shirking)"]
        );
        assert_eq!(
            problems(r#"{ kind = "classifier", head = "mood", label = "x", at_least = 1.5 }"#),
            [
                "unknown classifier head `mood` (known: attitude, emotion, intent)",
                "at_least must be a probability in (0, 1], got 1.5"
            ]
        );
    }
}
