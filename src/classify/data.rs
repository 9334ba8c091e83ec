//! The labelled utterances in `data/classify/{train,test}.tsv` (written by
//! `data/classify/generate.py`; labelling rules in `data/README.md`).
//!
//! Columns: `id split group role attitude emotion intent domain text`. A head's column is empty
//! where the label does not apply (agents have no emotion/intent label, customers no
//! attitude label); a head is trained and evaluated only on rows that carry its label.

use super::{ClassifyError, HEADS};
use crate::record::Role;
use std::path::{Path, PathBuf};

pub const TRAIN_FILE: &str = "train.tsv";
pub const TEST_FILE: &str = "test.tsv";
/// Where the data lives relative to the repository root.
pub const DEFAULT_DIR: &str = "data/classify";

const COLUMNS: [&str; 9] = [
    "id", "split", "group", "role", "attitude", "emotion", "intent", "domain", "text",
];

/// One optional label index per head, in [`HEADS`] order.
pub type Labels = [Option<usize>; HEADS.len()];

#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub id: String,
    /// Core line the example was generated from; all of a group is in one split.
    pub group: String,
    pub role: Role,
    /// Label index per head (in [`HEADS`] order), None where the head does not apply.
    pub labels: Labels,
    pub text: String,
}

/// Read a data file; every problem names the file and line.
pub fn load_tsv(path: &Path) -> Result<Vec<Example>, ClassifyError> {
    let text = std::fs::read_to_string(path).map_err(|e| ClassifyError::io(path, e))?;
    parse_tsv(&text, path)
}

pub fn parse_tsv(text: &str, path: &Path) -> Result<Vec<Example>, ClassifyError> {
    let err = |line: usize, message: String| ClassifyError::Data {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.split('\t').eq(COLUMNS.iter().copied()) => {}
        _ => return Err(err(1, format!("header must be: {}", COLUMNS.join(" ")))),
    }
    // Each head's column index, found once (constants of this file, not input).
    let cols: Vec<usize> = HEADS
        .iter()
        .map(|h| COLUMNS.iter().position(|c| *c == h.column))
        .map(|c| c.expect("every head's column is in COLUMNS"))
        .collect();
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != COLUMNS.len() {
            return Err(err(
                n,
                format!("{} columns, expected {}", f.len(), COLUMNS.len()),
            ));
        }
        let role = match f[3] {
            "agent" => Role::Agent,
            "customer" => Role::Customer,
            "mixed" => Role::Mixed,
            r => return Err(err(n, format!("unknown role {r:?}"))),
        };
        let mut labels: Labels = [None; HEADS.len()];
        for (h, spec) in HEADS.iter().enumerate() {
            let v = f[cols[h]];
            // "mixed" is a role, but not a label of the role head: such rows train no role.
            if v.is_empty() || (spec.column == "role" && v == "mixed") {
                continue;
            }
            labels[h] = Some(spec.labels.iter().position(|l| *l == v).ok_or_else(|| {
                err(
                    n,
                    format!(
                        "unknown {} label {v:?} (one of {})",
                        spec.name,
                        spec.labels.join(", ")
                    ),
                )
            })?);
        }
        // A line labelled for its speaker only (`## role_only` in the sources) trains the role
        // head alone.
        if labels.iter().all(Option::is_none) {
            return Err(err(n, "row has no label".into()));
        }
        if f[8].trim().is_empty() {
            return Err(err(n, "empty text".into()));
        }
        out.push(Example {
            id: f[0].to_string(),
            group: f[2].to_string(),
            role,
            labels,
            text: f[8].to_string(),
        });
    }
    Ok(out)
}

/// The training and held-out files in `dir`.
pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(TRAIN_FILE), dir.join(TEST_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id\tsplit\tgroup\trole\tattitude\temotion\tintent\tdomain\ttext\n";

    #[test]
    fn parses_labels_per_head() {
        let t = format!(
            "{HEAD}tr0\ttrain\ta0010\tagent\trude\t\t\tbank\t你听不懂人话吗\n\
             tr1\ttrain\tc0020\tcustomer\t\tdissatisfied\tcomplaint\ttelecom\t我要投诉你们\n"
        );
        let ex = parse_tsv(&t, Path::new("x.tsv")).unwrap();
        // attitude, emotion, intent, role
        assert_eq!(ex[0].labels, [Some(2), None, None, Some(0)]);
        assert_eq!(ex[1].labels, [None, Some(1), Some(2), Some(1)]);
        assert_eq!(ex[1].role, Role::Customer);
        // A mixed line trains no role; a line with only a role trains only the role head; a
        // mixed line without labels has none.
        let t = format!(
            "{HEAD}tr0\ttrain\tm1\tmixed\t\tneutral\t\tbank\t好的\n\
             tr1\ttrain\ta2\tagent\t\t\t\tbank\t好的，再见\n"
        );
        let ex = parse_tsv(&t, Path::new("x.tsv")).unwrap();
        assert_eq!(ex[0].labels, [None, Some(0), None, None]);
        assert_eq!(ex[1].labels, [None, None, None, Some(0)]);
        let t = format!("{HEAD}tr0\ttrain\tm1\tmixed\t\t\t\tbank\t好的\n");
        let msg = parse_tsv(&t, Path::new("x.tsv")).unwrap_err().to_string();
        assert!(msg.contains("row has no label"), "{msg}");
    }

    #[test]
    fn unknown_label_names_file_and_line() {
        let t = format!("{HEAD}tr0\ttrain\ta1\tagent\tgrumpy\t\t\tbank\t嗯\n");
        let msg = parse_tsv(&t, Path::new("d/train.tsv"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("d/train.tsv:2: unknown attitude label \"grumpy\""),
            "{msg}"
        );
    }

    #[test]
    fn shipped_data_loads_and_splits_do_not_share_groups_or_texts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
        let (tr, te) = paths(&dir);
        let (train, test) = (load_tsv(&tr).unwrap(), load_tsv(&te).unwrap());
        assert!(
            train.len() > 3000 && test.len() > 800,
            "{} {}",
            train.len(),
            test.len()
        );
        let groups: std::collections::HashSet<_> = train.iter().map(|e| &e.group).collect();
        let texts: std::collections::HashSet<_> = train.iter().map(|e| &e.text).collect();
        for e in &test {
            assert!(
                !groups.contains(&e.group),
                "group {} in both splits",
                e.group
            );
            assert!(!texts.contains(&e.text), "text {} in both splits", e.text);
        }
    }
}
