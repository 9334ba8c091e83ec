//! Scorecards as data, and the engine that scores a call against them.
//!
//! Inspectors change their scorecards every month and per queue, so the cards are TOML files in
//! `rules/` (format: `docs/rules.md`), checked with file:line:column diagnostics that list every
//! problem at once, and scored by a pure function of the card and the call record. Each
//! condition kind is a small unit under [`checks`]; scoring itself (caps, 扣完为止, fatal items,
//! manual review) is in [`score`](mod@score).

pub mod card;
pub mod checks;
pub mod cli;
pub mod lexicon;
mod load;
pub mod monthly;
pub mod score;
mod set;
pub mod view;

pub use card::{Base, Category, Effect, Item, MatchRule, Scorecard, Severity};
pub use checks::{Condition, Evidence, Outcome, Verdict};
pub use lexicon::Lexicons;
pub use load::check_files;
pub use score::{
    first_at, score, settle, CategoryScore, ItemHit, Line, ReviewItem, ReviewReason, ScoreResult,
    Settled,
};
pub use set::ScorecardSet;

use std::fmt;
use std::path::PathBuf;
use std::sync::LazyLock;

/// One problem in a rules file, rendered as `file:line:column: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column (in characters); absent when the problem has no position
    /// (an unreadable file).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file.display(), self.message),
            _ => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Why scorecards could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Every problem found, each with its position.
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("reading rules directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no scorecards (*.toml) in {0}")]
    NoCards(PathBuf),
    #[error("no default scorecard in {0}: mark one with `default = true`")]
    NoDefault(PathBuf),
    #[error("several default scorecards in {dir}: {cards}")]
    ManyDefaults { dir: PathBuf, cards: String },
}

impl RulesError {
    /// The individual problems (one for the errors that are not per-file).
    pub fn diagnostics(&self) -> Vec<String> {
        match self {
            RulesError::Invalid(d) => d.iter().map(|d| d.to_string()).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn render(d: &[Diagnostic]) -> String {
    let n = d.len();
    let head = if n == 1 {
        "1 problem in scorecards".to_string()
    } else {
        format!("{n} problems in scorecards")
    };
    let lines: Vec<String> = d.iter().map(|d| format!("  {d}")).collect();
    format!("{head}:\n{}", lines.join("\n"))
}

/// Names of all condition kinds (and the `role`, `position`, `said` sub-tables), in the order
/// `rules explain` lists them.
pub fn kinds() -> Vec<&'static str> {
    checks::KINDS.iter().map(|(k, _)| *k).collect()
}

/// The documentation of a condition kind, as shown by `zhijian rules explain KIND`.
pub fn explain(kind: &str) -> Option<&'static str> {
    static DOCS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
        checks::KINDS
            .iter()
            .map(|(k, raw)| {
                // Doc comments keep the space after `///`; drop one leading space per line.
                let text: Vec<&str> = raw
                    .lines()
                    .map(|l| l.strip_prefix(' ').unwrap_or(l))
                    .collect();
                (*k, text.join("\n").trim_end().to_string())
            })
            .collect()
    });
    DOCS.iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, d)| d.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_explained_with_both_sections() {
        for k in kinds() {
            let doc = explain(k).unwrap();
            assert!(doc.contains("## What it checks"), "{k}");
            assert!(doc.contains("## Example"), "{k}");
            assert!(doc.contains("```toml"), "{k}");
        }
        assert!(explain("keywords")
            .unwrap()
            .starts_with("`keywords`: phrases said in the call"));
        assert_eq!(explain("nope"), None);
    }

    /// The examples in the kinds' documentation are valid conditions for the shipped lexicons.
    #[test]
    fn documentation_examples_load() {
        use checks::said::Said;
        use checks::Compiler;
        use std::collections::{BTreeMap, BTreeSet};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/lexicons");
        let lex = Lexicons::load_dir(&dir).unwrap();
        let quoted = regex::Regex::new(r#""([a-z_0-9]+)""#).unwrap();
        let mut checked = 0;
        for k in kinds() {
            let doc = explain(k).unwrap();
            for block in doc.split("```toml").skip(1) {
                let block = block.split("```").next().unwrap();
                // Names defined or referred to in the block count as defined.
                let names: BTreeSet<String> = quoted
                    .captures_iter(block)
                    .map(|c| c[1].to_string())
                    .chain(block.lines().filter_map(|l| {
                        l.strip_prefix("[conditions.")
                            .map(|n| n.trim_end_matches(']').to_string())
                    }))
                    .collect();
                let mut problems = Vec::new();
                let mut conditions: Vec<(String, Condition)> = Vec::new();
                let mut saids: Vec<(String, Said)> = Vec::new();
                let tables: String = block
                    .lines()
                    .filter(|l| {
                        !l.starts_with("when =")
                            && !l.starts_with("first =")
                            && !l.starts_with("then =")
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                if tables.contains("[conditions.") {
                    #[derive(serde::Deserialize)]
                    struct Doc {
                        conditions: BTreeMap<String, Condition>,
                    }
                    let d: Doc =
                        toml::from_str(&tables).unwrap_or_else(|e| panic!("{k}: {e}\n{tables}"));
                    conditions.extend(d.conditions);
                }
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("when = ") {
                        let m: BTreeMap<String, Condition> = toml::from_str(&format!("w = {v}"))
                            .unwrap_or_else(|e| panic!("{k}: {e}\n{line}"));
                        conditions.extend(m);
                    } else if line.starts_with("first = ") || line.starts_with("then = ") {
                        let m: BTreeMap<String, Said> =
                            toml::from_str(line).unwrap_or_else(|e| panic!("{k}: {e}\n{line}"));
                        saids.extend(m);
                    }
                }
                for (_, c) in &mut conditions {
                    let mut cx = Compiler::new(&lex, &names, Vec::new());
                    c.compile(&mut cx);
                    problems.extend(cx.problems);
                    checked += 1;
                }
                for (_, s) in &mut saids {
                    let mut cx = Compiler::new(&lex, &names, Vec::new());
                    s.compile(&mut cx);
                    problems.extend(cx.problems);
                    checked += 1;
                }
                assert!(problems.is_empty(), "{k}: {problems:?}");
            }
        }
        assert!(checked >= 35, "only {checked} examples found");
    }

    #[test]
    fn diagnostics_render_with_position() {
        let d = Diagnostic {
            file: "rules/x.toml".into(),
            line: Some(3),
            column: Some(7),
            message: "unknown field `wen`".into(),
        };
        assert_eq!(d.to_string(), "rules/x.toml:3:7: unknown field `wen`");
        let e = RulesError::Invalid(vec![d.clone(), d]);
        assert_eq!(
            e.to_string(),
            "2 problems in scorecards:\n  rules/x.toml:3:7: unknown field `wen`\n  rules/x.toml:3:7: unknown field `wen`"
        );
    }
}
