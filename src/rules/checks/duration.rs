//! `duration`: calls that are suspiciously long or short.

use super::{secs, Compiler, Ctx, Evidence, Outcome};
use serde::Deserialize;

documented! { EXPLAIN,
/// `duration`: the call is longer than `longer_than_s` or shorter than `shorter_than_s`.
///
/// ## What it checks
/// Compares the length of the recording (or, without audio analysis, the end of the last
/// utterance) with the limits; give one or both. Very long calls (超长通话) and very short ones
/// (possible 抢挂 or dropped calls) are classic targets for special listening.
///
/// ## Example
/// ```toml
/// when = { kind = "duration", longer_than_s = 1200 }
/// when = { kind = "duration", shorter_than_s = 15 }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Duration {
    #[serde(default)]
    pub longer_than_s: Option<f64>,
    #[serde(default)]
    pub shorter_than_s: Option<f64>,
}
}

impl Duration {
    pub fn compile(&mut self, cx: &mut Compiler) {
        if self.longer_than_s.is_none() && self.shorter_than_s.is_none() {
            cx.problem("", "give longer_than_s and/or shorter_than_s");
        }
        for (k, v) in [
            ("longer_than_s", self.longer_than_s),
            ("shorter_than_s", self.shorter_than_s),
        ] {
            if v.is_some_and(|v| !super::is_positive(v)) {
                cx.problem(k, format!("{k} must be a positive number of seconds"));
            }
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let d = cx.view.duration;
        if d <= 0.0 {
            return Outcome::unknown("call length unknown", vec![]);
        }
        let long = self.longer_than_s.is_some_and(|l| d > l);
        let short = self.shorter_than_s.is_some_and(|s| d < s);
        let note = format!(
            "通话时长 {}{}",
            secs(d),
            if long { "，过长" } else { "，过短" }
        );
        Outcome::from_bool(long || short, 1, vec![Evidence::span(0.0, d, note)])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;

    #[test]
    fn long_and_short_calls() {
        let mut c = call(&[("a", 0.0, 2.0, "您好")]);
        c.duration_s = 1500.0;
        let long = cond(r#"{ kind = "duration", longer_than_s = 1200 }"#);
        let o = eval(&long, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "通话时长 1500.0 s，过长");
        let short = cond(r#"{ kind = "duration", shorter_than_s = 15 }"#);
        assert_eq!(eval(&short, &c).verdict, Verdict::Clear);
        c.duration_s = 8.0;
        assert_eq!(eval(&short, &c).evidence[0].note, "通话时长 8.0 s，过短");
        assert_eq!(eval(&long, &c).verdict, Verdict::Clear);
        // Without audio, the transcript's end is the length.
        c.duration_s = 0.0;
        assert_eq!(eval(&short, &c).evidence[0].end, 2.0);
    }
}
