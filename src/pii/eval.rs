//! `zhijian eval pii`: precision and recall of the detector per type on a labelled set
//! (`data/pii/labelled.jsonl`, see `data/pii/README.md`).
//!
//! A detection counts as right when it lies in the labelled utterance, has the labelled type
//! and overlaps the labelled text; each label is matched at most once. `exact` counts the
//! right ones whose span is exactly the labelled text.

use super::{detect, Kind};
use crate::record::{Role, Utterance};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Snippet {
    id: String,
    utts: Vec<SnippetUtt>,
    entities: Vec<Label>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnippetUtt {
    role: Role,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    utt: usize,
    kind: Kind,
    text: String,
}

/// Counts for one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub labelled: usize,
    pub detected: usize,
    pub correct: usize,
    pub exact: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.detected)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.labelled)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// The result of one evaluation.
#[derive(Debug, Default)]
pub struct PiiReport {
    pub snippets: usize,
    pub utterances: usize,
    pub per_kind: BTreeMap<Kind, Counts>,
    /// `snippet id: what went wrong`, for reading the errors.
    pub errors: Vec<String>,
}

impl PiiReport {
    pub fn total(&self) -> Counts {
        self.per_kind
            .values()
            .fold(Counts::default(), |a, c| Counts {
                labelled: a.labelled + c.labelled,
                detected: a.detected + c.detected,
                correct: a.correct + c.correct,
                exact: a.exact + c.exact,
            })
    }
}

impl fmt::Display for PiiReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} snippets, {} utterances",
            self.snippets, self.utterances
        )?;
        writeln!(
            f,
            "{:<10} {:>8} {:>8} {:>8} {:>6} {:>9} {:>7}",
            "type", "labelled", "detected", "correct", "exact", "precision", "recall"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, c: &Counts| {
            writeln!(
                f,
                "{:<10} {:>8} {:>8} {:>8} {:>6} {:>8.1}% {:>6.1}%",
                name,
                c.labelled,
                c.detected,
                c.correct,
                c.exact,
                100.0 * c.precision(),
                100.0 * c.recall()
            )
        };
        for (k, c) in &self.per_kind {
            row(f, k.as_str(), c)?;
        }
        row(f, "all", &self.total())?;
        if !self.errors.is_empty() {
            writeln!(f, "\nerrors:")?;
            for e in &self.errors {
                writeln!(f, "  {e}")?;
            }
        }
        Ok(())
    }
}

/// Evaluate the detector on the JSONL set at `path`.
pub fn evaluate(path: &Path) -> Result<PiiReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut r = PiiReport::default();
    for (no, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let s: Snippet = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: bad snippet", path.display(), no + 1))?;
        score_snippet(&s, &mut r)
            .with_context(|| format!("{}:{}: snippet {}", path.display(), no + 1, s.id))?;
    }
    Ok(r)
}

fn score_snippet(s: &Snippet, r: &mut PiiReport) -> Result<()> {
    // Utterances 3 s apart, 2.5 s long: close enough for a number to run on.
    let utts: Vec<Utterance> = s
        .utts
        .iter()
        .enumerate()
        .map(|(i, u)| Utterance {
            id: i,
            role: u.role,
            start: i as f64 * 3.0,
            end: i as f64 * 3.0 + 2.5,
            text: u.text.clone(),
            ..Utterance::default()
        })
        .collect();
    r.snippets += 1;
    r.utterances += utts.len();
    let mut labels = Vec::new();
    for l in &s.entities {
        let t = &utts
            .get(l.utt)
            .with_context(|| format!("label for utterance {} of {}", l.utt, utts.len()))?
            .text;
        let b = t
            .find(&l.text)
            .with_context(|| format!("`{}` is not in `{t}`", l.text))?;
        let start = t[..b].chars().count();
        labels.push((l, start, start + l.text.chars().count(), false));
        r.per_kind.entry(l.kind).or_default().labelled += 1;
    }
    for f in detect(&utts) {
        let e = &f.entity;
        let c = r.per_kind.entry(e.kind).or_default();
        c.detected += 1;
        let hit = labels.iter_mut().find(|(l, a, b, used)| {
            !*used && l.utt == e.utterance && l.kind == e.kind && e.start < *b && *a < e.end
        });
        match hit {
            Some(h) => {
                h.3 = true;
                c.correct += 1;
                if (h.1, h.2) == (e.start, e.end) {
                    c.exact += 1;
                }
            }
            None => {
                let text: String = utts[e.utterance]
                    .text
                    .chars()
                    .skip(e.start)
                    .take(e.end - e.start)
                    .collect();
                r.errors
                    .push(format!("{}: false {} `{text}`", s.id, e.kind.as_str()));
            }
        }
    }
    for (l, _, _, used) in labels {
        if !used {
            r.errors
                .push(format!("{}: missed {} `{}`", s.id, l.kind.as_str(), l.text));
        }
    }
    Ok(())
}
