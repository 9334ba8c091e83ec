//! Finding rule phrases in transcript text, in the mode a rule chooses.
//!
//! - `exact`: the normalised characters appear as written (punctuation, width and number forms
//!   do not matter).
//! - `token`: as `exact`, but the hit must start and end on jieba word boundaries, so 「亲」 does
//!   not fire inside 「亲自」 or 「母亲」.
//! - `pinyin`: characters compared by fuzzy toneless pinyin (see [`super::phonetic`]), so
//!   「公号」 matches 工号; phrases of 6 or more characters also tolerate one edit (12 or more: two),
//!   so 「感谢您的来订」 matches 感谢您的来电.
//! - `auto` (the default): `token` for one-character phrases, whose sound alone matches far too
//!   much (亲 would match every 请); *guarded* `pinyin` for two- and three-character phrases; plain
//!   `pinyin` for longer ones. Short phrases collide with real words that sound the same (再见 /
//!   在建, 曝光 / 报关, 骗子 / 片子), while the recogniser's errors are mostly non-words that jieba
//!   cuts into single characters (公号 → 公 号, 头诉 → 头 诉). So a guarded hit must start and end
//!   on word boundaries, and a sound-alike hit that is itself a dictionary word is rejected.
//!
//! In every mode a phrase that starts or ends with a digit only matches whole numbers: 12315 is
//! not found in 12315678.
//!
//! Every hit quotes the transcript text it covers, which is what a reviewer needs to see when
//! the match was fuzzy. `tests/it/rules_fuzzy.rs` measures what each mode gains and costs.

use super::normalize::{normalize_chars, Normalized};
use super::phonetic::{units, Unit};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// How a phrase is compared with transcript text (see the module note).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    #[default]
    Auto,
    Exact,
    Token,
    Pinyin,
}

impl MatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Auto => "auto",
            MatchMode::Exact => "exact",
            MatchMode::Token => "token",
            MatchMode::Pinyin => "pinyin",
        }
    }
}

/// Edits tolerated in `pinyin` mode for a phrase of `len` normalised characters.
pub fn max_edits_for(len: usize) -> usize {
    match len {
        0..=5 => 0,
        6..=11 => 1,
        _ => 2,
    }
}

/// A phrase compiled for one mode.
#[derive(Clone, Debug)]
pub struct Phrase {
    raw: String,
    mode: MatchMode,
    chars: Vec<char>,
    units: Vec<Unit>,
    max_edits: usize,
    /// `auto` on a short phrase: hits must be whole words and not another dictionary word.
    guarded: bool,
}

/// One place where a phrase was found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextMatch {
    /// Character offsets (not bytes) into the original text, end exclusive.
    pub start: usize,
    pub end: usize,
    /// The original text covered by the hit, as the transcript wrote it.
    pub text: String,
    /// Edits needed (0 unless fuzzy).
    pub edits: usize,
}

impl Phrase {
    /// Compile `raw` for `mode`; `None` when nothing matchable is left after normalisation
    /// (a phrase of only punctuation).
    pub fn new(raw: &str, mode: MatchMode) -> Option<Phrase> {
        let chars = normalize_chars(raw).chars;
        if chars.is_empty() {
            return None;
        }
        let guarded = mode == MatchMode::Auto && (2..=3).contains(&chars.len());
        let mode = match mode {
            MatchMode::Auto if chars.len() == 1 => MatchMode::Token,
            MatchMode::Auto => MatchMode::Pinyin,
            m => m,
        };
        let (units, max_edits) = if mode == MatchMode::Pinyin {
            (units(&chars), max_edits_for(chars.len()))
        } else {
            (Vec::new(), 0)
        };
        Some(Phrase {
            raw: raw.to_string(),
            mode,
            chars,
            units,
            max_edits,
            guarded,
        })
    }

