//! `silence`: dead air (冷场) found by the acoustic stage.

use super::{secs, Compiler, Ctx, Evidence, Outcome};
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
/// ## Example
/// ```toml
/// when = { kind = "silence", longer_than_s = 10 }
/// when = { kind = "silence", longer_than_s = 5, at_least = 3 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    #[serde(default)]
    pub longer_than_s: f64,
    #[serde(default = "one")]
    pub at_least: usize,
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
            .filter(|s| s.duration() > self.longer_than_s)
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
    fn unknown_without_acoustics() {
        let c = call(&[("a", 0.0, 2.0, "您好")]);
        assert_eq!(
            eval(&cond(r#"{ kind = "silence", longer_than_s = 10 }"#), &c).verdict,
            Verdict::Unknown
        );
    }
}
