//! `sentiment_trend`: the customer's mood from the start to the end of the call.

use super::{Compiler, Ctx, Evidence, Names, Outcome};
use crate::record::Role;
use serde::Deserialize;
use std::collections::BTreeMap;

documented! { EXPLAIN,
/// `sentiment_trend`: the customer's negative emotion changes from the start to the end of the
/// call — `direction = "worse"` (escalated) or `"better"` (soothed, 有效安抚).
///
/// ## What it checks
/// Negativity is the sum of the customer's `emotion` probabilities for `labels` (default
/// `dissatisfied` and `angry`) over the first and the last third of the call, as summarised by
/// the classifier stage (or computed from the customer's utterance scores). It hits when the
/// end is worse than the start by at least `by_at_least` (default 0.3), or better by that much.
/// Unknown without classifier scores.
///
/// ## Example
/// ```toml
/// when = { kind = "sentiment_trend", direction = "worse", by_at_least = 0.3 }
/// when = { kind = "sentiment_trend", direction = "better", by_at_least = 0.4 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SentimentTrend {
    pub direction: Direction,
    #[serde(default = "default_by")]
    pub by_at_least: f64,
    #[serde(default = "default_labels")]
    pub labels: Names,
}
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Worse,
    Better,
}

fn default_by() -> f64 {
    0.3
}

fn default_labels() -> Names {
    Names(vec!["dissatisfied".into(), "angry".into()])
}

impl SentimentTrend {
    pub fn compile(&mut self, cx: &mut Compiler) {
        super::classifier::check_head_labels(cx, "emotion", "labels", &self.labels.0);
        super::classifier::check_probability(cx, "by_at_least", self.by_at_least);
    }

    fn negativity(&self, probs: &BTreeMap<String, f64>) -> f64 {
        self.labels.0.iter().filter_map(|l| probs.get(l)).sum()
    }

    /// Negativity at the start and the end: the call summary, else the customer's utterances
    /// in the first and last thirds of the call.
    fn start_end(&self, cx: &Ctx) -> Option<(f64, f64)> {
        if let Some(c) = &cx.view.call.classification {
            if !c.customer_emotion_start.is_empty() && !c.customer_emotion_end.is_empty() {
                return Some((
                    self.negativity(&c.customer_emotion_start),
                    self.negativity(&c.customer_emotion_end),
                ));
            }
        }
        let d = cx.view.duration;
        let third = |lo: f64, hi: f64| {
            let v: Vec<f64> = cx
                .view
                .utts
                .iter()
                .filter(|u| u.u.role == Role::Customer && u.u.start >= lo && u.u.start < hi)
                .filter_map(|u| u.u.scores.get("emotion").map(|p| self.negativity(p)))
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        Some((third(0.0, d / 3.0)?, third(d * 2.0 / 3.0, f64::INFINITY)?))
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let Some((start, end)) = self.start_end(cx) else {
            return Outcome::unknown(
                "no customer emotion scores at the start and end of the call",
                vec![],
            );
        };
        let change = end - start;
        let hit = match self.direction {
            Direction::Worse => change >= self.by_at_least,
            Direction::Better => -change >= self.by_at_least,
        };
        let note = format!("客户负面情绪 {start:.2} → {end:.2}");
        Outcome::from_bool(hit, 1, vec![Evidence::span(0.0, cx.view.duration, note)])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;
    use crate::record::CallClassification;

    #[test]
    fn worse_and_better_from_the_summary() {
        let mut c = call(&[("c", 0.0, 90.0, "……")]);
        c.classification = Some(CallClassification {
            customer_emotion_start: [
                ("dissatisfied".to_string(), 0.2),
                ("angry".to_string(), 0.1),
            ]
            .into(),
            customer_emotion_end: [
                ("dissatisfied".to_string(), 0.5),
                ("angry".to_string(), 0.3),
            ]
            .into(),
            ..CallClassification::default()
        });
        let worse = cond(r#"{ kind = "sentiment_trend", direction = "worse" }"#);
        let o = eval(&worse, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "客户负面情绪 0.30 → 0.80");
        assert_eq!(
            eval(
                &cond(r#"{ kind = "sentiment_trend", direction = "worse", by_at_least = 0.6 }"#),
                &c
            )
            .verdict,
            Verdict::Clear
        );
        assert_eq!(
            eval(
                &cond(r#"{ kind = "sentiment_trend", direction = "better" }"#),
                &c
            )
            .verdict,
            Verdict::Clear
        );
    }

    #[test]
    fn from_utterances_when_no_summary() {
        let mut c = call(&[
            ("c", 0.0, 10.0, "你们怎么搞的"),
            ("a", 10.0, 50.0, "非常抱歉"),
            ("c", 80.0, 90.0, "好的谢谢"),
        ]);
        let better =
            cond(r#"{ kind = "sentiment_trend", direction = "better", by_at_least = 0.5 }"#);
        assert_eq!(eval(&better, &c).verdict, Verdict::Unknown);
        c.utterances[0].scores.insert(
            "emotion".into(),
            [
                ("angry".to_string(), 0.7),
                ("dissatisfied".to_string(), 0.2),
            ]
            .into(),
        );
        c.utterances[2].scores.insert(
            "emotion".into(),
            [
                ("angry".to_string(), 0.05),
                ("dissatisfied".to_string(), 0.1),
            ]
            .into(),
        );
        let o = eval(&better, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "客户负面情绪 0.90 → 0.15");
    }
}
