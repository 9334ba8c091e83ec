//! All scorecards of a rules directory, and picking the one for a call.

use super::card::Scorecard;
use super::lexicon::Lexicons;
use super::load::{parse_card, toml_files};
use super::{Diagnostic, RulesError};
use crate::record::CallMeta;
use std::path::Path;

/// The cards of a rules directory. Each call is scored with the card whose `[match]` fits it
/// best, or the default card.
#[derive(Debug, Clone)]
pub struct ScorecardSet {
    cards: Vec<Scorecard>,
    default: usize,
}

impl ScorecardSet {
    /// A rules folder (see [`ScorecardSet::load_dir`]) or a single card file, which then scores
    /// every call.
    pub fn load(path: &Path) -> Result<ScorecardSet, RulesError> {
        if path.is_dir() {
            ScorecardSet::load_dir(path)
        } else {
            ScorecardSet::new(vec![Scorecard::load(path)?])
        }
    }

    /// Load every `*.toml` card in `dir` with the lexicons in `dir/lexicons/`. All problems of
    /// all files are reported together.
    pub fn load_dir(dir: &Path) -> Result<ScorecardSet, RulesError> {
        let files = toml_files(dir).map_err(|source| RulesError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        if files.is_empty() {
            return Err(RulesError::NoCards(dir.to_path_buf()));
        }
        let lex = Lexicons::load_dir(&dir.join("lexicons")).map_err(RulesError::Invalid)?;
        let mut cards = Vec::new();
        let mut problems: Vec<Diagnostic> = Vec::new();
        for f in &files {
            match std::fs::read_to_string(f) {
                Ok(src) => match parse_card(&src, f, &lex) {
                    Ok(c) => cards.push(c),
                    Err(mut d) => problems.append(&mut d),
                },
                Err(e) => problems.push(Diagnostic {
                    file: f.clone(),
                    line: None,
                    column: None,
                    message: format!("cannot read scorecard: {e}"),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(RulesError::Invalid(problems));
        }
        ScorecardSet::new(cards).map_err(|e| match e {
            RulesError::NoDefault(_) => RulesError::NoDefault(dir.to_path_buf()),
            RulesError::ManyDefaults { cards, .. } => RulesError::ManyDefaults {
                dir: dir.to_path_buf(),
                cards,
            },
            other => other,
        })
    }

    /// A set from loaded cards: exactly one must be `default = true`, unless there is only one
    /// card.
    pub fn new(cards: Vec<Scorecard>) -> Result<ScorecardSet, RulesError> {
        let defaults: Vec<usize> = (0..cards.len()).filter(|&i| cards[i].default).collect();
        let default = match (defaults.as_slice(), cards.len()) {
            (_, 0) => return Err(RulesError::NoCards(Default::default())),
            ([d], _) => *d,
            ([], 1) => 0,
            ([], _) => return Err(RulesError::NoDefault(Default::default())),
            (many, _) => {
                let names: Vec<String> = many.iter().map(|&i| card_label(&cards[i])).collect();
                return Err(RulesError::ManyDefaults {
                    dir: Default::default(),
                    cards: names.join(", "),
                });
            }
        };
        Ok(ScorecardSet { cards, default })
    }

    pub fn cards(&self) -> &[Scorecard] {
        &self.cards
    }

    pub fn default_card(&self) -> &Scorecard {
        &self.cards[self.default]
    }

    /// The card for a call: the best `[match]` fit (queue beats direction; ties go to the
    /// first file in name order), else the default card.
    pub fn select(&self, meta: Option<&CallMeta>) -> &Scorecard {
        let mut best: Option<(u32, usize)> = None;
        for (i, c) in self.cards.iter().enumerate() {
            if let Some(fit) = c.select.fit(meta) {
                if best.is_none_or(|(f, _)| fit > f) {
                    best = Some((fit, i));
                }
            }
        }
        &self.cards[best.map_or(self.default, |(_, i)| i)]
    }
}

fn card_label(c: &Scorecard) -> String {
    match &c.path {
        Some(p) => p.display().to_string(),
        None => c.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Direction;

    fn write(dir: &Path, name: &str, head: &str) {
        let body = format!(
            "{head}\n[[categories]]\nname = \"c\"\nmax = 10\n[[categories.items]]\nid = \"{name}\"\nname = \"n\"\ndeduct = 1\nmanual = true\n"
        );
        std::fs::write(dir.join(format!("{name}.toml")), body).unwrap();
    }

    #[test]
    fn selects_by_queue_then_direction_then_default() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a_inbound", "name = \"呼入\"\ndefault = true");
        write(
            dir.path(),
            "b_outbound",
            "name = \"外呼\"\n[match]\ndirection = \"outbound\"",
        );
        write(
            dir.path(),
            "c_insurance",
            "name = \"保险\"\n[match]\nqueues = [\"保险*\", \"insurance\"]",
        );
        let set = ScorecardSet::load_dir(dir.path()).unwrap();
        assert_eq!(set.cards().len(), 3);
        let meta = |q: Option<&str>, d: Option<Direction>| CallMeta {
            queue: q.map(String::from),
            direction: d,
            ..CallMeta::default()
        };
        assert_eq!(set.select(None).name, "呼入");
        assert_eq!(
            set.select(Some(&meta(None, Some(Direction::Outbound))))
                .name,
            "外呼"
        );
        assert_eq!(
            set.select(Some(&meta(Some("保险理赔"), Some(Direction::Outbound))))
                .name,
            "保险"
        );
        assert_eq!(
            set.select(Some(&meta(Some("Insurance"), None))).name,
            "保险"
        );
        assert_eq!(
            set.select(Some(&meta(Some("信用卡"), Some(Direction::Inbound))))
                .name,
            "呼入"
        );
    }

    #[test]
    fn a_single_card_file_is_a_set() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "only",
            "name = \"唯一\"\n[match]\ndirection = \"outbound\"",
        );
        let set = ScorecardSet::load(&dir.path().join("only.toml")).unwrap();
        assert_eq!(set.select(None).name, "唯一");
        assert_eq!(ScorecardSet::load(dir.path()).unwrap().cards().len(), 1);
    }

    #[test]
    fn default_rules() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", "name = \"a\"");
        assert_eq!(
            ScorecardSet::load_dir(dir.path())
                .unwrap()
                .default_card()
                .name,
            "a"
        );
        write(dir.path(), "b", "name = \"b\"");
        let e = ScorecardSet::load_dir(dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "no default scorecard in {}: mark one with `default = true`",
                dir.path().display()
            )
        );
        write(dir.path(), "a", "name = \"a\"\ndefault = true");
        write(dir.path(), "b", "name = \"b\"\ndefault = true");
        let e = ScorecardSet::load_dir(dir.path()).unwrap_err();
        assert!(
            e.to_string().starts_with("several default scorecards in"),
            "{e}"
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            ScorecardSet::load_dir(empty.path()),
            Err(RulesError::NoCards(_))
        ));
    }

    #[test]
    fn all_problems_of_all_files_together() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "name = 1\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "nme = \"b\"\n").unwrap();
        let e = ScorecardSet::load_dir(dir.path()).unwrap_err();
        let d = e.diagnostics();
        assert_eq!(d.len(), 4, "{d:#?}");
        assert!(
            d[0].ends_with("a.toml:1:1: no categories: add [[categories]] tables"),
            "{}",
            d[0]
        );
        assert!(
            d[1].ends_with("a.toml:1:8: invalid type: integer `1`, expected a string"),
            "{}",
            d[1]
        );
        assert!(
            d[2].contains("b.toml:1:1: unknown field `nme`, expected one of `name`"),
            "{}",
            d[2]
        );
    }
}
