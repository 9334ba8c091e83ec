//! `keywords`: phrases said in the call.

use super::said::PhraseSet;
use super::{Compiler, Ctx, Evidence, Names, Outcome, Position, RoleFilter};
use crate::text::MatchMode;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeSet;

documented! { EXPLAIN,
/// `keywords`: phrases said in the call — any of them, all of them, or at least N different
/// ones.
///
/// ## What it checks
/// Looks for `phrases` (inline) and the phrases of `lexicon` (one name or a list; files in
/// `rules/lexicons/NAME.txt`) in the utterances chosen by `role` and `position`. `need` is
/// `"any"` (default), `"all"`, or a number N of different phrases. Every hit is an occurrence,
/// with the utterance, its time and the text as transcribed. A hit that overlaps one of
/// `exclude` is dropped (e.g. 不知道 inside 不知道您是否方便).
///
/// `mode` chooses how phrases are compared: `exact`; `token` (whole jieba words only);
/// `pinyin` (fuzzy toneless pinyin, so 公号 matches 工号, plus one edit for phrases of 6+
/// characters, two for 12+); `auto` (default): `token` for one character, `pinyin` for two or
/// three characters but only on whole words and never when the sound-alike is a word of its own
/// (在建 is not 再见), plain `pinyin` for longer phrases. Punctuation, full-width forms and number
/// forms (一零八六 = 1086, 三十 = 30) never matter, and numbers match whole (12315 is not found
/// in 12315678).
///
/// ## Example
/// ```toml
/// when = { kind = "keywords", lexicon = "forbidden", role = "agent", exclude = ["不知道您"] }
/// when = { kind = "keywords", phrases = ["亲"], mode = "token", role = "agent" }
/// when = { kind = "keywords", lexicon = "polite", need = 3, role = "agent" }
/// ```
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Keywords {
    pub phrases: Vec<String>,
    pub lexicon: Names,
    pub mode: MatchMode,
    pub exclude: Vec<String>,
    pub role: RoleFilter,
    pub position: Option<Position>,
    pub need: Need,
    #[serde(skip)]
    set: PhraseSet,
}
}

/// How many of the phrases must be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Need {
    #[default]
    Any,
    All,
    AtLeast(usize),
}

