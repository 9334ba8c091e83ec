//! What one utterance must contain: the shared building block of the text kinds.
//!
//! [`PhraseSet`] is a compiled list of phrases (inline and from lexicons) with exclusions;
//! [`Said`] is the `first`/`then`/`of` sub-table of `context` and `counts`, which can also test
//! a pattern or an utterance's classifier score.

use super::classifier::{check_head_labels, check_probability, ScoreAtLeast};
use super::{Compiler, Ctx, Evidence, Names, Position, RoleFilter};
use crate::rules::view::UttView;
use crate::text::{MatchMode, Phrase, TextMatch};
use regex::Regex;
use serde::Deserialize;

/// Compiled phrases with their exclusions.
#[derive(Clone, Debug, Default)]
pub struct PhraseSet {
    pub phrases: Vec<Phrase>,
    pub exclude: Vec<Phrase>,
}

impl PhraseSet {
    /// Compile inline `phrases` and the phrases of the named lexicons. `required`: report an
    /// empty set as a problem.
    pub fn compile(
        cx: &mut Compiler,
        phrases: &[String],
        lexicon: &Names,
        mode: MatchMode,
        exclude: &[String],
        required: bool,
    ) -> PhraseSet {
        let mut set = PhraseSet::default();
        for name in &lexicon.0 {
            match cx.lexicons.get(name) {
                Some(words) => set
                    .phrases
                    .extend(words.iter().filter_map(|w| Phrase::new(w, mode))),
                None => {
                    let known = cx.lexicons.names().join(", ");
                    cx.problem(
                        "lexicon",
                        format!("unknown lexicon `{name}` (known: {known})"),
                    );
                }
            }
        }
        for (key, list, out) in [
            ("phrases", phrases, &mut set.phrases),
            ("exclude", exclude, &mut set.exclude),
        ] {
            for p in list {
                match Phrase::new(p, mode) {
                    Some(ph) => out.push(ph),
                    None => cx.problem(
                        key,
                        format!("phrase `{p}` has no letters, digits or Chinese characters"),
                    ),
                }
            }
        }
        if required
            && set.phrases.is_empty()
            && lexicon.0.iter().all(|n| cx.lexicons.get(n).is_some())
        {
            cx.problem("", "no phrases to look for: give `phrases` or `lexicon`");
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Hits in one utterance as (phrase index, match), in text order. A hit overlapping an
    /// exclusion is dropped; of overlapping hits of different phrases the longer one is kept.
    pub fn hits(&self, u: &UttView) -> Vec<(usize, TextMatch)> {
        let excluded: Vec<TextMatch> = self.exclude.iter().flat_map(|e| e.find(&u.prep)).collect();
        let mut all: Vec<(usize, TextMatch)> = self
            .phrases
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.find(&u.prep).into_iter().map(move |m| (i, m)))
            .filter(|(_, m)| !excluded.iter().any(|x| overlaps(x, m)))
            .collect();
        all.sort_by_key(|(_, m)| (m.edits, std::cmp::Reverse(m.end - m.start), m.start));
        let mut kept: Vec<(usize, TextMatch)> = Vec::new();
        for (i, m) in all {
            if !kept.iter().any(|(_, k)| overlaps(k, &m)) {
                kept.push((i, m));
            }
        }
        kept.sort_by_key(|(_, m)| m.start);
        kept
    }

    /// Evidence for a hit.
    pub fn evidence(&self, u: &UttView, i: usize, m: &TextMatch) -> Evidence {
        text_evidence(u, self.phrases[i].raw(), m)
    }
}

fn overlaps(a: &TextMatch, b: &TextMatch) -> bool {
    a.start < b.end && b.start < a.end
}

/// Evidence for text `m` matched by `phrase` in utterance `u`.
pub fn text_evidence(u: &UttView, phrase: &str, m: &TextMatch) -> Evidence {
    Evidence {
        utterance: Some(u.u.id),
        role: Some(u.u.role),
        start: u.u.start,
        end: u.u.end,
        text: Some(m.text.clone()),
        phrase: Some(phrase.to_string()),
        note: if m.edits > 0 {
            format!("近似匹配（{}处差异）", m.edits)
        } else {
            String::new()
        },
    }
}

documented! { EXPLAIN,
/// `said`: the sub-table that describes one utterance in `context` (`first`, `then`) and
/// `counts` (`of`, `then`). Not a kind of its own.
///
/// ## What it checks
/// An utterance matches when it contains one of `phrases` / the `lexicon` phrases (in `mode`,
/// minus `exclude`), or matches `pattern` (a regex on the normalised text), and, when `score`
/// is given, its classifier probability for `score.head`/`score.label` is at least
/// `score.at_least`. At least one of phrases, lexicon, pattern or score is needed. `role` and
/// `position` choose the utterances read, as in `keywords`.
///
/// ## Example
/// ```toml
/// first = { lexicon = "complaint", role = "customer" }
/// then = { role = "agent", score = { head = "attitude", label = "rude", at_least = 0.7 } }
/// ```
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Said {
    pub phrases: Vec<String>,
    pub lexicon: Names,
    pub mode: MatchMode,
    pub exclude: Vec<String>,
    pub pattern: Option<String>,
    pub role: RoleFilter,
    pub position: Option<Position>,
    pub score: Option<ScoreAtLeast>,
    #[serde(skip)]
    set: PhraseSet,
    #[serde(skip)]
    regex: Option<Regex>,
}
}

impl Said {
    pub fn compile(&mut self, cx: &mut Compiler) {
        let has_text = !self.phrases.is_empty() || !self.lexicon.0.is_empty();
        self.set = PhraseSet::compile(
            cx,
            &self.phrases,
            &self.lexicon,
            self.mode,
            &self.exclude,
            false,
        );
        if let Some(p) = &self.pattern {
            self.regex = super::regex::compile_pattern(cx, "pattern", p);
        }
        if let Some(s) = &self.score {
            cx.nested("score", |cx| {
                check_head_labels(cx, &s.head, "label", &s.label.0);
                check_probability(cx, "at_least", s.at_least);
            });
        }
        if !has_text && self.pattern.is_none() && self.score.is_none() {
            cx.problem(
                "",
                "nothing to match: give phrases, lexicon, pattern or score",
            );
        }
        if let Some(p) = &self.position {
            p.compile(cx);
        }
    }

