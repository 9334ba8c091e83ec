//! `counts`: how many utterances say something, optionally followed by something else.

use super::said::Said;
use super::{Compiler, Ctx, Evidence, Outcome};
use serde::Deserialize;

documented! { EXPLAIN,
/// `counts`: the number of utterances that match `of` is at least `at_least` and/or at most
/// `at_most`; with `then`, something happens after the `at_least`-th one.
///
/// ## What it checks
/// Counts utterances (not phrases: 「不需要，不需要」 in one breath is one refusal) matching
/// `of` (a `said` table). Without `then` the condition hits when the count is within the
/// bounds, with every counted utterance as evidence. With `then` (needs `at_least`), it hits
/// when an utterance matching `then` comes after the `at_least`-th counted one; each such
/// utterance is an occurrence. This is the 诈单 pattern of the outbound sheets: the customer has
/// refused three times and the agent keeps pitching.
///
/// ## Example
/// ```toml
/// when = { kind = "counts", of = { lexicon = "refusals", role = "customer" }, at_least = 3, then = { lexicon = "pitch", role = "agent" } }
/// # polite words used fewer than twice by the agent
/// when = { kind = "counts", of = { lexicon = "polite", role = "agent", mode = "exact" }, at_most = 1 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub of: Said,
    #[serde(default)]
    pub at_least: Option<usize>,
    #[serde(default)]
    pub at_most: Option<usize>,
    #[serde(default)]
    pub then: Option<Said>,
}
}

impl Counts {
    pub fn compile(&mut self, cx: &mut Compiler) {
        cx.nested("of", |cx| self.of.compile(cx));
        if let Some(t) = &mut self.then {
            cx.nested("then", |cx| t.compile(cx));
            if self.at_least.is_none() {
                cx.problem(
                    "then",
                    "`then` needs `at_least`: it looks after the at_least-th match",
                );
            }
        }
        if self.at_least.is_none() && self.at_most.is_none() {
            cx.problem("", "give at_least and/or at_most");
        }
        if let (Some(lo), Some(hi)) = (self.at_least, self.at_most) {
            if lo > hi {
                cx.problem("at_most", format!("at_most {hi} is below at_least {lo}"));
            }
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let counted = self.of.matches(cx);
        let n = counted.len();
        let in_bounds =
            self.at_least.is_none_or(|lo| n >= lo) && self.at_most.is_none_or(|hi| n <= hi);
        let mut evidence: Vec<Evidence> = Vec::new();
        for (i, (_, ev)) in counted.iter().enumerate() {
            for mut e in ev.iter().cloned() {
                e.note =
                    format!("第{}次{}", i + 1, if e.note.is_empty() { "" } else { "，" }) + &e.note;
                evidence.push(e);
            }
        }
        let Some(then) = &self.then else {
            if evidence.is_empty() {
                evidence.push(Evidence::span(0.0, cx.view.duration, format!("共{n}次")));
            }
            return Outcome::from_bool(in_bounds, 1, evidence);
        };
        if !in_bounds {
            return Outcome::clear();
        }
        let Some((nth, _)) = counted.get(self.at_least.unwrap_or(1).saturating_sub(1)) else {
            return Outcome::clear();
        };
        let after: Vec<_> = then
            .matches(cx)
            .into_iter()
            .filter(|(u, _)| u.pos > nth.pos)
            .collect();
        let occurrences = after.len();
        for (_, ev) in after {
            for mut e in ev {
                e.note = format!("第{}次之后仍继续", self.at_least.unwrap_or(1));
                evidence.push(e);
            }
        }
        Outcome::from_bool(occurrences > 0, occurrences, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids, problems};
    use super::super::Verdict;

    fn pushy() -> crate::record::CallRecord {
        call(&[
            ("a", 0.0, 3.0, "给您推荐一个流量套餐"),
            ("c", 3.0, 5.0, "不需要，不需要"),
            ("a", 5.0, 8.0, "这个套餐很划算"),
            ("c", 8.0, 10.0, "我说了不用了"),
            ("a", 10.0, 13.0, "每月只要十元"),
            ("c", 13.0, 15.0, "真的不需要"),
            ("a", 15.0, 18.0, "您再考虑一下这个套餐"),
            ("c", 18.0, 20.0, "好吧"),
        ])
    }

    const ZHADAN: &str = r#"{ kind = "counts", of = { phrases = ["不需要", "不用了"], role = "customer" }, at_least = 3, then = { phrases = ["套餐", "考虑一下"], role = "agent" } }"#;

    #[test]
    fn third_refusal_then_pitch() {
        let o = eval(&cond(ZHADAN), &pushy());
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 1);
        // Utterance 1 has two hits but counts once; utterance 6 is the pitch after the third.
        assert_eq!(ids(&o), [1, 1, 3, 5, 6, 6]);
        assert_eq!(o.evidence[0].note, "第1次");
        assert_eq!(o.evidence[4].note, "第3次之后仍继续");
    }

    #[test]
    fn respecting_the_refusal_is_clear() {
        let mut c = pushy();
        c.utterances.truncate(6);
        assert_eq!(eval(&cond(ZHADAN), &c).verdict, Verdict::Clear);
    }

    #[test]
    fn bounds_without_then() {
        let k = cond(
            r#"{ kind = "counts", of = { phrases = ["不需要", "不用了"], role = "customer" }, at_least = 3 }"#,
        );
        assert_eq!(eval(&k, &pushy()).occurrences, 1);
        let k = cond(
            r#"{ kind = "counts", of = { lexicon = "apology", role = "agent" }, at_most = 0 }"#,
        );
        let o = eval(&k, &pushy());
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence.len(), 1);
        assert_eq!(o.evidence[0].note, "共0次");
        let k = cond(
            r#"{ kind = "counts", of = { phrases = ["套餐"], role = "agent" }, at_most = 2 }"#,
        );
        assert_eq!(eval(&k, &pushy()).verdict, Verdict::Clear);
    }

    #[test]
    fn problems_are_reported() {
        assert_eq!(
            problems(
                r#"{ kind = "counts", of = { phrases = ["x"] }, then = { phrases = ["y"] } }"#
            ),
            [
                "`then` needs `at_least`: it looks after the at_least-th match",
                "give at_least and/or at_most"
            ]
        );
        assert_eq!(
            problems(r#"{ kind = "counts", of = { phrases = ["x"] }, at_least = 3, at_most = 1 }"#),
            ["at_most 1 is below at_least 3"]
        );
    }
}
