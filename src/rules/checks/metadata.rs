//! `metadata`: facts from the switch (queue, direction, agent, extra columns).

use super::{Compiler, Ctx, Evidence, Outcome};
use crate::record::Direction;
use serde::Deserialize;
use std::collections::BTreeMap;

documented! { EXPLAIN,
/// `metadata`: the call's metadata row (the `--meta` CSV) matches.
///
/// ## What it checks
/// Every given key must match: `queue` (a list of names; `*` is a wildcard, so `"信用卡*"`
/// matches 信用卡中心 and 信用卡分期), `direction` (`"inbound"` or `"outbound"`), `agent` (agent
/// ids, wildcards allowed) and `fields` (other CSV columns: column name → accepted values).
/// Matching ignores ASCII case. Unknown when the call has no metadata or lacks a column asked
/// for — unless `missing = "clear"`: for a column only some sites export (an `outcome` column
/// with the 办理结果), where a call without it should not wait for review. Mostly used inside
/// `all`, to make an item apply to one line of business only.
///
/// ## Example
/// ```toml
/// [conditions.bank_line]
/// kind = "metadata"
/// queue = ["信用卡*", "bank*"]
///
/// [conditions.vip]
/// kind = "metadata"
/// fields = { customer_level = ["VIP", "钻石"] }
///
/// [conditions.recorded_opened]
/// kind = "metadata"
/// fields = { outcome = ["已开通"] }
/// missing = "clear"
/// ```
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Metadata {
    pub queue: Vec<String>,
    pub direction: Option<Direction>,
    pub agent: Vec<String>,
    pub fields: BTreeMap<String, Vec<String>>,
    /// What a call without metadata or without a column asked for gives.
    pub missing: Missing,
}
}

/// The answer when the metadata a condition reads is absent.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Send the item to review (the default: the engine does not guess).
    #[default]
    Unknown,
    /// Treat the call as not matching.
    Clear,
}

/// `pattern` with `*` wildcards matches `text` (ASCII case ignored).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && p[i] != '*' && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

impl Metadata {
    pub fn compile(&mut self, cx: &mut Compiler) {
        if self.queue.is_empty()
            && self.direction.is_none()
            && self.agent.is_empty()
            && self.fields.is_empty()
        {
            cx.problem("", "give queue, direction, agent or fields");
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let Some(m) = &cx.view.call.metadata else {
            return match self.missing {
                Missing::Unknown => Outcome::unknown("no call metadata", vec![]),
                Missing::Clear => Outcome::clear(),
            };
        };
        let mut notes = Vec::new();
        let mut check =
            |name: &str, value: Option<&str>, ok: &dyn Fn(&str) -> bool| -> Option<bool> {
                let v = value?;
                notes.push(format!("{name}={v}"));
                Some(ok(v))
            };
        let mut results: Vec<Option<bool>> = Vec::new();
        if !self.queue.is_empty() {
            results.push(check("queue", m.queue.as_deref(), &|v| {
                self.queue.iter().any(|p| glob(p, v))
            }));
        }
        if let Some(d) = self.direction {
            let v = m.direction.map(|x| {
                if x == Direction::Inbound {
                    "inbound"
                } else {
                    "outbound"
                }
            });
            results.push(check("direction", v, &|_| m.direction == Some(d)));
        }
        if !self.agent.is_empty() {
            results.push(check("agent", m.agent_id.as_deref(), &|v| {
                self.agent.iter().any(|p| glob(p, v))
            }));
        }
        for (col, accepted) in &self.fields {
            results.push(check(col, m.extra.get(col).map(String::as_str), &|v| {
                accepted.iter().any(|p| glob(p, v))
            }));
        }
        if results.contains(&Some(false)) {
            return Outcome::clear();
        }
        if results.iter().any(Option::is_none) {
            if self.missing == Missing::Clear {
                return Outcome::clear();
            }
            return Outcome::unknown("call metadata lacks a column this condition reads", vec![]);
        }
        Outcome::hit(
            1,
            vec![Evidence::span(0.0, cx.view.duration, notes.join(", "))],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;
    use super::glob;
    use crate::record::{CallMeta, Direction};

    #[test]
    fn wildcards() {
        assert!(glob("信用卡*", "信用卡中心"));
        assert!(glob("*银行*", "招商银行信用卡"));
        assert!(glob("Bank", "bank"));
        assert!(!glob("信用卡*", "借记卡"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "acbx"));
    }

    #[test]
    fn matches_every_given_key() {
        let mut c = call(&[("a", 0.0, 2.0, "亲")]);
        let k = cond(r#"{ kind = "metadata", queue = ["信用卡*"], direction = "inbound" }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Unknown);
        c.metadata = Some(CallMeta {
            queue: Some("信用卡中心".into()),
            direction: Some(Direction::Inbound),
            extra: [("level".to_string(), "VIP".to_string())].into(),
            ..CallMeta::default()
        });
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "queue=信用卡中心, direction=inbound");
        let k = cond(r#"{ kind = "metadata", direction = "outbound" }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        let k = cond(r#"{ kind = "metadata", fields = { level = ["vip"] } }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
        // A column the call does not have: unknown, unless another key already fails.
        let k = cond(r#"{ kind = "metadata", agent = ["A0*"] }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Unknown);
        let k = cond(r#"{ kind = "metadata", agent = ["A0*"], direction = "outbound" }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
    }

    #[test]
    fn missing_clear_reads_an_absent_column_as_no_match() {
        let k =
            cond(r#"{ kind = "metadata", fields = { outcome = ["已开通"] }, missing = "clear" }"#);
        let mut c = call(&[("a", 0.0, 2.0, "您好")]);
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        c.metadata = Some(CallMeta::default());
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        c.metadata = Some(CallMeta {
            extra: [("outcome".to_string(), "已开通".to_string())].into(),
            ..CallMeta::default()
        });
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
        let strict = cond(r#"{ kind = "metadata", fields = { outcome = ["已开通"] } }"#);
        c.metadata = Some(CallMeta::default());
        assert_eq!(eval(&strict, &c).verdict, Verdict::Unknown);
    }
}
