//! `all`, `any`, `not`: boolean combinations of the card's named conditions.
//!
//! The three kinds share one file because they share the three-valued logic: a `Clear` child
//! decides `all`, a `Hit` child decides `any`, and otherwise an `Unknown` child makes the
//! combination unknown rather than guessed.

use super::{and, or, Compiler, Condition, Ctx, Evidence, Outcome, Verdict};
use serde::Deserialize;

/// Look up a named condition; its absence was reported at load time.
fn named<'a>(cx: &Ctx<'a>, name: &str) -> Option<&'a Condition> {
    cx.named.get(name)
}

fn check_names(cx: &mut Compiler, names: &[&String]) {
    if names.is_empty() {
        cx.problem("of", "`of` lists no conditions");
    }
    for n in names {
        if !cx.names.contains(n.as_str()) {
            let known: Vec<&str> = cx.names.iter().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none defined".to_string()
            } else {
                known.join(", ")
            };
            cx.problem(
                "of",
                format!("unknown condition `{n}` (defined in [conditions]: {known})"),
            );
        }
    }
}

fn eval_children(cx: &Ctx, of: &[String]) -> Vec<(String, Outcome)> {
    of.iter()
        .map(|n| match named(cx, n) {
            Some(c) => (n.clone(), c.eval(cx)),
            None => (
                n.clone(),
                Outcome::unknown(format!("unknown condition `{n}`"), vec![]),
            ),
        })
        .collect()
}

documented! { EXPLAIN_ALL,
/// `all`: every named condition in `of` holds.
///
/// ## What it checks
/// Names refer to tables under `[conditions]` in the same scorecard. The combination hits when
/// all of them hit, is clear when any is clear, and is unknown otherwise. Evidence of every
/// child is kept; the occurrences are the smallest child's.
///
/// ## Example
/// ```toml
/// [conditions.says_qin]
/// kind = "keywords"
/// phrases = ["亲"]
/// role = "agent"
///
/// [conditions.bank_line]
/// kind = "metadata"
/// queue = ["信用卡*"]
///
/// # in an item:
/// when = { kind = "all", of = ["says_qin", "bank_line"] }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct All {
    pub of: Vec<String>,
}
}

impl All {
    pub fn compile(&mut self, cx: &mut Compiler) {
        check_names(cx, &self.of.iter().collect::<Vec<_>>());
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let kids = eval_children(cx, &self.of);
        match and(kids.iter().map(|(_, o)| o.verdict)) {
            Verdict::Clear => Outcome::clear(),
            Verdict::Unknown => unknown_from(&kids),
            Verdict::Hit => {
                let occ = kids.iter().map(|(_, o)| o.occurrences).min().unwrap_or(1);
                Outcome::hit(
                    occ,
                    kids.into_iter().flat_map(|(_, o)| o.evidence).collect(),
                )
            }
        }
    }
}

documented! { EXPLAIN_ANY,
/// `any`: at least one named condition in `of` holds.
///
/// ## What it checks
/// Hits when any child hits, is clear when all are clear, and is unknown otherwise. Evidence is
/// that of the children that hit; the occurrences are the largest child's, so one utterance
/// caught by two children (a phrase and the classifier) is not counted twice.
///
/// ## Example
/// ```toml
/// # company or staff number missing from the opening
/// when = { kind = "any", of = ["no_company", "no_staff_number"] }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Any {
    pub of: Vec<String>,
}
}

impl Any {
    pub fn compile(&mut self, cx: &mut Compiler) {
        check_names(cx, &self.of.iter().collect::<Vec<_>>());
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let kids = eval_children(cx, &self.of);
        match or(kids.iter().map(|(_, o)| o.verdict)) {
            Verdict::Clear => Outcome::clear(),
            Verdict::Unknown => unknown_from(&kids),
            Verdict::Hit => {
                let hits: Vec<Outcome> = kids
                    .into_iter()
                    .map(|(_, o)| o)
                    .filter(Outcome::is_hit)
                    .collect();
                let occ = hits.iter().map(|o| o.occurrences).max().unwrap_or(1);
                Outcome::hit(occ, hits.into_iter().flat_map(|o| o.evidence).collect())
            }
        }
    }
}

documented! { EXPLAIN_NOT,
/// `not`: the named condition in `of` does not hold.
///
/// ## What it checks
/// Hits when the child is clear, is clear when it hits, and stays unknown when it is unknown.
/// For "a phrase that must be said" prefer `absence`, which records what was missing.
///
/// ## Example
/// ```toml
/// when = { kind = "not", of = "customer_satisfied" }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Not {
    pub of: String,
}
}

