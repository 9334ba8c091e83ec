//! `context`: A followed (or not followed) by B.

use super::said::Said;
use super::{secs, Compiler, Ctx, Evidence, Outcome};
use serde::Deserialize;

documented! { EXPLAIN,
/// `context`: one thing said and then another — or, with `not_followed = true`, one thing said
/// and *not* followed by the other.
///
/// ## What it checks
/// For every utterance matching `first` (a `said` table: phrases/lexicon/pattern/score, role,
/// position), looks for a later utterance matching `then` within `within_utterances` utterances
/// (counting both parties) and/or within `within_s` seconds of the end of the first one; with
/// neither limit, anywhere later in the call. Each `first` that is followed (or, with
/// `not_followed`, that is not) is an occurrence; the evidence shows both utterances (or the
/// first and the window searched).
///
/// ## Example
/// ```toml
/// # customer complains and the agent does not apologise or soothe within 3 utterances
/// when = { kind = "context", first = { lexicon = "complaint", role = "customer" }, then = { lexicon = "apology", role = "agent" }, within_utterances = 3, not_followed = true }
/// # the agent asks the customer to wait and thanks them within 120 s
/// when = { kind = "context", first = { lexicon = "hold", role = "agent" }, then = { lexicon = "hold_return", role = "agent" }, within_s = 120 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Context {
    pub first: Said,
    pub then: Said,
    #[serde(default)]
    pub within_utterances: Option<usize>,
    #[serde(default)]
    pub within_s: Option<f64>,
    #[serde(default)]
    pub not_followed: bool,
}
}

impl Context {
    pub fn compile(&mut self, cx: &mut Compiler) {
        cx.nested("first", |cx| self.first.compile(cx));
        cx.nested("then", |cx| self.then.compile(cx));
        if self.within_utterances == Some(0) {
            cx.problem("within_utterances", "within_utterances must be at least 1");
        }
        if self.within_s.is_some_and(|s| !super::is_positive(s)) {
            cx.problem("within_s", "within_s must be a positive number of seconds");
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let seconds: Vec<_> = self.then.matches(cx);
        let mut evidence: Vec<Evidence> = Vec::new();
        let mut occurrences = 0;
        for (a, a_ev) in self.first.matches(cx) {
            let follow = seconds.iter().find(|(b, _)| {
                b.pos > a.pos
                    && self.within_utterances.is_none_or(|n| b.pos - a.pos <= n)
                    && self.within_s.is_none_or(|s| b.u.start - a.u.end <= s)
            });
            match (follow, self.not_followed) {
                (Some((_, b_ev)), false) => {
                    occurrences += 1;
                    evidence.extend(a_ev);
                    evidence.extend(b_ev.iter().cloned());
                }
                (None, true) => {
                    occurrences += 1;
                    evidence.extend(a_ev);
                    let mut limits = Vec::new();
                    if let Some(n) = self.within_utterances {
                        limits.push(format!("{n}句内"));
                    }
                    if let Some(s) = self.within_s {
                        limits.push(format!("{}内", secs(s)));
                    }
                    if limits.is_empty() {
                        limits.push("之后".into());
                    }
                    let window_end = self.within_s.map_or(cx.view.duration, |s| a.u.end + s);
                    evidence.push(Evidence::span(
                        a.u.end,
                        window_end.min(cx.view.duration.max(a.u.end)),
                        format!("{}未见应有的回应", limits.join("、")),
                    ));
                }
                _ => {}
            }
        }
        Outcome::from_bool(occurrences > 0, occurrences, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids};
    use super::super::Verdict;

    fn c() -> crate::record::CallRecord {
        call(&[
            ("c", 0.0, 3.0, "我要投诉你们"),
            ("a", 3.0, 6.0, "您说"),
            ("c", 6.0, 9.0, "扣费不对"),
            ("a", 9.0, 12.0, "非常抱歉给您带来不便"),
            ("c", 30.0, 33.0, "我还要投诉"),
            ("a", 33.0, 36.0, "那您投诉吧"),
        ])
    }

    const NO_APOLOGY: &str = r#"{ kind = "context", first = { phrases = ["投诉"], role = "customer" }, then = { lexicon = "apology", role = "agent" }, within_utterances = 3, not_followed = true }"#;

    #[test]
    fn not_followed_finds_complaints_without_apology() {
        let o = eval(&super::super::testing::cond(NO_APOLOGY), &c());
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 1);
        assert_eq!(ids(&o), [4]);
        assert_eq!(o.evidence[1].note, "3句内未见应有的回应");
        assert_eq!((o.evidence[1].start, o.evidence[1].end), (33.0, 36.0));
    }

    #[test]
    fn followed_within_utterances_and_seconds() {
        let k = cond(
            r#"{ kind = "context", first = { phrases = ["投诉"], role = "customer" }, then = { lexicon = "apology", role = "agent" }, within_utterances = 3 }"#,
        );
        let o = eval(&k, &c());
        assert_eq!(o.occurrences, 1);
        assert_eq!(ids(&o), [0, 3]);
        // Only 2 utterances allowed: the apology (3 later) is too far.
        let k = cond(
            r#"{ kind = "context", first = { phrases = ["投诉"], role = "customer" }, then = { lexicon = "apology", role = "agent" }, within_utterances = 2 }"#,
        );
        assert_eq!(eval(&k, &c()).verdict, Verdict::Clear);
        let k = cond(
            r#"{ kind = "context", first = { phrases = ["投诉"], role = "customer" }, then = { lexicon = "apology", role = "agent" }, within_s = 5 }"#,
        );
        assert_eq!(eval(&k, &c()).verdict, Verdict::Clear);
        let k = cond(
            r#"{ kind = "context", first = { phrases = ["投诉"], role = "customer" }, then = { lexicon = "apology", role = "agent" }, within_s = 10 }"#,
        );
        assert_eq!(ids(&eval(&k, &c())), [0, 3]);
    }

    #[test]
    fn then_must_come_later() {
        let k = cond(
            r#"{ kind = "context", first = { phrases = ["扣费"] }, then = { phrases = ["投诉"] }, within_utterances = 1 }"#,
        );
        assert_eq!(eval(&k, &c()).verdict, Verdict::Clear);
    }
}
