//! `hangup`: which side ended the call.

use super::{Ctx, Evidence, Outcome};
use crate::record::Side;
use serde::Deserialize;

documented! { EXPLAIN,
/// `hangup`: the given side ended the call — by default the agent (座席先挂机, a fatal error
/// on many sheets: the customer must hang up first).
///
/// ## What it checks
/// Uses the switch's record of who hung up (the `hangup_side` metadata column) when present,
/// otherwise the acoustic stage's inference. With `while_customer_speaking = true` it hits only
/// when the recording also ends while the customer is still talking (cut off mid-sentence),
/// and is clear whenever they were not, whoever hung up. Unknown when neither source can tell.
///
/// ## Example
/// ```toml
/// when = { kind = "hangup", side = "agent" }
/// when = { kind = "hangup", side = "agent", while_customer_speaking = true }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Hangup {
    #[serde(default = "agent")]
    pub side: HangupSide,
    #[serde(default)]
    pub while_customer_speaking: bool,
}
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HangupSide {
    Agent,
    Customer,
}

fn agent() -> HangupSide {
    HangupSide::Agent
}

impl Hangup {
    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let call = cx.view.call;
        let from_meta = call
            .metadata
            .as_ref()
            .and_then(|m| m.hangup_side)
            .filter(|s| *s != Side::Unknown);
        let (side, source) = match from_meta {
            Some(s) => (s, "话单".to_string()),
            None => {
                let h = &call.metrics.hangup;
                let source = match h.source.as_str() {
                    "metadata" => "话单",
                    _ => "推断",
                };
                let source = if h.reason.is_empty() {
                    source.to_string()
                } else {
                    format!("{source}：{}", h.reason)
                };
                (h.side, source)
            }
        };
        let wanted = match self.side {
            HangupSide::Agent => Side::Agent,
            HangupSide::Customer => Side::Customer,
        };
        // Nobody was cut off mid-sentence: whoever hung up, this cannot have happened.
        if self.while_customer_speaking && !call.metrics.ended_while_customer_speaking {
            return Outcome::clear();
        }
        if side == Side::Unknown {
            return Outcome::unknown("hang-up side unknown", vec![]);
        }
        let hit = side == wanted
            && (!self.while_customer_speaking || call.metrics.ended_while_customer_speaking);
        let who = if wanted == Side::Agent {
            "座席"
        } else {
            "客户"
        };
        let d = cx.view.duration;
        let note = format!("{who}先挂机（{source}）");
        Outcome::from_bool(hit, 1, vec![Evidence::span((d - 1.0).max(0.0), d, note)])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;
    use crate::record::{CallMeta, Hangup, Side};

    #[test]
    fn metadata_wins_over_inference() {
        let mut c = call(&[("a", 0.0, 30.0, "再见")]);
        let agent_first = cond(r#"{ kind = "hangup" }"#);
        assert_eq!(eval(&agent_first, &c).verdict, Verdict::Unknown);
        c.metrics.hangup = Hangup {
            side: Side::Agent,
            source: "inferred".into(),
            reason: "agent spoke last".into(),
        };
        let o = eval(&agent_first, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "座席先挂机（推断：agent spoke last）");
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (29.0, 30.0));
        c.metadata = Some(CallMeta {
            hangup_side: Some(Side::Customer),
            ..CallMeta::default()
        });
        assert_eq!(eval(&agent_first, &c).verdict, Verdict::Clear);
        assert_eq!(
            eval(&cond(r#"{ kind = "hangup", side = "customer" }"#), &c).verdict,
            Verdict::Hit
        );
    }

    #[test]
    fn cut_off_while_customer_speaking() {
        let mut c = call(&[("c", 0.0, 30.0, "我还没说完")]);
        let k = cond(r#"{ kind = "hangup", side = "agent", while_customer_speaking = true }"#);
        // Side unknown, but the customer was not cut off: clear, not a review.
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        c.metrics.ended_while_customer_speaking = true;
        assert_eq!(eval(&k, &c).verdict, Verdict::Unknown);
        c.metrics.ended_while_customer_speaking = false;
        c.metrics.hangup.side = Side::Agent;
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        c.metrics.ended_while_customer_speaking = true;
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
    }
}