    /// The same phrase with a different edit tolerance (pinyin mode only; for measurements).
    pub fn with_max_edits(mut self, k: usize) -> Phrase {
        if self.mode == MatchMode::Pinyin {
            self.max_edits = k;
        }
        self
    }

    /// The phrase as written in the rule.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The mode in effect (never `Auto`).
    pub fn mode(&self) -> MatchMode {
        self.mode
    }

    /// True for an `auto` phrase of two or three characters (see the module note).
    pub fn is_guarded(&self) -> bool {
        self.guarded
    }

    /// Non-overlapping hits in `t`, left to right.
    pub fn find(&self, t: &Prepared) -> Vec<TextMatch> {
        let spans = match self.mode {
            MatchMode::Exact | MatchMode::Auto => {
                exact_spans(&self.chars, &t.norm.chars, |_, _| true)
            }
            MatchMode::Token => {
                let words = t.words();
                let boundary = |i: usize| words[i] == (i, i);
                exact_spans(&self.chars, &t.norm.chars, |s, e| {
                    boundary(t.norm.origin[s].0) && boundary(t.norm.origin[e - 1].1)
                })
            }
            MatchMode::Pinyin if self.max_edits == 0 => exact_unit_spans(&self.units, t.units()),
            MatchMode::Pinyin => approx_spans(&self.units, t.units(), self.max_edits),
        };
        let text = &t.norm.chars;
        let digit_at = |i: usize| text.get(i).is_some_and(|c| c.is_ascii_digit());
        let starts_digit = self.chars[0].is_ascii_digit();
        let ends_digit = self.chars[self.chars.len() - 1].is_ascii_digit();
        // Whole numbers only: no digit right before or after a number at the phrase's edge.
        let cuts_number = |s: usize, e: usize| {
            (starts_digit && s > 0 && digit_at(s - 1)) || (ends_digit && digit_at(e))
        };
        spans
            .into_iter()
            .filter(|&(s, e, _)| !cuts_number(s, e))
            .filter(|&(s, e, _)| !self.guarded || self.guard_accepts(t, s, e))
            .map(|(s, e, edits)| t.quote(s, e, edits))
            .collect()
    }

    /// A guarded hit does not straddle the edge of a two- or three-character word (您好 in
    /// 您|好像 is not a greeting, 不需要 in 不许|要求 is not a refusal), though it may lie inside
    /// one (谢谢 in 谢谢您) or cut jieba's longer set phrases (不知道 in 我不知道). And when it
    /// differs from the phrase it is not a word of its own (在建 is a word: not a misheard 再见;
    /// 公号 is not: a misheard 工号).
    fn guard_accepts(&self, t: &Prepared, s: usize, e: usize) -> bool {
        let words = t.words();
        let (hs, he) = (t.norm.origin[s].0, t.norm.origin[e - 1].1);
        let short = |(a, b): (usize, usize)| (2..=3).contains(&(b - a));
        let (a, b) = words[hs];
        if short((a, b)) && a < hs && he > b {
            return false;
        }
        let (a, b) = words[he];
        if short((a, b)) && a < he && hs < a {
            return false;
        }
        let hit = &t.norm.chars[s..e];
        hit == self.chars.as_slice() || !super::is_word(&hit.iter().collect::<String>())
    }

    /// True when the phrase occurs in `t`.
    pub fn is_in(&self, t: &Prepared) -> bool {
        !self.find(t).is_empty()
    }
}

/// Transcript text prepared once for many phrases: normalised characters, and, on first use,
/// pinyin units and word boundaries.
#[derive(Debug)]
pub struct Prepared {
    text: String,
    /// Byte offset of each original character, plus the text length.
    byte_at: Vec<usize>,
    norm: Normalized,
    norm_string: String,
    tokens: Vec<String>,
    units: OnceLock<Vec<Unit>>,
    words: OnceLock<Vec<(usize, usize)>>,
}

