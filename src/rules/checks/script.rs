//! `script`: the standard wording (话术) said, compared by sound as a whole.

use super::{Compiler, Ctx, Evidence, Outcome, Position, RoleFilter};
use crate::text::normalize_chars;
use crate::text::phonetic::{units, Unit};
use serde::Deserialize;

documented! { EXPLAIN,
/// `script`: the agent said the standard wording (话术), judged on the whole sentence.
///
/// ## What it checks
/// Hits when the text chosen by `role` and `position` (read as one text) contains `text`,
/// compared by sound (fuzzy toneless pinyin, as the `pinyin` mode of `keywords`), with a
/// similarity of at least `at_least`: 1 − edits / characters of the script, where a character
/// heard as a near sound (same initial or same final: 电 dian / 见 jian) is half an edit. `{…}` marks a slot
/// (a company name, a staff number) that any `slot_min`–`slot_max` characters fill. A text
/// that fits the script as well with the slots left empty does not match (filling them there
/// would take `slot_min` characters from the script's own words), so 「您好，很高兴为您服务」
/// does not match 「您好，{单位}，很高兴为您服务」. The evidence quotes the matched text and
/// what stands in each slot. Nor does a text missing over a quarter of the script's
/// characters: a misheard sentence keeps its syllables, a sentence with a phrase left out
/// does not.
///
/// Why: on a noisy line the recogniser garbles single words (a company name becomes
/// 「这点特别东西」) while the rest of the sentence still sounds like the script; a keyword
/// check then reports a missing name that was said. Used with `not`, a card can hold back a
/// deduction (or send the call to review) when the script was said but a word in it was not
/// recognised.
///
/// ## Example
/// ```toml
/// [conditions.standard_opening]
/// kind = "script"
/// text = "您好，{单位名称}，很高兴为您服务，请问有什么可以帮到您"
/// role = "agent"
/// position = { first = 2 }
/// at_least = 0.45
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(default, deny_unknown_fields)]
pub struct Script {
    pub text: String,
    pub role: RoleFilter,
    pub position: Option<Position>,
    pub at_least: f64,
    pub slot_min: usize,
    pub slot_max: usize,
    #[serde(skip)]
    items: Vec<Item>,
}
}

impl Default for Script {
    fn default() -> Self {
        Script {
            text: String::new(),
            role: RoleFilter::default(),
            position: None,
            at_least: 0.6,
            slot_min: 2,
            slot_max: 16,
            items: Vec::new(),
        }
    }
}

/// One position of the compiled script.
#[derive(Clone, Debug)]
enum Item {
    Fixed(Unit),
    Slot(String),
}

/// Fixed characters a script needs: fewer and any short sentence would match.
const MIN_FIXED: usize = 4;

impl Script {
    pub fn compile(&mut self, cx: &mut Compiler) {
        self.items.clear();
        let mut rest = self.text.as_str();
        while !rest.is_empty() {
            let (fixed, after) = rest.split_once('{').unwrap_or((rest, ""));
            let n = normalize_chars(fixed);
            self.items
                .extend(units(&n.chars).into_iter().map(Item::Fixed));
            if after.is_empty() {
                break;
            }
            let Some((name, tail)) = after.split_once('}') else {
                cx.problem("text", "a slot opened with { is not closed with }");
                break;
            };
            self.items.push(Item::Slot(name.trim().to_string()));
            rest = tail;
        }
        if self.fixed() < MIN_FIXED {
            cx.problem(
                "text",
                format!("the script needs at least {MIN_FIXED} characters outside its slots"),
            );
        }
        if !(self.at_least > 0.0 && self.at_least <= 1.0) {
            cx.problem("at_least", "must be a similarity above 0 and at most 1");
        }
        if self.slot_min > self.slot_max {
            cx.problem("slot_min", "must not exceed slot_max");
        }
        if let Some(p) = &self.position {
            p.compile(cx);
        }
    }

