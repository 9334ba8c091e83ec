//! `silence`: dead air (冷场) found by the acoustic stage.

use super::said::Said;
use super::{secs, Compiler, Ctx, Evidence, Outcome};
use crate::record::Span;
use serde::Deserialize;

documented! { EXPLAIN,
/// `silence`: dead air (冷场) — silences longer than `longer_than_s`, at least `at_least` of
/// them.
///
/// ## What it checks
/// Reads the silences the acoustic stage found between the first and the last speech of the
/// call (nobody speaking on either channel). Each silence longer than `longer_than_s` (default:
/// every detected silence) is an occurrence with its time span; the condition hits when there
/// are at least `at_least` (default 1). Unknown when the call was not analysed acoustically.
///
/// A hold the agent announced is not dead air: with `except_after` (a `said` table), a silence
/// that follows an utterance matching it (请稍等, 我帮您查一下) is not counted.
///
/// ## Example
/// ```toml
/// when = { kind = "silence", longer_than_s = 10 }
/// when = { kind = "silence", longer_than_s = 5, at_least = 3 }
/// when = { kind = "silence", longer_than_s = 10, except_after = { lexicon = "hold", role = "agent" } }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    #[serde(default)]
    pub longer_than_s: f64,
    #[serde(default = "one")]
    pub at_least: usize,
    #[serde(default)]
    pub except_after: Option<Said>,
}
}

fn one() -> usize {
    1
}

impl Silence {
    pub fn compile(&mut self, cx: &mut Compiler) {
        if self.longer_than_s.is_nan() || self.longer_than_s < 0.0 {
            cx.problem("longer_than_s", "longer_than_s must not be negative");
        }
        if self.at_least == 0 {
            cx.problem("at_least", "at_least must be at least 1");
        }
        if let Some(s) = &mut self.except_after {
            cx.nested("except_after", |cx| s.compile(cx));
        }
    }

    /// True when the last words before the silence of the `except_after` role (the agent's, say)
    /// match it: 「请稍等」 then the customer's 「好的」 then hold is still an announced hold.
    fn announced(&self, cx: &Ctx, s: &Span) -> bool {
        let Some(after) = &self.except_after else {
            return false;
        };
        // Tolerate small timing differences between the VAD and the recogniser.
        cx.view
            .scope(after.role, after.position.as_ref(), cx.lenient)
            .into_iter()
            .filter(|u| u.u.end <= s.start + 0.5)
            .last()
            .is_some_and(|u| after.match_one(u).is_some())
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_acoustics() {
            return Outcome::unknown("no acoustic analysis", vec![]);
        }
        let evidence: Vec<Evidence> = cx
            .view
            .call
            .findings
            .silences
            .iter()
            .filter(|s| s.duration() > self.longer_than_s && !self.announced(cx, s))
            .map(|s| Evidence::span(s.start, s.end, format!("静音 {}", secs(s.duration()))))
            .collect();
        let n = evidence.len();
        Outcome::from_bool(n >= self.at_least, n, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;
    use crate::record::Span;

    #[test]
    fn long_silences_are_occurrences() {
        let mut c = call(&[("a", 0.0, 2.0, "您好")]);
        c.metrics.duration_s = 120.0;
        c.findings.silences = vec![
            Span::new(10.0, 14.0),
            Span::new(30.0, 42.5),
            Span::new(60.0, 71.0),
        ];
        let o = eval(&cond(r#"{ kind = "silence", longer_than_s = 10 }"#), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 2);
        assert_eq!(o.evidence[0].note, "静音 12.5 s");
        assert_eq!((o.evidence[1].start, o.evidence[1].end), (60.0, 71.0));
        let o = eval(
            &cond(r#"{ kind = "silence", longer_than_s = 3, at_least = 4 }"#),
            &c,
        );
        assert_eq!(o.verdict, Verdict::Clear);
        let o = eval(&cond(r#"{ kind = "silence", at_least = 3 }"#), &c);
        assert_eq!(o.occurrences, 3);
    }

    #[test]
    fn announced_holds_are_not_dead_air() {
        let mut c = call(&[
            ("a", 0.0, 2.5, "我帮您查一下，请稍等"),
            ("c", 2.5, 3.0, "好的"),
            ("a", 15.0, 18.0, "感谢您的耐心等待"),
            ("c", 18.5, 20.0, "好"),
            ("a", 33.0, 35.0, "嗯"),
        ]);
        c.metrics.duration_s = 40.0;
        c.findings.silences = vec![Span::new(3.0, 15.0), Span::new(20.0, 33.0)];
        let k = cond(
            r#"{ kind = "silence", longer_than_s = 10, except_after = { phrases = ["请稍等"], role = "agent" } }"#,
        );
        let o = eval(&k, &c);
        assert_eq!(o.occurrences, 1);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (20.0, 33.0));
        let k = cond(r#"{ kind = "silence", longer_than_s = 10 }"#);
        assert_eq!(eval(&k, &c).occurrences, 2);
    }

    #[test]
    fn unknown_without_acoustics() {
        let c = call(&[("a", 0.0, 2.0, "您好")]);
        assert_eq!(
            eval(&cond(r#"{ kind = "silence", longer_than_s = 10 }"#), &c).verdict,
            Verdict::Unknown
        );
    }
}
