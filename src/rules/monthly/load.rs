//! Reading and validating monthly rules files, every problem with its position.

use super::{FullMarks, LedgerKind, MonthlyItem, MonthlyRules, Needs, MONTHLY_DIR};
use crate::rules::checks::PathSeg;
use crate::rules::load::{de, diagnostic, elements, key, locate, refine_span, span_of, without};
use crate::rules::{Diagnostic, RulesError, Scorecard, ScorecardSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml_edit::ImDocument;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHead {
    name: String,
    #[serde(default)]
    description: String,
    card: String,
    #[serde(default = "fifteen")]
    calls_per_month: usize,
    #[serde(default)]
    full_marks_bonus: f64,
    #[serde(default)]
    full_marks: Vec<FullMarks>,
    #[serde(default)]
    ledger: BTreeMap<String, LedgerKind>,
}

fn fifteen() -> usize {
    15
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    category: String,
    #[serde(default)]
    bonus: f64,
    #[serde(default)]
    bonus_needs: Option<Needs>,
    #[serde(default)]
    no_bonus_when_failed_more_than: Option<usize>,
    #[serde(default)]
    no_bonus_at_all_when_failed_more_than: Option<usize>,
    #[serde(default)]
    deduct: f64,
    #[serde(default)]
    coached: Option<usize>,
    #[serde(default)]
    deduct_once_when_failed_more_than: Option<usize>,
    #[serde(default)]
    immediate: Vec<String>,
}

/// The monthly rules files of a rules directory (`DIR/monthly/*.toml`), checked against the
/// directory's cards. No folder: no monthly rules.
pub fn load_monthly_dir(
    rules_dir: &Path,
    cards: &ScorecardSet,
) -> Result<Vec<MonthlyRules>, RulesError> {
    let (rules, problems) = read_dir(rules_dir, Some(cards));
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(RulesError::Invalid(problems))
    }
}

/// Every problem of the monthly rules files under `rules_dir` (for `zhijian rules check`).
/// Without loaded cards, card and category names are not checked.
pub fn check_monthly_dir(rules_dir: &Path, cards: Option<&ScorecardSet>) -> Vec<Diagnostic> {
    read_dir(rules_dir, cards).1
}

/// Number of monthly rules files under `rules_dir`.
pub fn count_monthly_files(rules_dir: &Path) -> usize {
    files(&rules_dir.join(MONTHLY_DIR)).map_or(0, |f| f.len())
}

fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    crate::rules::load::toml_files(dir)
}

