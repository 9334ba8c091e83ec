//! `regex`: a regular expression over the normalised text of each utterance.

use super::said::text_evidence;
use super::{Compiler, Ctx, Evidence, Outcome, Position, RoleFilter};
use crate::rules::view::UttView;
use regex::Regex;
use serde::Deserialize;

documented! { EXPLAIN,
/// `regex`: a regular expression over each utterance's normalised text, with exclusions.
///
/// ## What it checks
/// `pattern` (Rust `regex` syntax) runs on the utterance text after normalisation: punctuation
/// and spaces removed, full-width letters and digits made half-width, letters lower-cased, and
/// Chinese numbers written as digits (工号一零八六 → 工号1086, 三十天 → 30天). So `工号\d{3,}`
/// finds a staff number however it was transcribed. A hit that overlaps a match of one of the
/// `exclude` patterns is dropped. Every remaining hit is an occurrence; the evidence quotes the
/// original text. `role` and `position` choose the utterances, as in `keywords`.
///
/// ## Example
/// ```toml
/// # the agent states a staff number of at least three digits
/// when = { kind = "regex", pattern = '工号\d{3,}', role = "agent" }
/// # "随便" as a dismissal, but not 随便问一下
/// when = { kind = "regex", pattern = '随便(你|吧)', exclude = ['随便问'], role = "agent" }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RegexCheck {
    pub pattern: String,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub role: RoleFilter,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(skip)]
    re: Option<Regex>,
    #[serde(skip)]
    ex: Vec<Regex>,
}
}

/// Compile `pattern`, reporting a bad one at `key`.
pub fn compile_pattern(cx: &mut Compiler, key: &str, pattern: &str) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(re) => Some(re),
        Err(e) => {
            // The regex crate's messages span several lines with a caret diagram; keep the last
            // line, which says what is wrong.
            let msg = e.to_string();
            let reason = msg
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or(&msg)
                .trim();
            let reason = reason.trim_start_matches("error: ");
            cx.problem(key, format!("bad regex `{pattern}`: {reason}"));
            None
        }
    }
}

/// Hits of `re` in utterance `u` not overlapping a match of `exclude`.
pub fn regex_hits(re: &Regex, exclude: &[Regex], u: &UttView) -> Vec<Evidence> {
    let norm = u.prep.normalized_str();
    let excluded: Vec<(usize, usize)> = exclude
        .iter()
        .flat_map(|x| x.find_iter(norm).map(|m| (m.start(), m.end())))
        .collect();
    re.find_iter(norm)
        .filter(|m| !m.is_empty())
        .filter(|m| !excluded.iter().any(|&(s, e)| m.start() < e && s < m.end()))
        .map(|m| {
            let s = u.prep.norm_char_index(m.start());
            let e = u.prep.norm_char_index(m.end());
            text_evidence(u, re.as_str(), &u.prep.quote(s, e, 0))
        })
        .collect()
}

impl RegexCheck {
    pub fn compile(&mut self, cx: &mut Compiler) {
        self.re = compile_pattern(cx, "pattern", &self.pattern);
        self.ex = self
            .exclude
            .iter()
            .filter_map(|p| compile_pattern(cx, "exclude", p))
            .collect();
        if let Some(p) = &self.position {
            p.compile(cx);
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let Some(re) = &self.re else {
            return Outcome::unknown("pattern did not compile", vec![]);
        };
        let evidence: Vec<Evidence> = cx
            .view
            .text_scope(self.role, self.position.as_ref(), cx.lenient)
            .into_iter()
            .flat_map(|u| regex_hits(re, &self.ex, u))
            .collect();
        let n = evidence.len();
        Outcome::from_bool(n > 0, n, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, problems, texts};
    use super::super::Verdict;

    #[test]
    fn runs_on_normalised_text_and_quotes_the_original() {
        let c = call(&[
            ("a", 0.0, 3.0, "您好，我的工号是：一零八六。"),
            ("a", 3.0, 6.0, "工号 2046"),
            ("c", 6.0, 9.0, "工号999"),
        ]);
        let k = cond(r#"{ kind = "regex", pattern = '工号是?\d{3,}', role = "agent" }"#);
        let o = eval(&k, &c);
        assert_eq!(o.occurrences, 2);
        assert_eq!(texts(&o), ["工号是：一零八六", "工号 2046"]);
        assert_eq!(o.evidence[0].phrase.as_deref(), Some(r"工号是?\d{3,}"));
    }

    #[test]
    fn exclusions_drop_overlapping_hits() {
        let c = call(&[("a", 0.0, 3.0, "随便问一下"), ("a", 3.0, 6.0, "那随便你吧")]);
        let k = cond(r#"{ kind = "regex", pattern = '随便', exclude = ['随便问'] }"#);
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(texts(&o), ["随便"]);
        assert_eq!(o.evidence[0].utterance, Some(1));
    }

    #[test]
    fn bad_patterns_are_reported() {
        let p = problems(r#"{ kind = "regex", pattern = '工号(\d+', exclude = ['[a-'] }"#);
        assert_eq!(p.len(), 2);
        assert!(
            p[0].starts_with("bad regex `工号(\\d+`: unclosed group"),
            "{}",
            p[0]
        );
        assert!(p[1].starts_with("bad regex `[a-`:"), "{}", p[1]);
    }
}