    fn fixed(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Fixed(_)))
            .count()
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let scope = cx
            .view
            .text_scope(self.role, self.position.as_ref(), cx.lenient);
        // The scope read as one text; each normalised character remembers its turn and the
        // characters of that turn's text it came from.
        let mut chars = Vec::new();
        let mut origin: Vec<(usize, usize, usize)> = Vec::new();
        for (k, u) in scope.iter().enumerate() {
            let n = normalize_chars(&u.u.text);
            origin.extend(n.origin.iter().map(|&(a, b)| (k, a, b)));
            chars.extend(n.chars);
        }
        let text_units = units(&chars);
        let Some(m) = align(&self.items, &text_units, self.slot_min..=self.slot_max) else {
            return Outcome::clear();
        };
        let fixed = self.fixed();
        let similarity = 1.0 - m.cost as f64 / (2 * fixed) as f64;
        // A misheard sentence keeps its syllables (substitutions); a sentence with a phrase left
        // out loses them: 「喂，你好，请问有什么可以帮到您」 is 0.58 similar to the opening with
        // all of 很高兴为您服务 missing.
        let too_short = m.deleted * 4 > fixed;
        if similarity < self.at_least || too_short {
            return Outcome::clear();
        }
        // The slots must hold speech of their own. When the name was left out (「您好，很高兴
        // 为您服务」), opening the slots means taking `slot_min` characters from the script and
        // costs that many edits more than leaving them empty; a garbled name costs nothing there.
        let as_well_empty = !m.slots.is_empty()
            && align(&self.items, &text_units, 0..=0)
                .is_some_and(|e| e.cost + 2 * self.slot_min <= m.cost);
        if as_well_empty {
            return Outcome::clear();
        }
        // The transcript as written from normalised character a to b (exclusive).
        let text = |a: usize, b: usize| -> String {
            if a >= b {
                return String::new();
            }
            let ((ka, sa, _), (kb, _, eb)) = (origin[a], origin[b - 1]);
            (ka..=kb)
                .map(|k| {
                    let t: Vec<char> = scope[k].u.text.chars().collect();
                    let from = if k == ka { sa } else { 0 };
                    let to = if k == kb { eb } else { t.len() };
                    t[from..to].iter().collect::<String>()
                })
                .collect()
        };
        let slots: Vec<String> = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Slot(name) => Some(name.as_str()),
                Item::Fixed(_) => None,
            })
            .zip(&m.slots)
            .map(|(name, &(a, b))| format!("{{{name}}}：{}", text(a, b)))
            .collect();
        let (first, last) = (&scope[origin[m.start].0], &scope[origin[m.end - 1].0]);
        let evidence = Evidence {
            utterance: Some(first.u.id),
            role: Some(first.u.role),
            start: first.u.start,
            end: last.u.end.max(first.u.start),
            text: Some(text(m.start, m.end)),
            phrase: Some(self.text.clone()),
            note: format!("与标准话术相似度 {similarity:.2}；{}", slots.join("；")),
        };
        Outcome::hit(1, vec![evidence])
    }
}

/// The best placement of a script in a text.
#[derive(Debug, PartialEq)]
struct Alignment {
    /// Half edits outside the slots: 2 for a missing or extra character or a substitution, 1
    /// for a substitution by a near sound ([`Unit::half_edits`]).
    cost: usize,
    /// Matched range of the text (normalised character indices, end exclusive).
    start: usize,
    end: usize,
    /// The text range each slot took, in script order.
    slots: Vec<(usize, usize)>,
    /// Script characters with no text character against them.
    deleted: usize,
}

/// Cost that no real alignment reaches (a slot that cannot be filled yet).
const NEVER: usize = usize::MAX / 4;

