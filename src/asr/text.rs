//! Cleaning Whisper's text: simplified characters, known hallucinations, repetition loops,
//! and the character count behind 字/分钟.

use zhconv::{zhconv, Variant};

/// Traditional → simplified, script only (no regional word substitution), via zhconv's
/// MediaWiki + OpenCC tables. Whisper mixes the two scripts on Mandarin even with a
/// simplified prompt.
pub fn to_simplified(s: &str) -> String {
    zhconv(s, Variant::ZhHans)
}

/// CJK ideographs (basic block and extension A, compatibility ideographs).
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Characters that count towards speech rate: Han characters and digits (Whisper writes
/// spoken numbers as Arabic digits, each standing for about one spoken syllable).
pub fn spoken_chars(s: &str) -> usize {
    s.chars()
        .filter(|&c| is_han(c) || c.is_ascii_digit() || ('０'..='９').contains(&c))
        .count()
}

/// Letters, digits and Han characters only, lower case, full-width folded to ASCII: the form
/// used to compare texts (hallucination list, CER).
pub fn squash(s: &str) -> String {
    s.chars()
        .map(fold_width)
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Text Whisper produces on silence, music and noise (subtitle credits, video outros, and
/// what base wrote on 10 s of silence in our tests). Matched on the squashed form as a
/// substring, so punctuation and spacing variants are caught too. None of these is
/// something a call-center agent or customer says.
pub const HALLUCINATIONS: &[&str] = &[
    "请不吝点赞",
    "点赞订阅",
    "订阅转发",
    "打赏支持",
    "明镜与点点栏目",
    "字幕由",
    "字幕志愿者",
    "中文字幕",
    "amaraorg",
    "谢谢观看",
    "感谢观看",
    "谢谢收看",
    "欢迎订阅",
    "优优独播剧场",
    "yoyotelevisionseries",
    "我看你会不会有什么好事啊",
];

/// True when `text` is a known hallucination, or echoes the initial prompt: Whisper repeats
/// its prompt on silence and noise («是普通话的句子。是普通话的句子。»), so any 5 consecutive
/// characters of the prompt in the text count as an echo.
pub fn is_hallucination(text: &str, prompt: &str) -> bool {
    let t = squash(&to_simplified(text));
    if t.is_empty() {
        return false;
    }
    let p: Vec<char> = squash(prompt).chars().collect();
    let echo = p.len() >= 5
        && p.windows(5)
            .any(|w| t.contains(&w.iter().collect::<String>()));
    let tiny_echo = t.chars().count() >= 3 && p.iter().collect::<String>().contains(&t);
    echo || tiny_echo || HALLUCINATIONS.iter().any(|h| t.contains(h))
}

/// Longest vocabulary part of the prompt (characters). Whisper keeps at most 223 prompt
/// tokens and a Han character is one to three of them; a long list also dilutes the bias.
pub const MAX_VOCABULARY_CHARS: usize = 80;

/// The initial prompt: a style sentence (simplified characters, punctuation) and the site's
/// vocabulary (company and product names, 工号, scripted phrases), so that Whisper prefers
/// 工号 to 公号. Whisper repeats its prompt on silence and noise; each part has its echo test.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prompt {
    pub style: String,
    /// The terms that fitted in [`MAX_VOCABULARY_CHARS`], in the given order.
    pub terms: Vec<String>,
}

impl Prompt {
    /// `vocabulary` in order, blank and repeated terms skipped, until the budget is spent.
    pub fn new(style: &str, vocabulary: &[String]) -> Prompt {
        let mut terms: Vec<String> = Vec::new();
        let mut used = 0;
        for t in vocabulary.iter().map(|t| t.trim()) {
            let n = t.chars().count() + 1;
            if t.is_empty() || terms.iter().any(|x| x == t) {
                continue;
            }
            if used + n > MAX_VOCABULARY_CHARS {
                break;
            }
            used += n;
            terms.push(t.to_string());
        }
        Prompt {
            style: style.to_string(),
            terms,
        }
    }

    /// What whisper.cpp is given: 「以下是普通话的句子。工号、来电、…。」
    pub fn text(&self) -> String {
        if self.terms.is_empty() {
            self.style.clone()
        } else {
            format!("{}{}。", self.style, self.terms.join("、"))
        }
    }

    /// True when `text` is a known hallucination or echoes the prompt: 5 characters of the
    /// style sentence, or four vocabulary terms run together in the prompt's order. A term
    /// said on its own is what the prompt is for, and three in a row can be real speech
    /// (感谢您的来电、祝您生活愉快、再见 is a whole closing).
    pub fn is_echo(&self, text: &str) -> bool {
        is_hallucination(text, &self.style) || self.echoes_terms(text)
    }

    /// The vocabulary part of [`is_echo`](Self::is_echo): four terms run together in order.
    pub fn echoes_terms(&self, text: &str) -> bool {
        let t = squash(&to_simplified(text));
        let terms: Vec<String> = self.terms.iter().map(|x| squash(x)).collect();
        terms.windows(4).any(|w| t.contains(&w.concat()))
    }
}

impl From<&str> for Prompt {
    fn from(style: &str) -> Prompt {
        Prompt::new(style, &[])
    }
}

/// The terms of a vocabulary file: one per line, its first field (a jieba user dictionary's
/// `word freq tag` lines work too); blank lines and `#` comments skipped.
pub fn parse_vocabulary(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// `text` without the clauses (split at punctuation) that are known hallucinations or echo
/// the prompt, so that real speech before 「谢谢观看」 survives. The clauses kept are returned
/// with their punctuation; all of them when none is a hallucination.
pub fn strip_hallucinated_clauses(text: &str, prompt: &Prompt) -> String {
    let mut out = String::new();
    let mut clause = String::new();
    let flush = |clause: &mut String, out: &mut String| {
        if !prompt.is_echo(clause) {
            out.push_str(clause);
        }
        clause.clear();
    };
    for c in text.chars() {
        clause.push(c);
        if "，。！？；,.!?; ".contains(c) {
            flush(&mut clause, &mut out);
        }
    }
    flush(&mut clause, &mut out);
    out
}

/// Cut Whisper's repetition loops: a phrase of 8–40 characters repeated twice or more in a
/// row, or one of 2–7 characters repeated 3+ times, is kept once; a single character repeated
/// 6+ times is kept three times (「对对对」 is speech, 「对对对对对对对对」 is a loop).
pub fn collapse_repeats(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(c.len());
    let mut i = 0;
    'outer: while i < c.len() {
        // Smallest period first: 「对对对对对对」 is a loop of 「对」, not of 「对对」.
        for unit in 1..=40 {
            if i + unit > c.len() {
                continue;
            }
            let mut reps = 1;
            while i + (reps + 1) * unit <= c.len()
                && c[i + reps * unit..i + (reps + 1) * unit] == c[i..i + unit]
            {
                reps += 1;
            }
            let (min_reps, keep) = match unit {
                1 => (6, 3),
                2..=7 => (3, 1),
                _ => (2, 1),
            };
            if reps >= min_reps {
                for _ in 0..keep {
                    out.extend_from_slice(&c[i..i + unit]);
                }
                i += reps * unit;
                continue 'outer;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(
            to_simplified("請問還有其他問題嗎？"),
            "请问还有其他问题吗？"
        );
        assert_eq!(
            to_simplified("感謝您的來電，祝您生活愉快"),
            "感谢您的来电，祝您生活愉快"
        );
        assert_eq!(to_simplified("已经是简体"), "已经是简体");
    }

    #[test]
    fn spoken_chars_counts_han_and_digits() {
        assert_eq!(spoken_chars("工号1086，很高兴为您服务！"), 13);
        assert_eq!(spoken_chars("OK, 好的"), 2);
    }

    #[test]
    fn hallucinations_are_recognised_in_any_punctuation() {
        let p = "以下是普通话的句子。";
        assert!(is_hallucination(
            "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",
            p
        ));
        assert!(is_hallucination("字幕由 Amara.org 社群提供", p));
        assert!(is_hallucination("谢谢观看!", p));
        assert!(is_hallucination("以下是普通话的句子", p));
        assert!(!is_hallucination("谢谢您的耐心等待", p));
        assert!(!is_hallucination("我要订阅这个套餐", p));
        assert!(!is_hallucination("句子", p));
        assert!(is_hallucination("他在这儿,这儿是普通话的句子。他在这儿", p));
        assert!(is_hallucination("是普通话的句子。是普通话的句子。", p));
        assert!(!is_hallucination("您会说普通话吗", p));
    }

    #[test]
    fn a_hallucinated_clause_after_speech_is_cut_and_the_speech_kept() {
        let p = &Prompt::from("以下是普通话的句子。");
        assert_eq!(
            strip_hallucinated_clauses("感谢您的来电，再见。谢谢观看！", p),
            "感谢您的来电，再见。"
        );
        // What is left of a longer one is still caught by the whole-text check.
        let rest = strip_hallucinated_clauses("请不吝点赞 订阅 转发", p);
        assert_eq!(rest, "订阅 转发");
        assert!(p.is_echo(&rest));
        assert_eq!(
            strip_hallucinated_clauses("好的，稍等。", p),
            "好的，稍等。"
        );
        assert_eq!(strip_hallucinated_clauses("以下是普通话的句子。", p), "");
    }

    #[test]
    fn vocabulary_words_are_kept_and_an_echoed_list_is_not() {
        let words: Vec<String> = [
            "工号",
            "感谢您的来电",
            "祝您生活愉快",
            "感谢您的来电",
            " ",
            "再见",
            "客服中心",
        ]
        .map(String::from)
        .to_vec();
        let p = Prompt::new("以下是普通话的句子。", &words);
        assert_eq!(
            p.terms,
            ["工号", "感谢您的来电", "祝您生活愉快", "再见", "客服中心"]
        );
        assert_eq!(
            p.text(),
            "以下是普通话的句子。工号、感谢您的来电、祝您生活愉快、再见、客服中心。"
        );
        // Terms said on their own, or three together, are speech.
        assert!(!p.is_echo("客服中心"));
        assert!(!p.is_echo("感谢您的来电，祝您生活愉快，再见"));
        assert!(!p.is_echo("感谢您的来电祝您生活愉快再见"));
        // Four run together in the prompt's order (any punctuation, any script) is the prompt.
        assert!(p.is_echo("工号、感谢您的来电、祝您生活愉快、再见。"));
        assert!(p.is_echo("感謝您的來電祝您生活愉快再見客服中心"));
        assert!(p.is_echo("以下是普通话的句子"));
        assert_eq!(
            strip_hallucinated_clauses("您好，工号感谢您的来电祝您生活愉快再见。请讲。", &p),
            "您好，请讲。"
        );
    }

    #[test]
    fn a_vocabulary_file_gives_its_first_fields() {
        assert_eq!(
            parse_vocabulary("# 本单位\n智检银行\n\n  工号 100 n\n"),
            ["智检银行", "工号"]
        );
    }

    #[test]
    fn the_vocabulary_is_bounded() {
        let many: Vec<String> = (0..100).map(|i| format!("产品{i:03}")).collect();
        let p = Prompt::new("以下是普通话的句子。", &many);
        // Six characters each with the separator: 13 terms fit in 80.
        assert_eq!(p.terms.len(), 13);
        assert_eq!(p.terms[12], "产品012");
        assert!(Prompt::new("s", &[]).text() == "s");
    }

    #[test]
    fn repetition_loops_are_cut() {
        assert_eq!(
            collapse_repeats(
                "我看你会不会有什么好事啊我看你会不会有什么好事啊我看你会不会有什么好事啊"
            ),
            "我看你会不会有什么好事啊"
        );
        assert_eq!(collapse_repeats("好的好的好的好的，谢谢"), "好的，谢谢");
        assert_eq!(collapse_repeats("对对对，是的"), "对对对，是的");
        assert_eq!(collapse_repeats("对对对对对对对对"), "对对对");
        assert_eq!(collapse_repeats("好的好的"), "好的好的");
        assert_eq!(
            collapse_repeats("我已经说过了这个不归我管。我已经说过了这个不归我管。"),
            "我已经说过了这个不归我管。"
        );
        assert_eq!(collapse_repeats(""), "");
    }
}
