//! Text layer: jieba segmentation with the business dictionary, normalisation and phrase
//! matching that survives the recogniser's homophone errors.
//!
//! One jieba instance is shared by the whole process: loading its dictionary takes a noticeable
//! fraction of a second, so it happens once, on first use. HMM is off, because HMM invents words
//! for unknown character runs and makes keyword matches depend on context; business terms that
//! must stay whole (信用卡, 工号, 12315) come from the user dictionary instead.

pub mod matcher;
pub mod normalize;
pub mod phonetic;

pub use matcher::{find, max_edits_for, MatchMode, Phrase, Prepared, TextMatch};
pub use normalize::{normalize, normalize_chars, Normalized};
pub use phonetic::fuzzy_pinyin;

use jieba_rs::Jieba;
use std::io::BufRead;
use std::path::Path;
use std::sync::OnceLock;

/// The business dictionary shipped in `rules/lexicons/userdict.txt`, built in so that
/// segmentation works without the rules directory.
const BUILTIN_USER_DICT: &str = include_str!("../../rules/lexicons/userdict.txt");

static JIEBA: OnceLock<Jieba> = OnceLock::new();

/// Errors of the text layer.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("reading user dictionary {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: bad user dictionary entry `{entry}` (want `word [frequency] [tag]`)")]
    BadEntry {
        path: String,
        line: usize,
        entry: String,
    },
    #[error("the segmenter is already in use; load the user dictionary before the first tokenize")]
    AlreadyInitialised,
}

/// Use the user dictionary at `path` (same format as jieba's: `word [frequency] [tag]` per line,
/// `#` comments) instead of the built-in one. Must run before the first [`tokenize`].
pub fn init_user_dict(path: &Path) -> Result<(), TextError> {
    let text = std::fs::read_to_string(path).map_err(|source| TextError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let jieba = build_jieba(&text, &path.display().to_string())?;
    JIEBA.set(jieba).map_err(|_| TextError::AlreadyInitialised)
}

fn build_jieba(user_dict: &str, name: &str) -> Result<Jieba, TextError> {
    let mut jieba = Jieba::new();
    for (no, line) in std::io::Cursor::new(user_dict).lines().enumerate() {
        let line = line.map_err(|source| TextError::Read {
            path: name.to_string(),
            source,
        })?;
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let word = parts.next().unwrap_or_default();
        let freq = match parts.next() {
            None => None,
            Some(f) => Some(f.parse::<usize>().map_err(|_| TextError::BadEntry {
                path: name.to_string(),
                line: no + 1,
                entry: line.to_string(),
            })?),
        };
        jieba.add_word(word, freq, parts.next());
    }
    Ok(jieba)
}

fn jieba() -> &'static Jieba {
    JIEBA.get_or_init(|| {
        build_jieba(BUILTIN_USER_DICT, "built-in user dictionary")
            .expect("the shipped user dictionary is well-formed (tested)")
    })
}

/// True when `word` is in the segmenter's dictionary (jieba's plus the user dictionary).
pub fn is_word(word: &str) -> bool {
    jieba().has_word(word)
}

/// jieba tokens of `text` (HMM off), whitespace tokens dropped.
pub fn tokenize(text: &str) -> Vec<String> {
    jieba()
        .cut(text, false)
        .into_iter()
        .filter(|t| !t.word.trim().is_empty())
        .map(|t| t.word.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_user_dictionary_is_well_formed() {
        build_jieba(BUILTIN_USER_DICT, "userdict.txt").unwrap();
    }

    #[test]
    fn business_terms_stay_whole() {
        assert_eq!(
            tokenize("您的工号是多少"),
            ["您", "的", "工号", "是", "多少"]
        );
        assert_eq!(
            tokenize("我要打12315投诉"),
            ["我", "要", "打", "12315", "投诉"]
        );
        assert_eq!(tokenize("信用卡分期手续费"), ["信用卡", "分期", "手续费"]);
    }

    #[test]
    fn bad_user_dictionary_entry_names_the_line() {
        let err = build_jieba("工号 10\n坏词 abc\n", "d.txt").unwrap_err();
        assert_eq!(
            err.to_string(),
            "d.txt:2: bad user dictionary entry `坏词 abc` (want `word [frequency] [tag]`)"
        );
    }
}
