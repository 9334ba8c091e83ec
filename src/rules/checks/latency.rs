//! `latency`: slow replies to the customer.

use super::{secs, Compiler, Ctx, Evidence, Outcome};
use serde::Deserialize;

documented! { EXPLAIN,
/// `latency`: the agent answers the customer slowly (应答不及时).
///
/// ## What it checks
/// Reads the response latencies found by the acoustic stage (end of a customer turn → start of
/// the agent's reply). Each latency longer than `longer_than_s` is an occurrence with its span;
/// the condition hits when there are at least `at_least` (default 1). Unknown when the call was
/// not analysed acoustically.
///
/// ## Example
/// ```toml
/// when = { kind = "latency", longer_than_s = 5 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub longer_than_s: f64,
    #[serde(default = "one")]
    pub at_least: usize,
}
}

fn one() -> usize {
    1
}

impl Latency {
    pub fn compile(&mut self, cx: &mut Compiler) {
        if !super::is_positive(self.longer_than_s) {
            cx.problem(
                "longer_than_s",
                "longer_than_s must be a positive number of seconds",
            );
        }
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
            .latencies
            .iter()
            .filter(|l| l.seconds > self.longer_than_s)
            .map(|l| {
                Evidence::span(
                    l.customer_end,
                    l.agent_start,
                    format!("应答等待 {}", secs(l.seconds)),
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
    use crate::record::Latency;

    #[test]
    fn slow_replies_are_occurrences() {
        let mut c = call(&[("a", 0.0, 2.0, "您好")]);
        c.metrics.duration_s = 60.0;
        let l = |s: f64, e: f64| Latency {
            customer_end: s,
            agent_start: e,
            seconds: e - s,
        };
        c.findings.latencies = vec![l(3.0, 3.5), l(10.0, 17.0), l(30.0, 36.5)];
        let o = eval(&cond(r#"{ kind = "latency", longer_than_s = 5 }"#), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 2);
        assert_eq!(o.evidence[0].note, "应答等待 7.0 s");
        assert_eq!(
            eval(
                &cond(r#"{ kind = "latency", longer_than_s = 5, at_least = 3 }"#),
                &c
            )
            .verdict,
            Verdict::Clear
        );
    }
}
