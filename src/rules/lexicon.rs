//! Phrase lists shared by scorecards: `rules/lexicons/NAME.txt`, one phrase per line.
//!
//! QA leads maintain 禁语, greetings and complaint words as plain lists, not inside each card.
//! `#` starts a comment; blank lines are ignored. `userdict.txt` in the same folder is jieba's
//! user dictionary, not a lexicon.

use super::Diagnostic;
use crate::text::normalize;
use std::collections::BTreeMap;
use std::path::Path;

/// File in the lexicon folder that is the segmenter's dictionary rather than a phrase list.
pub const USER_DICT: &str = "userdict.txt";
/// Words for Whisper's prompt (`--asr-vocabulary`), not a lexicon either.
pub const ASR_VOCABULARY: &str = "vocabulary.txt";

#[derive(Clone, Debug, Default)]
pub struct Lexicons {
    map: BTreeMap<String, Vec<String>>,
}

impl Lexicons {
    /// Load every `*.txt` in `dir` (a missing folder gives no lexicons). Problems (unreadable
    /// files, phrases with nothing to match) are returned together.
    pub fn load_dir(dir: &Path) -> Result<Lexicons, Vec<Diagnostic>> {
        let mut lex = Lexicons::default();
        let mut problems = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(lex),
            Err(e) => {
                return Err(vec![Diagnostic {
                    file: dir.to_path_buf(),
                    line: None,
                    column: None,
                    message: format!("cannot read lexicon folder: {e}"),
                }])
            }
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n != USER_DICT && n != ASR_VOCABULARY)
            })
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let (phrases, mut p) = parse(&text, &path);
                    problems.append(&mut p);
                    lex.map.insert(name, phrases);
                }
                Err(e) => problems.push(Diagnostic {
                    file: path.clone(),
                    line: None,
                    column: None,
                    message: format!("cannot read lexicon: {e}"),
                }),
            }
        }
        if problems.is_empty() {
            Ok(lex)
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.map.get(name).map(Vec::as_slice)
    }

    pub fn names(&self) -> Vec<&str> {
        self.map.keys().map(String::as_str).collect()
    }

    /// Add or replace a lexicon (for building cards in code and tests).
    pub fn insert(&mut self, name: &str, phrases: &[&str]) {
        self.map.insert(
            name.to_string(),
            phrases.iter().map(|s| s.to_string()).collect(),
        );
    }
}

fn parse(text: &str, path: &Path) -> (Vec<String>, Vec<Diagnostic>) {
    let mut phrases = Vec::new();
    let mut problems = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let phrase = line.split('#').next().unwrap_or("").trim();
        if phrase.is_empty() {
            continue;
        }
        if normalize(phrase).is_empty() {
            problems.push(Diagnostic {
                file: path.to_path_buf(),
                line: Some(no + 1),
                column: Some(1),
                message: format!("phrase `{phrase}` has no letters, digits or Chinese characters"),
            });
            continue;
        }
        phrases.push(phrase.to_string());
    }
    (phrases, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_lists_skipping_comments_and_the_user_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("greetings.txt"),
            "# 问候语\n您好\n\n很高兴为您服务  # 标准开头\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("userdict.txt"), "工号 100\n").unwrap();
        std::fs::write(dir.path().join("notes.md"), "x").unwrap();
        let lex = Lexicons::load_dir(dir.path()).unwrap();
        assert_eq!(lex.names(), ["greetings"]);
        assert_eq!(lex.get("greetings").unwrap(), ["您好", "很高兴为您服务"]);
    }

    #[test]
    fn bad_phrases_are_reported_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.txt"), "好的\n。。。\n").unwrap();
        let err = Lexicons::load_dir(dir.path()).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err[0]
            .to_string()
            .ends_with("x.txt:2:1: phrase `。。。` has no letters, digits or Chinese characters"));
    }

    #[test]
    fn missing_folder_is_empty() {
        let lex = Lexicons::load_dir(Path::new("/nonexistent/lexicons")).unwrap();
        assert!(lex.names().is_empty());
    }
}
