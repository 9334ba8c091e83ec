//! `speech_rate`: speaking too fast (or too slow) for a sustained stretch.

use super::{secs, Compiler, Ctx, Evidence, Outcome, RoleFilter};
use crate::record::Utterance;
use serde::Deserialize;

documented! { EXPLAIN,
/// `speech_rate`: a party speaks faster than `above_cpm` (or slower than `below_cpm`)
/// characters per minute for at least `for_at_least_s` seconds of speech.
///
/// ## What it checks
/// Uses each utterance's rate in 字/分钟 (from the transcript: Han characters and digits per
/// minute of the utterance). Consecutive utterances of `role` (default `agent`) whose rate is
/// out of bounds form a stretch; a stretch with at least `for_at_least_s` seconds of speech
/// (default 0) is an occurrence, with its utterances as evidence. With `average = true` the
/// whole-call average rate of the role is compared instead. Mandarin customer service usually
/// aims at 180–250 字/分钟; above ~300 customers struggle to follow.
///
/// ## Example
/// ```toml
/// when = { kind = "speech_rate", role = "agent", above_cpm = 300, for_at_least_s = 10 }
/// when = { kind = "speech_rate", role = "agent", above_cpm = 280, average = true }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SpeechRate {
    #[serde(default = "agent")]
    pub role: RoleFilter,
    #[serde(default)]
    pub above_cpm: Option<f64>,
    #[serde(default)]
    pub below_cpm: Option<f64>,
    #[serde(default)]
    pub for_at_least_s: f64,
    #[serde(default)]
    pub average: bool,
}
}

fn agent() -> RoleFilter {
    RoleFilter::Agent
}

/// Characters per minute of `u`: the recorded rate, else counted from its text.
pub fn rate(u: &Utterance) -> Option<f64> {
    if u.chars_per_min > 0.0 {
        return Some(u.chars_per_min);
    }
    let d = u.end - u.start;
    if d <= 0.0 {
        return None;
    }
    let n = u
        .text
        .chars()
        .filter(|c| c.is_ascii_digit() || ('\u{4E00}'..='\u{9FFF}').contains(c))
        .count();
    Some(n as f64 * 60.0 / d)
}

impl SpeechRate {
    pub fn compile(&mut self, cx: &mut Compiler) {
        if self.above_cpm.is_none() && self.below_cpm.is_none() {
            cx.problem("", "give above_cpm and/or below_cpm");
        }
        for (k, v) in [("above_cpm", self.above_cpm), ("below_cpm", self.below_cpm)] {
            if v.is_some_and(|v| !super::is_positive(v)) {
                cx.problem(
                    k,
                    format!("{k} must be a positive rate in characters per minute"),
                );
            }
        }
        if self.average && self.for_at_least_s > 0.0 {
            cx.problem(
                "for_at_least_s",
                "for_at_least_s has no meaning with average = true",
            );
        }
    }

    fn out_of_bounds(&self, r: f64) -> bool {
        self.above_cpm.is_some_and(|a| r > a) || self.below_cpm.is_some_and(|b| r < b)
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if self.average {
            return self.eval_average(cx);
        }
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let mut evidence = Vec::new();
        let mut occurrences = 0;
        let mut run: Vec<(&Utterance, f64)> = Vec::new();
        let mut flush = |run: &mut Vec<(&Utterance, f64)>, evidence: &mut Vec<Evidence>| {
            let speech: f64 = run.iter().map(|(u, _)| u.end - u.start).sum();
            if !run.is_empty() && speech >= self.for_at_least_s {
                occurrences += 1;
                for (u, r) in run.iter() {
                    evidence.push(Evidence {
                        utterance: Some(u.id),
                        role: Some(u.role),
                        start: u.start,
                        end: u.end,
                        text: Some(u.text.clone()),
                        phrase: None,
                        note: format!("语速 {r:.0} 字/分钟（连续 {}）", secs(speech)),
                    });
                }
            }
            run.clear();
        };
        for u in cx.view.scope(self.role, None, cx.lenient) {
            match rate(&u.u) {
                Some(r) if self.out_of_bounds(r) => run.push((&*u.u, r)),
                _ => flush(&mut run, &mut evidence),
            }
        }
        flush(&mut run, &mut evidence);
        Outcome::from_bool(occurrences > 0, occurrences, evidence)
    }

    fn eval_average(&self, cx: &Ctx) -> Outcome {
        let rates = &cx.view.call.metrics.speech_rate_cpm;
        let r = match self.role.key() {
            Some(k) => rates.get(k).copied(),
            None => rates.values().copied().reduce(f64::max),
        };
        match r {
            None => Outcome::unknown("no speech rate measured", vec![]),
            Some(r) => Outcome::from_bool(
                self.out_of_bounds(r),
                1,
                vec![Evidence::span(
                    0.0,
                    cx.view.duration,
                    format!("{}平均语速 {r:.0} 字/分钟", self.role.zh()),
                )],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids};
    use super::super::Verdict;

    #[test]
    fn sustained_fast_stretches() {
        // 10 characters in 1.5 s = 400/min; 10 in 4 s = 150/min.
        let c = call(&[
            ("a", 0.0, 1.5, "您好请问有什么可以帮"),
            ("a", 2.0, 3.5, "您好请问有什么可以帮"),
            ("c", 4.0, 5.0, "嗯"),
            ("a", 6.0, 10.0, "您好请问有什么可以帮"),
            ("a", 11.0, 12.5, "您好请问有什么可以帮"),
        ]);
        let k = cond(r#"{ kind = "speech_rate", above_cpm = 300, for_at_least_s = 2.5 }"#);
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 1);
        assert_eq!(ids(&o), [0, 1]);
        assert_eq!(o.evidence[0].note, "语速 400 字/分钟（连续 3.0 s）");
        let k = cond(r#"{ kind = "speech_rate", above_cpm = 300 }"#);
        assert_eq!(eval(&k, &c).occurrences, 2);
        let k = cond(r#"{ kind = "speech_rate", below_cpm = 160 }"#);
        assert_eq!(ids(&eval(&k, &c)), [3]);
    }

    #[test]
    fn recorded_rate_and_average() {
        let mut c = call(&[("a", 0.0, 10.0, "好")]);
        c.utterances[0].chars_per_min = 330.0;
        assert_eq!(
            eval(&cond(r#"{ kind = "speech_rate", above_cpm = 300 }"#), &c).verdict,
            Verdict::Hit
        );
        let avg = cond(r#"{ kind = "speech_rate", above_cpm = 280, average = true }"#);
        assert_eq!(eval(&avg, &c).verdict, Verdict::Unknown);
        c.metrics.speech_rate_cpm.insert("agent".into(), 290.0);
        let o = eval(&avg, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "座席平均语速 290 字/分钟");
    }
}
