//! `identity_check`: business talked before the customer's identity was confirmed (身份确认).

use super::said::Said;
use super::{Compiler, Ctx, Evidence, Outcome};
use serde::Deserialize;

documented! { EXPLAIN,
/// `identity_check`: on an outbound call the agent must confirm that they speak to the right
/// person (机主本人, 目标客户) before presenting the business; the condition holds when the
/// business comes first, or when there is business and the identity was never confirmed.
///
/// ## What it checks
/// The identity is confirmed at the first utterance matching `question` (a `said` table, e.g.
/// the `identity` lexicon said by the agent) that is answered — when `answer` is given — by an
/// utterance matching `answer` within `within_utterances` utterances (default 2), and not
/// denied by one matching `denied` there (不是本人, 打错了). The condition holds when an
/// utterance matching `business` (e.g. the `pitch` lexicon said by the agent) comes before that
/// moment, or when there is business and no confirmation at all; the evidence is the first
/// such business utterance (and the late question, if any). A call with no business is clear.
///
/// ## Example
/// ```toml
/// # 诈单（6）：未确认机主身份即推荐业务
/// when = { kind = "identity_check", question = { lexicon = "identity", role = "agent" }, answer = { phrases = ["是的", "对", "我是", "是我", "本人"], role = "customer" }, denied = { phrases = ["不是", "打错了"], role = "customer" }, business = { lexicon = "pitch", role = "agent" } }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct IdentityCheck {
    pub question: Said,
    #[serde(default)]
    pub answer: Option<Said>,
    #[serde(default)]
    pub denied: Option<Said>,
    pub business: Said,
    #[serde(default)]
    pub within_utterances: Option<usize>,
}
}

impl IdentityCheck {
    pub fn compile(&mut self, cx: &mut Compiler) {
        cx.nested("question", |cx| self.question.compile(cx));
        if let Some(a) = self.answer.as_mut() {
            cx.nested("answer", |cx| a.compile(cx));
        }
        if let Some(d) = self.denied.as_mut() {
            cx.nested("denied", |cx| d.compile(cx));
        }
        cx.nested("business", |cx| self.business.compile(cx));
        if self.within_utterances == Some(0) {
            cx.problem("within_utterances", "within_utterances must be at least 1");
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let n = self.within_utterances.unwrap_or(2);
        let answers = self.answer.as_ref().map(|a| a.matches(cx));
        let denials = self
            .denied
            .as_ref()
            .map(|d| d.matches(cx))
            .unwrap_or_default();
        let near = |q: usize, b: usize| b > q && b - q <= n;
        // Position (in time order) from which the identity counts as confirmed.
        let confirmed = self.question.matches(cx).into_iter().find_map(|(q, q_ev)| {
            if denials.iter().any(|(d, _)| near(q.pos, d.pos)) {
                return None;
            }
            match &answers {
                None => Some((q.pos, q_ev)),
                Some(a) => a
                    .iter()
                    .find(|(r, _)| near(q.pos, r.pos))
                    .map(|(r, _)| (r.pos, q_ev)),
            }
        });
        let first_business = self.business.matches(cx).into_iter().next();
        let Some((b, b_ev)) = first_business else {
            return Outcome::clear();
        };
        match confirmed {
            Some((at, _)) if at < b.pos => Outcome::clear(),
            Some((_, q_ev)) => {
                let mut ev: Vec<Evidence> = b_ev.into_iter().take(1).collect();
                for e in &mut ev {
                    e.note = "身份确认之前已介绍业务".into();
                }
                ev.extend(q_ev.into_iter().take(1));
                Outcome::hit(1, ev)
            }
            None => {
                let mut ev: Vec<Evidence> = b_ev.into_iter().take(1).collect();
                ev.push(Evidence::span(
                    0.0,
                    cx.view.duration,
                    "介绍了业务，全程未确认客户身份",
                ));
                Outcome::hit(1, ev)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids};
    use super::super::Verdict;

    const CHECK: &str = r#"{ kind = "identity_check", question = { phrases = ["请问您是", "是本人吗", "机主"], role = "agent" }, answer = { phrases = ["是的", "对", "我是", "是我"], role = "customer" }, denied = { phrases = ["不是", "打错了"], role = "customer" }, business = { phrases = ["流量包", "套餐"], role = "agent" } }"#;

    #[test]
    fn identity_first_then_business_is_clear() {
        let c = call(&[
            ("a", 0.0, 3.0, "您好，请问您是王先生吗？"),
            ("c", 3.0, 4.0, "对，我是"),
            ("a", 4.0, 8.0, "我们现在有一个流量包的优惠活动"),
        ]);
        assert_eq!(eval(&cond(CHECK), &c).verdict, Verdict::Clear);
    }

    #[test]
    fn business_before_identity_is_a_hit() {
        let c = call(&[
            ("a", 0.0, 4.0, "您好，我们现在有一个流量包的优惠活动"),
            ("c", 4.0, 5.0, "什么"),
            ("a", 5.0, 8.0, "请问您是机主本人吗"),
            ("c", 8.0, 9.0, "是的"),
        ]);
        let o = eval(&cond(CHECK), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(ids(&o), [0, 2]);
        assert_eq!(o.evidence[0].note, "身份确认之前已介绍业务");
    }

    #[test]
    fn a_denied_or_unanswered_check_does_not_confirm() {
        let denied = call(&[
            ("a", 0.0, 3.0, "请问您是王先生吗？"),
            ("c", 3.0, 4.0, "不是，你打错了"),
            ("a", 4.0, 8.0, "那您需要办个套餐吗"),
        ]);
        let o = eval(&cond(CHECK), &denied);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[1].note, "介绍了业务，全程未确认客户身份");
        let no_business = call(&[("a", 0.0, 3.0, "请问您是王先生吗？")]);
        assert_eq!(eval(&cond(CHECK), &no_business).verdict, Verdict::Clear);
        let no_transcript = call(&[]);
        assert_eq!(eval(&cond(CHECK), &no_transcript).verdict, Verdict::Unknown);
    }
}
