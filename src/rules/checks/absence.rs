//! `absence`: a phrase that must be said and was not.

use super::said::PhraseSet;
use super::{Compiler, Ctx, Evidence, Names, Outcome, Position, RoleFilter};
use crate::text::MatchMode;
use serde::Deserialize;
use std::collections::BTreeSet;

documented! { EXPLAIN,
/// `absence`: something that must be said was not (greeting, closing, identity check, staff
/// number).
///
/// ## What it checks
/// Hits when none of `phrases` / `lexicon` is found in the utterances chosen by `role` and
/// `position`. With `need = "all"` every phrase must be said, and the condition hits when any
/// is missing. The evidence is the window that was searched and the phrases that were missing.
/// Matching (`mode`, `exclude`) works as in `keywords`; the default mode tolerates the
/// recogniser's homophones, so 「感谢您的来订」 still counts as the closing. When the window
/// holds speech the recogniser gave no text for, or recognised text of 1.5 s or more with
/// under one character a second (「请稍」 over 4 s), the answer is unknown: review, no
/// deduction.
///
/// ## Example
/// ```toml
/// # no greeting in the agent's first two utterances
/// when = { kind = "absence", lexicon = "greetings", role = "agent", position = { first = 2 } }
/// # staff number not stated within 15 s
/// when = { kind = "absence", phrases = ["工号"], role = "agent", position = { first_s = 15 } }
/// ```
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Absence {
    pub phrases: Vec<String>,
    pub lexicon: Names,
    pub mode: MatchMode,
    pub exclude: Vec<String>,
    pub role: RoleFilter,
    pub position: Option<Position>,
    pub need: AbsenceNeed,
    #[serde(skip)]
    set: PhraseSet,
    /// Seconds the shortest phrase takes at the fastest (see [`MIN_S_PER_CHAR`]).
    #[serde(skip)]
    shortest_s: f64,
}
}

/// Seconds per character of very fast speech (8 a second; call-centre agents average 4–5).
const MIN_S_PER_CHAR: f64 = 0.125;

/// Whether one of the phrases suffices or all must be said.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceNeed {
    #[default]
    Any,
    All,
}

impl Absence {
    pub fn compile(&mut self, cx: &mut Compiler) {
        self.set = PhraseSet::compile(
            cx,
            &self.phrases,
            &self.lexicon,
            self.mode,
            &self.exclude,
            true,
        );
        if let Some(p) = &self.position {
            p.compile(cx);
        }
        // Lost speech shorter than the shortest phrase takes to say cannot have been it.
        let chars = |p: &str| p.chars().filter(|c| c.is_alphanumeric()).count();
        let shortest = self.set.phrases.iter().map(|p| chars(p.raw())).min();
        self.shortest_s = shortest.unwrap_or(0) as f64 * MIN_S_PER_CHAR;
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let scope = cx
            .view
            .text_scope(self.role, self.position.as_ref(), cx.lenient);
        let said: BTreeSet<&str> = scope
            .iter()
            .flat_map(|u| self.set.hits(u))
            .map(|(i, _)| self.set.phrases[i].raw())
            .collect();
        let mut missing: Vec<&str> = Vec::new();
        for p in &self.set.phrases {
            if !said.contains(p.raw()) && !missing.contains(&p.raw()) {
                missing.push(p.raw());
            }
        }
        let absent = match self.need {
            AbsenceNeed::Any => said.is_empty(),
            AbsenceNeed::All => !missing.is_empty(),
        };
        if !absent {
            return Outcome::clear();
        }
        // The phrase may be in speech the recogniser lost: an inspector decides, no deduction.
        if let Some(g) = cx.view.untranscribed_in_scope(
            self.role,
            self.position.as_ref(),
            cx.lenient,
            self.shortest_s,
        ) {
            return Outcome::unknown(
                format!(
                    "{:.1}–{:.1} s的讲话未能转写（{}），无法判断是否说过",
                    g.start, g.end, g.reason
                ),
                vec![Evidence::span(g.start, g.end, "未转写的讲话".to_string())],
            );
        }
        // Or in speech it heard but hardly wrote (「请稍」 over 4 s): the same.
        if let Some(u) = cx
            .view
            .sparse_in_scope(self.role, self.position.as_ref(), cx.lenient)
        {
            let chars = u.text.chars().filter(|c| c.is_alphanumeric()).count();
            return Outcome::unknown(
                format!(
                    "{:.1}–{:.1} s的讲话只识别出{chars}个字，无法判断是否说过",
                    u.start, u.end
                ),
                vec![Evidence::span(u.start, u.end, "识别不全的讲话".to_string())],
            );
        }
        let (start, end) = match (scope.first(), scope.last()) {
            (Some(a), Some(b))
                if self
                    .position
                    .as_ref()
                    .is_some_and(|p| p.first.is_some() || p.last.is_some()) =>
            {
                (a.u.start, b.u.end)
            }
            _ => self
                .position
                .as_ref()
                .map_or((0.0, cx.view.duration), |p| p.window(cx.view.duration)),
        };
        let shown: Vec<&str> = missing.iter().take(5).copied().collect();
        let more = if missing.len() > 5 { "…" } else { "" };
        let where_ = self
            .position
            .as_ref()
            .map(|p| p.describe())
            .unwrap_or_else(|| "全程".into());
        let note = format!(
            "{}{}未说：{}{more}",
            self.role.zh(),
            where_,
            shown.join(" / ")
        );
        Outcome::hit(1, vec![Evidence::span(start, end, note)])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval};
    use super::super::Verdict;