impl Prepared {
    /// Prepare `text`; `tokens` are its jieba tokens when already known (else computed when a
    /// `token` phrase first needs them).
    pub fn new(text: &str, tokens: &[String]) -> Prepared {
        let mut byte_at: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        byte_at.push(text.len());
        let norm = normalize_chars(text);
        Prepared {
            text: text.to_string(),
            byte_at,
            norm_string: norm.as_string(),
            norm,
            tokens: tokens.to_vec(),
            units: OnceLock::new(),
            words: OnceLock::new(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn normalized(&self) -> &Normalized {
        &self.norm
    }

    /// The normalised text as a string (what `regex` conditions run on).
    pub fn normalized_str(&self) -> &str {
        &self.norm_string
    }

    fn units(&self) -> &[Unit] {
        self.units.get_or_init(|| units(&self.norm.chars))
    }

    /// For each original character offset `i`: the span of the word it falls strictly inside,
    /// or `(i, i)` at a word boundary.
    fn words(&self) -> &[(usize, usize)] {
        self.words.get_or_init(|| {
            let at_bounds = || (0..self.byte_at.len()).map(|i| (i, i)).collect::<Vec<_>>();
            let mut words = at_bounds();
            if !self.mark_words(&self.tokens, &mut words) {
                // Missing, or not cut from this text: cut it again.
                words = at_bounds();
                self.mark_words(&super::tokenize(&self.text), &mut words);
            }
            words
        })
    }

    /// Mark the inside of each of `tokens`; false when the tokens are not, in order, pieces of
    /// the text (whitespace between them is allowed).
    fn mark_words(&self, tokens: &[String], words: &mut [(usize, usize)]) -> bool {
        if tokens.is_empty() && !self.norm.is_empty() {
            return false;
        }
        let mut byte = 0;
        for t in tokens {
            let Some(off) = self.text[byte..].find(t.as_str()) else {
                return false;
            };
            let (s, e) = (byte + off, byte + off + t.len());
            if let (Ok(cs), Ok(ce)) = (
                self.byte_at.binary_search(&s),
                self.byte_at.binary_search(&e),
            ) {
                for w in &mut words[cs + 1..ce] {
                    *w = (cs, ce);
                }
            }
            byte = e;
        }
        true
    }

    /// The hit covering normalised characters `s..e`, quoted from the original text.
    pub fn quote(&self, s: usize, e: usize, edits: usize) -> TextMatch {
        let start = self.norm.origin[s].0;
        let end = self.norm.origin[e - 1].1;
        TextMatch {
            start,
            end,
            text: self.text[self.byte_at[start]..self.byte_at[end]].to_string(),
            edits,
        }
    }

    /// Normalised character index of normalised byte offset `b` (for regex hits).
    pub fn norm_char_index(&self, b: usize) -> usize {
        self.norm_string[..b].chars().count()
    }
}

/// Exact occurrences of `pat` in `text` accepted by `ok(start, end)`, non-overlapping.
fn exact_spans(
    pat: &[char],
    text: &[char],
    ok: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let m = pat.len();
    let mut s = 0;
    while m > 0 && s + m <= text.len() {
        if text[s..s + m] == *pat && ok(s, s + m) {
            out.push((s, s + m, 0));
            s += m;
        } else {
            s += 1;
        }
    }
    out
}

fn exact_unit_spans(pat: &[Unit], text: &[Unit]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let m = pat.len();
    let mut s = 0;
    while m > 0 && s + m <= text.len() {
        if pat
            .iter()
            .zip(&text[s..s + m])
            .all(|(p, t)| p.sounds_like(t))
        {
            out.push((s, s + m, 0));
            s += m;
        } else {
            s += 1;
        }
    }
    out
}

/// Approximate occurrences with at most `k` edits (Sellers' algorithm: edit distance with a
/// free start in the text), best first, non-overlapping, returned in text order.
fn approx_spans(pat: &[Unit], text: &[Unit], k: usize) -> Vec<(usize, usize, usize)> {
    let (m, n) = (pat.len(), text.len());
    if m == 0 || n + k < m {
        return Vec::new();
    }
    let w = n + 1;
    let mut d = vec![0usize; (m + 1) * w];
    for i in 1..=m {
        d[i * w] = i;
        for j in 1..=n {
            let cost = usize::from(!pat[i - 1].sounds_like(&text[j - 1]));
            d[i * w + j] = (d[(i - 1) * w + j - 1] + cost)
                .min(d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1);
        }
    }
    let mut cands: Vec<(usize, usize, usize)> = Vec::new(); // (dist, start, end)
    for j in 1..=n {
        let dist = d[m * w + j];
        if dist > k {
            continue;
        }
        // Trace back to the start, preferring aligned characters.
        let (mut i, mut jj) = (m, j);
        while i > 0 {
            let here = d[i * w + jj];
            if jj > 0 {
                let cost = usize::from(!pat[i - 1].sounds_like(&text[jj - 1]));
                if here == d[(i - 1) * w + jj - 1] + cost {
                    i -= 1;
                    jj -= 1;
                    continue;
                }
            }
            if here == d[(i - 1) * w + jj] + 1 {
                i -= 1;
            } else {
                jj -= 1;
            }
        }
        if jj < j {
            cands.push((dist, jj, j));
        }
    }
    // Fewest edits first, then the one closest to the phrase's length, then leftmost.
    cands.sort_by_key(|&(dist, s, e)| (dist, (e - s).abs_diff(m), s));
    let mut chosen: Vec<(usize, usize, usize)> = Vec::new();
    for (dist, s, e) in cands {
        if chosen.iter().all(|&(cs, ce, _)| e <= cs || s >= ce) {
            chosen.push((s, e, dist));
        }
    }
    chosen.sort();
    chosen
}

/// Convenience for one-off checks: hits of `phrase` in `text` under `mode`.
pub fn find(phrase: &str, text: &str, mode: MatchMode) -> Vec<TextMatch> {
    match Phrase::new(phrase, mode) {
        Some(p) => p.find(&Prepared::new(text, &[])),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(phrase: &str, text: &str, mode: MatchMode) -> Vec<String> {
        find(phrase, text, mode)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    #[test]
    fn exact_ignores_punctuation_and_number_forms() {
        assert_eq!(
            texts("您好请问", "您好，请问。", MatchMode::Exact),
            ["您好，请问"]
        );
        assert_eq!(
            texts("工号一零八六", "我的工号1086。", MatchMode::Exact),
            ["工号1086"]
        );
        assert_eq!(texts("三十天", "30天之内", MatchMode::Exact), ["30天"]);
        assert!(texts("工号", "我的公号是", MatchMode::Exact).is_empty());
    }

    #[test]
    fn hit_positions_are_character_offsets() {
        let hits = find("来电", "感谢您的来电！", MatchMode::Exact);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].start, hits[0].end), (4, 6));
        assert_eq!(hits[0].edits, 0);
    }

    #[test]
    fn token_mode_respects_word_boundaries() {
        assert_eq!(texts("亲", "亲，您好", MatchMode::Token), ["亲"]);
        assert!(texts("亲", "我会亲自处理", MatchMode::Token).is_empty());
        assert!(texts("亲", "我母亲的卡", MatchMode::Token).is_empty());
        // Exact mode does match inside the word.
        assert_eq!(texts("亲", "我会亲自处理", MatchMode::Exact), ["亲"]);
    }

    #[test]
    fn pinyin_mode_survives_homophones() {
        assert_eq!(texts("工号", "我的公号是1086", MatchMode::Pinyin), ["公号"]);
        assert_eq!(
            texts("可以帮您", "请问有什么可疑帮您", MatchMode::Pinyin),
            ["可疑帮您"]
        );
        assert!(texts("工号", "我的号码", MatchMode::Pinyin).is_empty());
    }

    #[test]
    fn long_phrases_tolerate_one_edit() {
        // dian/ding is not a fuzzy pair; the edit tolerance catches it.
        let hits = find(
            "感谢您的来电",
            "好的，感谢您的来订，再见",
            MatchMode::Pinyin,
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].text, "感谢您的来订");
        assert_eq!(hits[0].edits, 1);
        // A dropped character is one edit too.
        assert_eq!(
            texts("感谢您的来电", "感谢您来电", MatchMode::Pinyin),
            ["感谢您来电"]
        );
        // Two wrong characters in six is too many.
        assert!(texts("感谢您的来电", "感谢你的到来", MatchMode::Pinyin).is_empty());
        // Short phrases get no tolerance.
        assert!(texts("投诉", "头部", MatchMode::Pinyin).is_empty());
    }

    #[test]
    fn auto_mode_is_token_for_one_character_and_pinyin_otherwise() {
        assert_eq!(
            Phrase::new("亲", MatchMode::Auto).unwrap().mode(),
            MatchMode::Token
        );
        assert_eq!(
            Phrase::new("工号", MatchMode::Auto).unwrap().mode(),
            MatchMode::Pinyin
        );
        // 亲 must not match 请 by sound.
        assert!(texts("亲", "请稍等", MatchMode::Auto).is_empty());
        assert!(Phrase::new("，。", MatchMode::Auto).is_none());
    }

    #[test]
    fn auto_guards_short_phrases_against_real_words() {
        assert!(Phrase::new("再见", MatchMode::Auto).unwrap().is_guarded());
        assert!(!Phrase::new("感谢您的来电", MatchMode::Auto)
            .unwrap()
            .is_guarded());
        // Misheard non-words still match…
        assert_eq!(texts("工号", "我的公号是1086", MatchMode::Auto), ["公号"]);
        assert_eq!(texts("投诉", "我要头诉你们", MatchMode::Auto), ["头诉"]);
        assert_eq!(texts("不知道", "这个我不知到", MatchMode::Auto), ["不知到"]);
        // …real words that sound the same do not…
        assert!(texts("再见", "这个楼盘还在建", MatchMode::Auto).is_empty());
        assert!(texts("曝光", "我们公司是做报关的", MatchMode::Auto).is_empty());
        assert!(texts("资费", "这个药属于自费药品", MatchMode::Auto).is_empty());
        // …nor does a phrase inside a longer word.
        assert!(texts("您好", "您好像还没有开通", MatchMode::Auto).is_empty());
        assert!(texts("不需要", "这个不许要求退款", MatchMode::Auto).is_empty());
        // Plain pinyin mode has no guard.
        assert_eq!(texts("再见", "这个楼盘还在建", MatchMode::Pinyin), ["在建"]);
        // The exact phrase is always fine, even though it is a dictionary word.
        assert_eq!(texts("投诉", "我要投诉", MatchMode::Auto), ["投诉"]);
    }

    #[test]
    fn numbers_match_whole() {
        for mode in [
            MatchMode::Exact,
            MatchMode::Token,
            MatchMode::Pinyin,
            MatchMode::Auto,
        ] {
            assert!(
                texts("12315", "我的卡号是12315678", mode).is_empty(),
                "{mode:?}"
            );
            assert_eq!(
                texts("12315", "我要打12315投诉", mode),
                ["12315"],
                "{mode:?}"
            );
        }
        assert_eq!(
            texts("工号1086", "工号10860", MatchMode::Exact),
            Vec::<String>::new()
        );
        assert_eq!(
            texts("二十元", "一共二十五元", MatchMode::Exact),
            Vec::<String>::new()
        );
    }

    #[test]
    fn several_hits_do_not_overlap() {
        let hits = find("不需要", "不需要，真的不需要了", MatchMode::Pinyin);
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].start, hits[1].start), (0, 6));
        let hits = find(
            "感谢您的来电",
            "感谢您的来电感谢您的来电",
            MatchMode::Pinyin,
        );
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.edits == 0));
    }
}