impl Not {
    pub fn compile(&mut self, cx: &mut Compiler) {
        check_names(cx, &[&self.of]);
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        let kids = eval_children(cx, std::slice::from_ref(&self.of));
        let (name, o) = &kids[0];
        match o.verdict {
            Verdict::Hit => Outcome::clear(),
            Verdict::Unknown => unknown_from(&kids),
            Verdict::Clear => Outcome::hit(
                1,
                vec![Evidence::span(
                    0.0,
                    cx.view.duration,
                    format!("未出现：{name}"),
                )],
            ),
        }
    }
}

/// An unknown combination, naming the children that were unknown and why.
fn unknown_from(kids: &[(String, Outcome)]) -> Outcome {
    let reasons: Vec<String> = kids
        .iter()
        .filter(|(_, o)| o.verdict == Verdict::Unknown)
        .map(|(n, o)| format!("{n}: {}", o.reason.as_deref().unwrap_or("unknown")))
        .collect();
    let evidence = kids
        .iter()
        .flat_map(|(_, o)| o.evidence.iter().cloned())
        .collect();
    Outcome::unknown(reasons.join("; "), evidence)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, cond_with, problems};
    use super::super::{Condition, Ctx, Verdict};
    use crate::rules::view::CallView;
    use std::collections::{BTreeMap, BTreeSet};

    fn named() -> BTreeMap<String, Condition> {
        let mut m = BTreeMap::new();
        m.insert(
            "qin".into(),
            cond(r#"{ kind = "keywords", phrases = ["亲"], role = "agent" }"#),
        );
        m.insert(
            "hello".into(),
            cond(r#"{ kind = "keywords", phrases = ["您好"], role = "agent" }"#),
        );
        m.insert(
            "bank".into(),
            cond(r#"{ kind = "metadata", queue = ["信用卡*"] }"#),
        );
        m
    }

    fn run(src: &str, call: &crate::record::CallRecord) -> super::Outcome {
        let named = named();
        let names: BTreeSet<String> = named.keys().cloned().collect();
        let c = cond_with(src, &names);
        let view = CallView::new(call);
        c.eval(&Ctx::new(&view, &named))
    }

    #[test]
    fn three_valued_combinations() {
        // No metadata: `bank` is unknown.
        let c = call(&[("a", 0.0, 2.0, "亲，您好")]);
        assert_eq!(
            run(r#"{ kind = "all", of = ["qin", "hello"] }"#, &c).verdict,
            Verdict::Hit
        );
        let o = run(r#"{ kind = "all", of = ["qin", "bank"] }"#, &c);
        assert_eq!(o.verdict, Verdict::Unknown);
        assert_eq!(o.reason.as_deref(), Some("bank: no call metadata"));
        assert_eq!(
            run(r#"{ kind = "any", of = ["bank", "qin"] }"#, &c).verdict,
            Verdict::Hit
        );
        assert_eq!(
            run(r#"{ kind = "not", of = "bank" }"#, &c).verdict,
            Verdict::Unknown
        );
        assert_eq!(
            run(r#"{ kind = "not", of = "qin" }"#, &c).verdict,
            Verdict::Clear
        );
        let c2 = call(&[("a", 0.0, 2.0, "您好")]);
        assert_eq!(
            run(r#"{ kind = "all", of = ["qin", "bank"] }"#, &c2).verdict,
            Verdict::Clear
        );
        let o = run(r#"{ kind = "not", of = "qin" }"#, &c2);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(o.evidence[0].note, "未出现：qin");
        assert_eq!(
            run(r#"{ kind = "any", of = ["qin", "bank"] }"#, &c2).verdict,
            Verdict::Unknown
        );
    }

    #[test]
    fn evidence_and_occurrences() {
        let c = call(&[("a", 0.0, 2.0, "亲，您好"), ("a", 2.0, 4.0, "亲")]);
        let o = run(r#"{ kind = "any", of = ["qin", "hello"] }"#, &c);
        assert_eq!(o.occurrences, 2);
        assert_eq!(o.evidence.len(), 3);
        let o = run(r#"{ kind = "all", of = ["qin", "hello"] }"#, &c);
        assert_eq!(o.occurrences, 1);
        assert_eq!(o.evidence.len(), 3);
    }

    #[test]
    fn unknown_names_are_reported() {
        assert_eq!(
            problems(r#"{ kind = "all", of = ["nope"] }"#),
            ["unknown condition `nope` (defined in [conditions]: none defined)"]
        );
        assert_eq!(
            problems(r#"{ kind = "any", of = [] }"#),
            ["`of` lists no conditions"]
        );
    }
}