/// Semi-global alignment: the whole script against the best-matching stretch of `text`.
/// Fixed units cost 2 half edits per edit (1 for a near sound); a slot takes `slot` characters
/// for free (more cost 2 each).
fn align(
    items: &[Item],
    text: &[Unit],
    slot: std::ops::RangeInclusive<usize>,
) -> Option<Alignment> {
    let (n, m) = (items.len(), text.len());
    if n == 0 || m == 0 {
        return None;
    }
    let (lo, hi) = (*slot.start(), *slot.end());
    // d[i][j]: cheapest cost of script[..i] ending at text[..j] (the start is free).
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for i in 1..=n {
        d[i][0] = match items[i - 1] {
            Item::Fixed(_) => d[i - 1][0] + 2,
            Item::Slot(_) if lo == 0 => d[i - 1][0],
            Item::Slot(_) => NEVER,
        };
        for j in 1..=m {
            d[i][j] = match &items[i - 1] {
                Item::Fixed(u) => (d[i - 1][j - 1] + u.half_edits(&text[j - 1]))
                    .min(d[i - 1][j] + 2)
                    .min(d[i][j - 1] + 2),
                Item::Slot(_) => (lo..=hi.min(j))
                    .map(|k| d[i - 1][j - k])
                    .min()
                    .unwrap_or(NEVER)
                    .min(d[i][j - 1] + 2),
            };
        }
    }
    // Among equal costs the longest match: a last word misheard is quoted, not cut off.
    let end = (0..=m).min_by_key(|&j| (d[n][j], std::cmp::Reverse(j)))?;
    if d[n][end] >= NEVER {
        return None;
    }
    // Walk back to the start, recording what each slot took.
    let (mut i, mut j) = (n, end);
    let mut slots = Vec::new();
    let mut deleted = 0;
    while i > 0 {
        match &items[i - 1] {
            Item::Fixed(u) => {
                if j > 0 && d[i][j] == d[i - 1][j - 1] + u.half_edits(&text[j - 1]) {
                    (i, j) = (i - 1, j - 1);
                } else if d[i][j] == d[i - 1][j] + 2 {
                    i -= 1;
                    deleted += 1;
                } else {
                    j -= 1;
                }
            }
            Item::Slot(_) => {
                match (lo..=hi.min(j)).find(|&k| d[i - 1][j - k] == d[i][j]) {
                    Some(k) => {
                        slots.push((j - k, j));
                        (i, j) = (i - 1, j - k);
                    }
                    None => j -= 1, // an extra character beyond the slot's length
                }
            }
        }
    }
    slots.reverse();
    Some(Alignment {
        cost: d[n][end],
        start: j,
        end,
        slots,
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids, problems, texts};
    use super::super::Verdict;

    const OPENING: &str = r#"{ kind = "script", text = "您好，{单位}，很高兴为您服务，请问有什么可以帮您", role = "agent", position = { first = 2 }, at_least = 0.45 }"#;

    #[test]
    fn a_garbled_company_name_in_the_standard_opening_still_matches() {
        // bench006 of data/calls: 智检客服中心 recognised as 这点特别东西 on a 5.7 dB line.
        let c = call(&[
            (
                "a",
                0.5,
                6.8,
                "好,这点特别东西,通话一名大陆很高兴为您语言。请问有什么随高语。",
            ),
            ("c", 7.7, 14.5, "就是,我要投诉!"),
        ]);
        let o = eval(&cond(OPENING), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(ids(&o), vec![0]);
        let note = &o.evidence[0].note;
        assert!(note.contains("{单位}：这点特别东西"), "{note}");
    }

    #[test]
    fn a_garbled_greeting_before_the_name_still_matches() {
        // bench069: 您好 heard as 一口, and the rest of the script garbled in places.
        let c = call(&[(
            "a",
            0.5,
            7.2,
            "一口这点特服中心,通过四六八年,很高级为您评论,请问有什么可以提高您。",
        )]);
        assert_eq!(eval(&cond(OPENING), &c).verdict, Verdict::Hit);
    }

    #[test]
    fn an_opening_that_leaves_out_the_slot_or_the_script_does_not_match() {
        for text in [
            "您好，很高兴为您服务，请问有什么可以帮您",
            "您好,请讲。",
            "喂，什么事？",
        ] {
            let c = call(&[("a", 0.5, 4.0, text), ("c", 5.0, 6.0, "我想问一下")]);
            assert_eq!(eval(&cond(OPENING), &c).verdict, Verdict::Clear, "{text}");
        }
    }

    #[test]
    fn a_phrase_left_out_is_not_a_phrase_misheard() {
        // 很高兴为您服务 missing: 7 of 19 script characters deleted, although the rest fits.
        let c = call(&[
            ("a", 0.5, 3.0, "喂，你好，请问有什么可以帮到您？"),
            ("c", 3.5, 5.0, "你好，我想查一下这个月的话费。"),
            ("a", 6.0, 8.0, "好的，不好意思，请您稍等，我帮您查一下。"),
        ]);
        assert_eq!(eval(&cond(OPENING), &c).verdict, Verdict::Clear);
    }

    #[test]
    fn the_script_may_run_across_the_first_two_turns_but_not_the_customers() {
        let c = call(&[
            ("a", 0.5, 3.0, "你好,这点客不中心,公告四六八年。"),
            ("c", 3.5, 4.0, "喂"),
            ("a", 5.0, 7.0, "很高兴为你服务,请问有什么可以帮你。"),
        ]);
        let o = eval(&cond(OPENING), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!((o.evidence[0].start, o.evidence[0].end), (0.5, 7.0));
        assert_eq!(
            texts(&o),
            vec!["你好,这点客不中心,公告四六八年。很高兴为你服务,请问有什么可以帮你"]
        );
        let cust = call(&[(
            "c",
            0.5,
            6.0,
            "您好，智检客服中心，很高兴为您服务，请问有什么可以帮您",
        )]);
        assert_eq!(eval(&cond(OPENING), &cust).verdict, Verdict::Clear);
    }

    #[test]
    fn similarity_is_one_minus_edits_over_script_characters() {
        // 18 fixed characters; 很高纪委员 for 很高兴为您服务 and 属于邦尼 for 可以帮您 are 7 edits,
        // two of them near sounds (于 yu / 以 yi, 尼 ni / 您 nin) at half an edit: 6 edits,
        // similarity 0.67 passes 0.65 and fails 0.7.
        let c = call(&[(
            "a",
            0.0,
            6.0,
            "您好,这点特别东西,很高纪委员,请问有什么属于邦尼。",
        )]);
        let at = |v: f64| {
            cond(&format!(
                r#"{{ kind = "script", text = "您好，{{单位}}，很高兴为您服务，请问有什么可以帮您", at_least = {v} }}"#
            ))
        };
        let o = eval(&at(0.65), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert!(
            o.evidence[0].note.starts_with("与标准话术相似度 0.67"),
            "{}",
            o.evidence[0].note
        );
        assert_eq!(eval(&at(0.7), &c).verdict, Verdict::Clear);
    }

    #[test]
    fn no_transcript_is_unknown_and_bad_scripts_are_refused() {
        let mut c = call(&[]);
        c.utterances.clear();
        assert_eq!(eval(&cond(OPENING), &c).verdict, Verdict::Unknown);
        assert_eq!(
            problems(r#"{ kind = "script", text = "您好{单位}" }"#),
            vec!["the script needs at least 4 characters outside its slots"]
        );
        assert_eq!(
            problems(r#"{ kind = "script", text = "您好，很高兴为您服务{单位" }"#),
            vec!["a slot opened with { is not closed with }"]
        );
        assert_eq!(
            problems(r#"{ kind = "script", text = "您好，很高兴为您服务", at_least = 1.5 }"#),
            vec!["must be a similarity above 0 and at most 1"]
        );
    }
}
