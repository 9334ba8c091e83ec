//! `interruptions`: one party starting to speak over the other (抢话).

use super::{Compiler, Ctx, Evidence, Outcome, RoleFilter};
use crate::record::Role;
use serde::Deserialize;

documented! { EXPLAIN,
/// `interruptions`: one party cuts in while the other is speaking (抢话, 打断客户).
///
/// ## What it checks
/// Reads the interruptions found by the acoustic stage. `by` chooses who interrupts: `"agent"`
/// (default), `"customer"` or `"any"`. Each interruption is an occurrence with its overlap span;
/// the condition hits when there are at least `at_least` (default 1). Unknown when the call was
/// not analysed acoustically; on mono recordings the acoustic stage finds none.
///
/// ## Example
/// ```toml
/// when = { kind = "interruptions", by = "agent", at_least = 2 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Interruptions {
    #[serde(default = "agent")]
    pub by: RoleFilter,
    #[serde(default = "one")]
    pub at_least: usize,
}
}

fn agent() -> RoleFilter {
    RoleFilter::Agent
}

fn one() -> usize {
    1
}

impl Interruptions {
    pub fn compile(&mut self, cx: &mut Compiler) {
        if self.at_least == 0 {
            cx.problem("at_least", "at_least must be at least 1");
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_acoustics() {
            return Outcome::unknown("no acoustic analysis", vec![]);
        }
        let evidence: Vec<Evidence> = cx
            .view
            .call
            .findings
            .interruptions
            .iter()
            .filter(|i| i.by != Role::Mixed && self.by.admits(i.by, false))
            .map(|i| {
                Evidence::span(
                    i.span.start,
                    i.span.end,
                    format!("{}在 {:.1} s 打断对方", i.by.zh(), i.at),
                )
            })
            .collect();
        let n = evidence.len();
        Outcome::from_bool(n >= self.at_least, n, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;
    use crate::record::{Interruption, Role, Span};

    #[test]
    fn counts_interruptions_by_role() {
        let mut c = call(&[("a", 0.0, 2.0, "您好")]);
        c.metrics.duration_s = 60.0;
        let at = |by, t: f64| Interruption {
            by,
            at: t,
            span: Span::new(t, t + 1.0),
        };
        c.findings.interruptions = vec![
            at(Role::Agent, 5.0),
            at(Role::Customer, 9.0),
            at(Role::Agent, 20.0),
        ];
        let o = eval(&cond(r#"{ kind = "interruptions", at_least = 2 }"#), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 2);
        assert_eq!(o.evidence[0].note, "座席在 5.0 s 打断对方");
        let o = eval(
            &cond(r#"{ kind = "interruptions", by = "customer", at_least = 2 }"#),
            &c,
        );
        assert_eq!(o.verdict, Verdict::Clear);
        let o = eval(
            &cond(r#"{ kind = "interruptions", by = "any", at_least = 3 }"#),
            &c,
        );
        assert_eq!(o.occurrences, 3);
    }
}