    /// Utterances in scope that match, each with its evidence, in time order.
    pub fn matches<'v>(&self, cx: &Ctx<'v>) -> Vec<(&'v UttView<'v>, Vec<Evidence>)> {
        cx.view
            .text_scope(self.role, self.position.as_ref(), cx.lenient)
            .into_iter()
            .filter_map(|u| self.match_one(u).map(|ev| (u, ev)))
            .collect()
    }

    /// Evidence when `u` matches, else `None`.
    pub fn match_one(&self, u: &UttView) -> Option<Vec<Evidence>> {
        let mut ev = Vec::new();
        let wants_text = !self.set.is_empty() || self.regex.is_some();
        if wants_text {
            for (i, m) in self.set.hits(u) {
                ev.push(self.set.evidence(u, i, &m));
            }
            if let Some(re) = &self.regex {
                ev.extend(super::regex::regex_hits(re, &[], u));
            }
            if ev.is_empty() {
                return None;
            }
        }
        if let Some(s) = &self.score {
            let (label, p) = s.best(&u.u)?;
            if p < s.at_least {
                return None;
            }
            if ev.is_empty() {
                ev.push(Evidence {
                    utterance: Some(u.u.id),
                    role: Some(u.u.role),
                    start: u.u.start,
                    end: u.u.end,
                    text: Some(u.u.text.clone()),
                    phrase: None,
                    note: format!("{}.{label} = {p:.2}", s.head),
                });
            }
        }
        Some(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, lexicons};
    use super::*;
    use crate::rules::view::CallView;
    use std::collections::BTreeSet;

    fn said(src: &str) -> Said {
        let mut s: Said = toml::from_str(src).unwrap();
        let lex = lexicons();
        let names = BTreeSet::new();
        let mut cx = Compiler::new(&lex, &names, Vec::new());
        s.compile(&mut cx);
        assert!(cx.problems.is_empty(), "{:?}", cx.problems);
        s
    }

    #[test]
    fn exclusions_drop_overlapping_hits_only() {
        let c = call(&[("a", 0.0, 3.0, "不知道您是否方便，我真不知道")]);
        let v = CallView::new(&c);
        let s = said("phrases = [\"不知道\"]\nexclude = [\"不知道您\"]");
        let ev = s.match_one(&v.utts[0]).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].text.as_deref(), Some("不知道"));
        assert_eq!(ev[0].utterance, Some(0));
    }

    #[test]
    fn overlapping_phrases_keep_the_longer_hit() {
        let c = call(&[("a", 0.0, 3.0, "非常抱歉，给您添麻烦了")]);
        let v = CallView::new(&c);
        let s = said("phrases = [\"抱歉\", \"非常抱歉\"]");
        let ev = s.match_one(&v.utts[0]).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].phrase.as_deref(), Some("非常抱歉"));
    }

    #[test]
    fn score_and_pattern_conditions() {
        let mut c = call(&[
            ("a", 0.0, 3.0, "工号1086为您服务"),
            ("a", 3.0, 5.0, "你烦不烦"),
        ]);
        c.utterances[1].scores.insert(
            "attitude".into(),
            [("rude".to_string(), 0.8), ("ok".to_string(), 0.1)].into(),
        );
        let v = CallView::new(&c);
        let s = said("pattern = '工号\\d{3,}'");
        assert_eq!(
            s.match_one(&v.utts[0]).unwrap()[0].text.as_deref(),
            Some("工号1086")
        );
        assert!(s.match_one(&v.utts[1]).is_none());
        let s = said("score = { head = \"attitude\", label = \"rude\", at_least = 0.7 }");
        assert!(s.match_one(&v.utts[0]).is_none());
        assert_eq!(
            s.match_one(&v.utts[1]).unwrap()[0].note,
            "attitude.rude = 0.80"
        );
    }

    #[test]
    fn lexicon_and_problems() {
        let lex = lexicons();
        let names = BTreeSet::new();
        let mut s: Said = toml::from_str("lexicon = \"nope\"").unwrap();
        let mut cx = Compiler::new(&lex, &names, Vec::new());
        s.compile(&mut cx);
        assert_eq!(cx.problems.len(), 1);
        assert_eq!(
            cx.problems[0].1,
            "unknown lexicon `nope` (known: apology, greetings)"
        );
        let mut s: Said = toml::from_str("role = \"agent\"").unwrap();
        let mut cx = Compiler::new(&lex, &names, Vec::new());
        s.compile(&mut cx);
        assert_eq!(
            cx.problems[0].1,
            "nothing to match: give phrases, lexicon, pattern or score"
        );
    }
}