impl<'de> Deserialize<'de> for Need {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Need;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"any\", \"all\" or a number of different phrases")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Need, E> {
                match v {
                    "any" => Ok(Need::Any),
                    "all" => Ok(Need::All),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Need, E> {
                match usize::try_from(v) {
                    Ok(n) if n >= 1 => Ok(Need::AtLeast(n)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Need, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
        }
        d.deserialize_any(V)
    }
}

impl Need {
    /// Different phrases required out of `total`.
    pub fn required(self, total: usize) -> usize {
        match self {
            Need::Any => 1,
            Need::All => total,
            Need::AtLeast(n) => n,
        }
    }
}

impl Keywords {
    pub fn compile(&mut self, cx: &mut Compiler) {
        self.set = PhraseSet::compile(
            cx,
            &self.phrases,
            &self.lexicon,
            self.mode,
            &self.exclude,
            true,
        );
        if let Need::AtLeast(n) = self.need {
            if n > self.set.phrases.len() && !self.set.is_empty() {
                cx.problem(
                    "need",
                    format!(
                        "need = {n} but only {} phrases are listed",
                        self.set.phrases.len()
                    ),
                );
            }
        }
        if let Some(p) = &self.position {
            p.compile(cx);
        }
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let mut found = BTreeSet::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        for u in cx
            .view
            .text_scope(self.role, self.position.as_ref(), cx.lenient)
        {
            for (i, m) in self.set.hits(u) {
                found.insert(self.set.phrases[i].raw().to_string());
                evidence.push(self.set.evidence(u, i, &m));
            }
        }
        // Distinct phrases: a lexicon may list the same phrase twice.
        let distinct: BTreeSet<&str> = self.set.phrases.iter().map(|p| p.raw()).collect();
        let n = evidence.len();
        Outcome::from_bool(
            found.len() >= self.need.required(distinct.len()),
            n,
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids, problems, texts};
    use super::super::Verdict;

    #[test]
    fn first_and_last_count_turns_so_a_phrase_cut_in_fragments_is_found() {
        // The recogniser cut one greeting in three; the company name straddles two pieces.
        let c = call(&[
            ("a", 0.5, 1.9, "早上好，这里"),
            ("a", 2.0, 2.9, "有个客服中"),
            ("a", 3.0, 4.7, "心，请问有什么可以帮您"),
            ("c", 5.5, 8.0, "我的宽带断了"),
            ("a", 9.0, 10.0, "好的"),
            ("a", 11.5, 12.0, "银行"),
        ]);
        let k = |p: &str| {
            cond(&format!(
                r#"{{ kind = "keywords", phrases = ["客服中心"], role = "agent", position = {{ {p} }} }}"#
            ))
        };
        let o = eval(&k("first = 1"), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        // The evidence is the whole turn, from its first fragment.
        assert_eq!(o.evidence[0].utterance, Some(0));
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (0.5, 4.7));
        assert_eq!(o.evidence[0].text.as_deref(), Some("客服中心"));
        // A customer turn ends the agent's turn; a pause of 1.5 s does too.
        let b = cond(
            r#"{ kind = "keywords", phrases = ["银行"], role = "agent", position = { first = 2 } }"#,
        );
        assert_eq!(eval(&b, &c).verdict, Verdict::Clear);
        let b = cond(
            r#"{ kind = "keywords", phrases = ["银行"], role = "agent", position = { first = 3 } }"#,
        );
        assert_eq!(eval(&b, &c).verdict, Verdict::Hit);
        // Without a position every utterance is read on its own, as before.
        let k = cond(r#"{ kind = "keywords", phrases = ["客服中心"], role = "agent" }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
    }

    fn c() -> crate::record::CallRecord {
        call(&[
            ("a", 0.0, 3.0, "您好，很高兴为您服务"),
            ("c", 3.0, 6.0, "我不知道怎么弄"),
            ("a", 6.0, 9.0, "这个我不知道，不归我管"),
            ("a", 9.0, 12.0, "不知道您是否方便"),
        ])
    }

    #[test]
    fn any_phrase_with_role_and_every_occurrence() {
        let k = cond(
            r#"{ kind = "keywords", phrases = ["不知道", "不归我管"], role = "agent", exclude = ["不知道您"] }"#,
        );
        let o = eval(&k, &c());
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 2);
        assert_eq!(ids(&o), [2, 2]);
        assert_eq!(texts(&o), ["不知道", "不归我管"]);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (6.0, 9.0));
    }

    #[test]
    fn customer_speech_is_not_the_agents() {
        let k = cond(r#"{ kind = "keywords", phrases = ["怎么弄"], role = "agent" }"#);
        assert_eq!(eval(&k, &c()).verdict, Verdict::Clear);
        let k = cond(r#"{ kind = "keywords", phrases = ["怎么弄"] }"#);
        assert_eq!(ids(&eval(&k, &c())), [1]);
    }

    #[test]
    fn all_and_at_least_n() {
        let k = cond(r#"{ kind = "keywords", phrases = ["您好", "再见"], need = "all" }"#);
        assert_eq!(eval(&k, &c()).verdict, Verdict::Clear);
        let k = cond(r#"{ kind = "keywords", phrases = ["您好", "不归我管"], need = "all" }"#);
        assert_eq!(eval(&k, &c()).verdict, Verdict::Hit);
        let k =
            cond(r#"{ kind = "keywords", lexicon = "greetings", phrases = ["再见"], need = 2 }"#);
        let o = eval(&k, &c());
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(texts(&o), ["您好", "很高兴为您服务"]);
    }

    #[test]
    fn position_limits_the_search() {
        let k =
            cond(r#"{ kind = "keywords", phrases = ["不归我管"], position = { first_s = 5 } }"#);
        assert_eq!(eval(&k, &c()).verdict, Verdict::Clear);
    }

    #[test]
    fn homophones_match_in_the_default_mode_only() {
        let call = call(&[("a", 0.0, 3.0, "我的公号是1086")]);
        let k = cond(r#"{ kind = "keywords", phrases = ["工号一零八六"] }"#);
        // 公号 sounds like 工号; the inserted 是 is the one edit a 6-character phrase may have.
        assert_eq!(texts(&eval(&k, &call)), ["公号是1086"]);
        let k = cond(r#"{ kind = "keywords", phrases = ["工号一零八六"], mode = "exact" }"#);
        assert_eq!(eval(&k, &call).verdict, Verdict::Clear);
    }

    #[test]
    fn no_transcript_is_unknown() {
        let k = cond(r#"{ kind = "keywords", phrases = ["您好"] }"#);
        assert_eq!(eval(&k, &call(&[])).verdict, Verdict::Unknown);
    }

    #[test]
    fn mono_calls_with_unknown_speakers_are_uncertain_when_it_matters() {
        // The phrase is only in an utterance of unknown speaker: it may or may not be the agent's.
        let call = call(&[("m", 0.0, 3.0, "这个不归我管"), ("a", 3.0, 5.0, "好的")]);
        let k = cond(r#"{ kind = "keywords", phrases = ["不归我管"], role = "agent" }"#);
        let o = eval(&k, &call);
        assert_eq!(o.verdict, Verdict::Unknown);
        assert_eq!(ids(&o), [0]);
        // Found in a certain agent utterance: a hit either way.
        let call2 =
            super::super::testing::call(&[("m", 0.0, 3.0, "嗯"), ("a", 3.0, 5.0, "不归我管")]);
        assert_eq!(eval(&k, &call2).verdict, Verdict::Hit);
    }

    #[test]
    fn problems_are_reported() {
        assert_eq!(
            problems(r#"{ kind = "keywords", role = "agent" }"#),
            ["no phrases to look for: give `phrases` or `lexicon`"]
        );
        assert_eq!(
            problems(r#"{ kind = "keywords", phrases = ["a", "b"], need = 3 }"#),
            ["need = 3 but only 2 phrases are listed"]
        );
        assert_eq!(
            problems(r#"{ kind = "keywords", lexicon = ["greetings", "greeting"] }"#),
            ["unknown lexicon `greeting` (known: apology, greetings)"]
        );
    }
}