    #[test]
    fn hits_when_nothing_is_said_in_the_window() {
        let c = call(&[
            ("c", 0.0, 2.0, "喂"),
            ("a", 2.0, 5.0, "喂，什么事"),
            ("a", 20.0, 25.0, "您好"),
        ]);
        let k = cond(
            r#"{ kind = "absence", lexicon = "greetings", role = "agent", position = { first_s = 15 } }"#,
        );
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.occurrences, 1);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (0.0, 15.0));
        assert_eq!(o.evidence[0].note, "座席前15秒未说：您好 / 很高兴为您服务");
        // Without the window the late greeting counts.
        let k = cond(r#"{ kind = "absence", lexicon = "greetings", role = "agent" }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
    }

    #[test]
    fn a_closing_in_untranscribed_speech_goes_to_review_not_deduction() {
        use crate::record::{Role, Untranscribed};
        let mut c = call(&[
            ("a", 0.0, 3.0, "您好，很高兴为您服务"),
            ("c", 3.5, 6.0, "我查一下快递"),
            ("a", 6.5, 10.0, "已经发出了"),
            ("c", 10.5, 12.0, "好的谢谢"),
        ]);
        let gap = |role, start, end| Untranscribed {
            role,
            start,
            end,
            reason: "no text".into(),
        };
        let k = cond(
            r#"{ kind = "absence", phrases = ["再见"], role = "agent", position = { last = 1 } }"#,
        );
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
        // The agent's last speech (12.5–15.7 s) has no text: it may be the closing.
        c.untranscribed = vec![gap(Role::Agent, 12.5, 15.7)];
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Unknown);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (12.5, 15.7));
        // Lost speech before the last agent utterance, or the customer's, changes nothing.
        c.untranscribed = vec![gap(Role::Agent, 4.0, 5.0), gap(Role::Customer, 12.5, 15.7)];
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
        // A 0.2 s sound after the last utterance is too short to be 「再见」 (0.25 s at the
        // fastest): a 「嗯」 the recogniser dropped decides nothing.
        c.untranscribed = vec![gap(Role::Agent, 12.5, 12.7)];
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
        c.untranscribed = vec![gap(Role::Agent, 12.5, 12.8)];
        assert_eq!(eval(&k, &c).verdict, Verdict::Unknown);
        // A greeting window of the first 2 agent utterances with the first one lost.
        c.untranscribed = vec![gap(Role::Agent, 0.0, 0.4)];
        let g = cond(
            r#"{ kind = "absence", phrases = ["再见"], role = "agent", position = { first = 2 } }"#,
        );
        assert_eq!(eval(&g, &c).verdict, Verdict::Unknown);
    }

    #[test]
    fn speech_with_far_too_few_characters_goes_to_review_not_deduction() {
        let k = cond(
            r#"{ kind = "absence", phrases = ["再见"], role = "agent", position = { last = 1 } }"#,
        );
        // Recogniser output: every utterance with its character times.
        let timed = |rows: &[(&str, f64, f64, &str)]| {
            let mut c = call(rows);
            for u in &mut c.utterances {
                let n = u.text.chars().count().max(1);
                let step = (u.end - u.start) / n as f64;
                u.char_times = (0..n).map(|i| u.start + i as f64 * step).collect();
            }
            c
        };
        let with_last = |start: f64, end: f64, text: &str| {
            timed(&[
                ("a", 0.0, 3.0, "您看这样处理可以吗"),
                ("c", 3.5, 6.0, "好的谢谢你再见"),
                ("a", start, end, text),
            ])
        };
        // bench210 of the holdout calls: 「吗。」 over the 3.2 s of the agent's closing.
        let o = eval(&k, &with_last(6.5, 9.7, "吗。"));
        assert_eq!(o.verdict, Verdict::Unknown);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (6.5, 9.7));
        let reason = o.reason.unwrap_or_default();
        assert!(reason.contains("只识别出1个字"), "{reason}");
        // Two characters in 1.9 s is slow speech, not lost speech (1 a second is the bound);
        // one character in 1.4 s is too short a span to judge: both deduct.
        assert_eq!(eval(&k, &with_last(6.5, 8.4, "好的")).verdict, Verdict::Hit);
        assert_eq!(eval(&k, &with_last(6.5, 7.9, "嗯")).verdict, Verdict::Hit);
        // A hand-written record (no character times) is not judged: its times are a guess.
        let mut written = with_last(6.5, 9.7, "吗。");
        written.utterances[2].char_times.clear();
        assert_eq!(eval(&k, &written).verdict, Verdict::Hit);
        // A sparse utterance outside the window (the customer's, or earlier) changes nothing.
        let c = timed(&[
            ("a", 0.0, 4.0, "请稍"),
            ("c", 4.5, 8.0, "嗯"),
            ("a", 8.5, 10.0, "您看这样处理可以吗"),
        ]);
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit, "{:?}", o.reason);
    }

    #[test]
    fn homophone_closing_counts_as_said() {
        let c = call(&[("a", 0.0, 3.0, "好的，感谢您的来订，再见")]);
        let k = cond(r#"{ kind = "absence", phrases = ["感谢您的来电"], role = "agent" }"#);
        assert_eq!(eval(&k, &c).verdict, Verdict::Clear);
        let k = cond(
            r#"{ kind = "absence", phrases = ["感谢您的来电"], role = "agent", mode = "exact" }"#,
        );
        assert_eq!(eval(&k, &c).verdict, Verdict::Hit);
    }

    #[test]
    fn need_all_lists_what_is_missing() {
        let c = call(&[
            ("a", 0.0, 3.0, "您好，我是平安银行客服"),
            ("a", 5.0, 8.0, "请讲"),
        ]);
        let k = cond(
            r#"{ kind = "absence", phrases = ["银行", "工号"], need = "all", role = "agent", position = { first = 1 } }"#,
        );
        let o = eval(&k, &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (0.0, 3.0));
        assert_eq!(o.evidence[0].note, "座席前1句未说：工号");
    }

    #[test]
    fn no_transcript_is_unknown_and_uncertain_speakers_too() {
        let k = cond(r#"{ kind = "absence", lexicon = "greetings", role = "agent" }"#);
        assert_eq!(eval(&k, &call(&[])).verdict, Verdict::Unknown);
        let c = call(&[("m", 0.0, 3.0, "您好"), ("c", 3.0, 5.0, "你好")]);
        assert_eq!(eval(&k, &c).verdict, Verdict::Unknown);
    }
}
