//! Keyword baseline: what a keyword-rule QA product would say for each head, from the word
//! lists in `data/classify/lexicon.toml`. `zhijian eval classifier` prints it next to the
//! classifier so the gain (or its absence) is visible.
//!
//! Matching is on toneless pinyin syllables with punctuation removed, so ASR homophones
//! (「来订」 for 来电) still match; one-character words match the character exactly (a lone
//! syllable like "zhu" for 猪 would also hit 主管, 住, 助).

use super::{ClassifyError, HEADS};
use pinyin::ToPinyin;
use std::collections::BTreeMap;
use std::path::Path;

/// File name of the word lists inside the data folder.
pub const LEXICON_FILE: &str = "lexicon.toml";

struct Word {
    chars: Vec<char>,
    sounds: Vec<String>,
}

/// Per head, the non-default labels in priority order with their words.
pub struct Lexicon {
    heads: Vec<Vec<(usize, Vec<Word>)>>,
}

/// The baseline's answer for one head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub label: usize,
    /// Whether any word of this head occurs in the text.
    pub matched: bool,
}

impl Lexicon {
    pub fn load(path: &Path) -> Result<Lexicon, ClassifyError> {
        let text = std::fs::read_to_string(path).map_err(|e| ClassifyError::io(path, e))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Lexicon, ClassifyError> {
        let bad = |message: String| ClassifyError::Format {
            path: path.to_path_buf(),
            message,
        };
        // toml's map keeps file order only with `preserve_order`; read the label order from
        // the text instead so that priorities are what the file shows.
        let doc: toml::Table = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut heads = Vec::new();
        for spec in HEADS {
            let Some(table) = doc.get(spec.name).and_then(|v| v.as_table()) else {
                return Err(bad(format!("missing [{}] table", spec.name)));
            };
            let mut labels: Vec<(usize, usize, Vec<Word>)> = Vec::new();
            for (label, words) in table {
                let idx = spec.labels.iter().position(|l| l == label).ok_or_else(|| {
                    bad(format!(
                        "[{}]: unknown label {label:?} (one of {})",
                        spec.name,
                        spec.labels.join(", ")
                    ))
                })?;
                let list = words
                    .as_array()
                    .ok_or_else(|| bad(format!("[{}].{label}: not a list", spec.name)))?;
                let mut ws = Vec::new();
                for w in list {
                    let s = w.as_str().ok_or_else(|| {
                        bad(format!("[{}].{label}: {w} is not a string", spec.name))
                    })?;
                    let chars = units(s);
                    if chars.is_empty() {
                        return Err(bad(format!("[{}].{label}: empty word {s:?}", spec.name)));
                    }
                    let sounds = chars.iter().map(|&c| sound(c)).collect();
                    ws.push(Word { chars, sounds });
                }
                let pos = text
                    .find(&format!("\n{label} ="))
                    .or_else(|| text.find(&format!("\n{label}=")))
                    .unwrap_or(usize::MAX);
                labels.push((pos, idx, ws));
            }
            labels.sort_by_key(|(pos, idx, _)| (*pos, *idx));
            heads.push(labels.into_iter().map(|(_, i, w)| (i, w)).collect());
        }
        Ok(Lexicon { heads })
    }

    /// The label with the most matching words for head `head` (index into [`HEADS`]); ties go
    /// to the label listed first; no match gives label 0.
    pub fn predict(&self, head: usize, text: &str) -> Prediction {
        let chars = units(text);
        let sounds: Vec<String> = chars.iter().map(|&c| sound(c)).collect();
        let mut best: Option<(usize, usize)> = None;
        for (label, words) in &self.heads[head] {
            let hits = words.iter().filter(|w| occurs(w, &chars, &sounds)).count();
            if hits > 0 && best.is_none_or(|(_, h)| hits > h) {
                best = Some((*label, hits));
            }
        }
        Prediction {
            label: best.map_or(0, |(l, _)| l),
            matched: best.is_some(),
        }
    }

    /// Words per head and label, for reports.
    pub fn sizes(&self) -> BTreeMap<&'static str, usize> {
        HEADS
            .iter()
            .zip(&self.heads)
            .map(|(s, h)| (s.name, h.iter().map(|(_, w)| w.len()).sum()))
            .collect()
    }
}

fn occurs(w: &Word, chars: &[char], sounds: &[String]) -> bool {
    let n = w.chars.len();
    if n > chars.len() {
        return false;
    }
    (0..=chars.len() - n).any(|i| {
        if n == 1 {
            chars[i] == w.chars[0]
        } else {
            sounds[i..i + n] == w.sounds[..]
        }
    })
}

/// Characters that carry content: Han, letters (lower-cased), digits.
fn units(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn sound(c: char) -> String {
    match c.to_pinyin() {
        Some(p) => p.plain().to_string(),
        None => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::parse(
            "[attitude]\nrude = [\"听不懂人话\", \"猪\"]\nimpatient = [\"说过了\"]\n\
             [emotion]\nangry = [\"气死\"]\n[intent]\nescalation = [\"领导\"]\ncomplaint = [\"投诉\", \"领导\"]\n\
             [role]\ncustomer = [\"你们\"]\n",
            Path::new("lex.toml"),
        )
        .unwrap()
    }

    #[test]
    fn homophones_match_but_single_characters_need_the_character() {
        let l = lex();
        assert_eq!(l.predict(0, "你听不懂人话吗").label, 2);
        assert_eq!(l.predict(0, "你听不动人话吗").label, 2); // 懂→动, same syllable
        assert_eq!(l.predict(0, "找你们主管").label, 0); // 主 is not 猪
        assert!(!l.predict(0, "好的谢谢您").matched);
    }

    #[test]
    fn ties_go_to_the_label_listed_first() {
        // 领导 is in both escalation (listed first) and complaint.
        assert_eq!(lex().predict(2, "叫你们领导来").label, 5);
        assert_eq!(lex().predict(2, "我要投诉").label, 2);
    }

    #[test]
    fn unknown_label_is_an_error_naming_the_file() {
        let e = Lexicon::parse("[attitude]\ngrumpy = [\"哼\"]\n", Path::new("l.toml"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("l.toml: [attitude]: unknown label \"grumpy\""),
            "{e}"
        );
    }

    #[test]
    fn shipped_lexicon_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(super::super::data::DEFAULT_DIR)
            .join(LEXICON_FILE);
        let l = Lexicon::load(&p).unwrap();
        assert_eq!(l.predict(0, "你听不懂人话吗").label, 2);
        assert_eq!(l.predict(1, "气死我了").label, 2);
        // Role: customer words win, no word gives the agent.
        assert_eq!(l.predict(3, "你们怎么回事").label, 1);
        assert_eq!(l.predict(3, "工号一零八六为您服务").label, 0);
        assert!(!l.predict(3, "好的").matched);
        assert!(l.sizes()["attitude"] > 50);
    }
}