fn read_dir(
    rules_dir: &Path,
    cards: Option<&ScorecardSet>,
) -> (Vec<MonthlyRules>, Vec<Diagnostic>) {
    let dir = rules_dir.join(MONTHLY_DIR);
    if !dir.is_dir() {
        return (Vec::new(), Vec::new());
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let list = match files(&dir) {
        Ok(l) => l,
        Err(e) => {
            problems.push(Diagnostic {
                file: dir,
                line: None,
                column: None,
                message: format!("cannot read monthly rules folder: {e}"),
            });
            return (out, problems);
        }
    };
    for f in list {
        match std::fs::read_to_string(&f) {
            Ok(src) => match parse(&src, &f, cards) {
                Ok(r) => out.push(r),
                Err(mut d) => problems.append(&mut d),
            },
            Err(e) => problems.push(Diagnostic {
                file: f.clone(),
                line: None,
                column: None,
                message: format!("cannot read monthly rules: {e}"),
            }),
        }
    }
    (out, problems)
}

type Problems = Vec<(Option<Range<usize>>, String)>;

/// Parse and validate one monthly rules file. `cards`: the cards it may refer to.
pub(crate) fn parse(
    src: &str,
    path: &Path,
    cards: Option<&ScorecardSet>,
) -> Result<MonthlyRules, Vec<Diagnostic>> {
    let doc = match ImDocument::parse(src.to_string()) {
        Ok(d) => d,
        Err(e) => {
            let msg = e.message().trim().to_string();
            return Err(vec![diagnostic(src, path, e.span(), msg)]);
        }
    };
    let root = doc.as_item();
    let mut problems: Problems = Vec::new();
    let mut at: Vec<(Vec<PathSeg>, String)> = Vec::new();
    let head: Option<RawHead> = de(&without(root, "items"), Some(0..0))
        .map_err(|p| problems.push(p))
        .ok();
    let card: Option<&Scorecard> = match (&head, cards) {
        (Some(h), Some(set)) => {
            let found = set.cards().iter().find(|c| c.name == h.card);
            if found.is_none() {
                let names: Vec<&str> = set.cards().iter().map(|c| c.name.as_str()).collect();
                at.push((
                    vec![key("card")],
                    format!("unknown card `{}` (cards: {})", h.card, names.join(", ")),
                ));
            }
            found
        }
        _ => None,
    };
    let has_category =
        |name: &str| card.is_none_or(|c| c.categories.iter().any(|k| k.name == name));
    let category_names = || -> String {
        card.map_or(String::new(), |c| {
            c.categories
                .iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
    };

    let mut items = Vec::new();
    let raw_items = root.get("items").map(|i| (i, elements(i)));
    match raw_items {
        None => problems.push((Some(0..0), "no items: add [[items]] tables".into())),
        Some((i, None)) => problems.push((
            span_of(i),
            "`items` must be an array of tables ([[items]])".into(),
        )),
        Some((_, Some(list))) => {
            for (n, it) in list.iter().enumerate() {
                let ipath = |k: &str| vec![key("items"), PathSeg::Index(n), key(k)];
                let raw: RawItem = match de(it, span_of(it)) {
                    Ok(r) => r,
                    Err(p) => {
                        problems.push(p);
                        continue;
                    }
                };
                if !has_category(&raw.category) {
                    at.push((
                        ipath("category"),
                        format!(
                            "card `{}` has no category `{}` (categories: {})",
                            card.map_or("", |c| c.name.as_str()),
                            raw.category,
                            category_names()
                        ),
                    ));
                }
                check_item(&raw, card, &ipath, &mut at);
                items.push(MonthlyItem {
                    category: raw.category,
                    bonus: raw.bonus,
                    bonus_needs: raw.bonus_needs,
                    no_bonus_when_failed_more_than: raw.no_bonus_when_failed_more_than,
                    no_bonus_at_all_when_failed_more_than: raw
                        .no_bonus_at_all_when_failed_more_than,
                    deduct: raw.deduct,
                    coached: raw.coached,
                    deduct_once_when_failed_more_than: raw.deduct_once_when_failed_more_than,
                    immediate: raw.immediate,
                });
            }
        }
    }

    let mut rules = None;
    if let Some(h) = head {
        if h.calls_per_month == 0 {
            at.push((
                vec![key("calls_per_month")],
                "calls_per_month must be at least 1".into(),
            ));
        }
        if h.full_marks_bonus < 0.0 {
            at.push((
                vec![key("full_marks_bonus")],
                "full_marks_bonus must not be negative".into(),
            ));
        }
        for (i, fm) in h.full_marks.iter().enumerate() {
            for (j, c) in fm.categories.iter().enumerate() {
                if !has_category(c) {
                    at.push((
                        vec![
                            key("full_marks"),
                            PathSeg::Index(i),
                            key("categories"),
                            PathSeg::Index(j),
                        ],
                        format!("unknown category `{c}` (categories: {})", category_names()),
                    ));
                }
            }
        }
        rules = Some(MonthlyRules {
            name: h.name,
            description: h.description,
            path: Some(path.to_path_buf()),
            card: h.card,
            calls_per_month: h.calls_per_month,
            items,
            full_marks: h.full_marks,
            full_marks_bonus: h.full_marks_bonus,
            ledger: h.ledger,
        });
    }
    for (p, msg) in at {
        problems.push((locate(root, &p), msg));
    }
    if problems.is_empty() {
        if let Some(r) = rules {
            return Ok(r);
        }
    }
    let mut diags: Vec<(usize, Diagnostic)> = problems
        .into_iter()
        .map(|(span, msg)| {
            let span = refine_span(src, span, &msg);
            (
                span.as_ref().map_or(0, |s| s.start),
                diagnostic(src, path, span, msg),
            )
        })
        .collect();
    diags.sort_by_key(|(pos, _)| *pos);
    Err(diags.into_iter().map(|(_, d)| d).collect())
}

/// The rules of one item that do not need the card, plus its `immediate` ids against the card.
fn check_item(
    raw: &RawItem,
    card: Option<&Scorecard>,
    ipath: &dyn Fn(&str) -> Vec<PathSeg>,
    at: &mut Vec<(Vec<PathSeg>, String)>,
) {
    if raw.bonus < 0.0 {
        at.push((ipath("bonus"), "bonus must not be negative".into()));
    }
    if raw.deduct < 0.0 {
        at.push((ipath("deduct"), "deduct must not be negative".into()));
    }
    if let Some(n) = &raw.bonus_needs {
        if n.compliant_at_least.is_none() && n.compliant_more_than.is_none() {
            at.push((
                ipath("bonus_needs"),
                "give compliant_at_least or compliant_more_than".into(),
            ));
        }
    }
    if raw.coached.is_some() && raw.deduct_once_when_failed_more_than.is_some() {
        at.push((
            ipath("deduct_once_when_failed_more_than"),
            "give either `coached` or `deduct_once_when_failed_more_than`, not both".into(),
        ));
    }
    let deducts = raw.coached.is_some()
        || raw.deduct_once_when_failed_more_than.is_some()
        || !raw.immediate.is_empty();
    if deducts && raw.deduct <= 0.0 {
        at.push((
            ipath("deduct"),
            "a deduction rule (coached, deduct_once_when_failed_more_than, immediate) needs `deduct = N`"
                .into(),
        ));
    }
    if !deducts && raw.deduct > 0.0 {
        at.push((
            ipath("deduct"),
            "`deduct` needs `coached`, `deduct_once_when_failed_more_than` or `immediate`".into(),
        ));
    }
    let Some(card) = card else { return };
    for (i, id) in raw.immediate.iter().enumerate() {
        let found = card.items().find(|(_, it)| &it.id == id);
        let msg = match found {
            None => format!("card `{}` has no item `{id}`", card.name),
            Some((c, _)) if c.name != raw.category => {
                format!(
                    "item `{id}` is in category `{}`, not `{}`",
                    c.name, raw.category
                )
            }
            Some(_) => continue,
        };
        let mut p = ipath("immediate");
        p.push(PathSeg::Index(i));
        at.push((p, msg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards() -> ScorecardSet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        ScorecardSet::load_dir(&dir).unwrap()
    }

    fn errors(src: &str) -> Vec<String> {
        parse(src, Path::new("m.toml"), Some(&cards()))
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    const HEAD: &str = "name = \"m\"\ncard = \"CDMA专席质检记录表\"\n";

    #[test]
    fn a_good_file_loads() {
        let src = format!(
            "{HEAD}full_marks_bonus = 1\n[[full_marks]]\nname = \"服务技巧\"\ncategories = [\"聆听\"]\n\
             [ledger.praise_media]\nname = \"用户通过媒体表扬\"\npoints = 5\n\
             [[items]]\ncategory = \"服务态度\"\nbonus = 1\ndeduct = 1\ncoached = 2\nimmediate = [\"TD06\"]\n"
        );
        let r = parse(&src, Path::new("m.toml"), Some(&cards())).unwrap();
        assert_eq!(r.calls_per_month, 15);
        assert_eq!(r.items[0].coached, Some(2));
        assert_eq!(r.items[0].immediate, ["TD06"]);
        assert_eq!(r.ledger["praise_media"].points, 5.0);
        assert_eq!(r.full_marks_bonus, 1.0);
    }

    #[test]
    fn every_problem_with_its_position() {
        let src = format!(
            "{HEAD}calls_per_month = 0\n\
             [[items]]\ncategory = \"服务态度\"\ndeduct = 1\ncoached = 2\nimmediate = [\"TD06\", \"HG01\", \"ZZ9\"]\n\
             [[items]]\ncategory = \"服务太度\"\nbonus = 1\nbonus_needs = {{}}\n\
             [[items]]\ncategory = \"聆听\"\ncoachd = 1\n\
             [[items]]\ncategory = \"聆听\"\ncoached = 1\n"
        );
        assert_eq!(
            errors(&src),
            [
                "m.toml:3:19: calls_per_month must be at least 1",
                "m.toml:8:22: item `HG01` is in category `后挂机`, not `服务态度`",
                "m.toml:8:30: card `CDMA专席质检记录表` has no item `ZZ9`",
                "m.toml:10:12: card `CDMA专席质检记录表` has no category `服务太度` (categories: 服务用语, 服务态度, 后挂机, 提供有效信息, 应答及时性, 聆听, 理解确认, 语言技巧灵活性)",
                "m.toml:12:15: give compliant_at_least or compliant_more_than",
                "m.toml:15:1: unknown field `coachd`, expected one of `category`, `bonus`, `bonus_needs`, `no_bonus_when_failed_more_than`, `no_bonus_at_all_when_failed_more_than`, `deduct`, `coached`, `deduct_once_when_failed_more_than`, `immediate`",
                "m.toml:16:1: a deduction rule (coached, deduct_once_when_failed_more_than, immediate) needs `deduct = N`",
            ]
        );
        let unknown_card = "name = \"m\"\ncard = \"没有这张卡\"\n[[items]]\ncategory = \"聆听\"\n";
        let e = errors(unknown_card);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("m.toml:2:8: unknown card `没有这张卡` (cards: "),
            "{e:?}"
        );
    }
}
