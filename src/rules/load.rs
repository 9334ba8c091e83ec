//! Reading and validating scorecard files.
//!
//! serde stops at the first error, but a QA lead who made three typos should see three
//! messages. So the file is parsed once with `toml_edit` (which keeps byte spans), and each
//! piece — the header, every named condition, every category and every item — is deserialized
//! on its own, so one bad item does not hide the next. Semantic problems (unknown lexicon, bad
//! regex, points over the category maximum, unknown condition reference) are reported with the
//! path of the offending value, which is then looked up in the document to get its position.

use super::card::{Base, Category, Effect, Item, MatchRule, Scorecard, Severity};
use super::checks::{is_positive, Compiler, Condition, PathSeg};
use super::{Diagnostic, Lexicons, RulesError};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml_edit::{ImDocument, Item as TomlItem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHead {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    default: bool,
    #[serde(default, rename = "match")]
    select: MatchRule,
    /// Named on/off switches that items refer to (`fatal = "NAME"`), so a site can turn a
    /// policy the seed leaves open (诈单 fatal or not) on or off in one place.
    #[serde(default)]
    settings: BTreeMap<String, bool>,
    #[serde(default)]
    sampling: Option<super::card::Sampling>,
}

/// An item's `fatal`: `true`/`false`, or the name of a card setting that decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fatal {
    Fixed(bool),
    Setting(String),
}

impl Default for Fatal {
    fn default() -> Self {
        Fatal::Fixed(false)
    }
}

impl<'de> Deserialize<'de> for Fatal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Fatal;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or the name of a setting in [settings]")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Fatal, E> {
                Ok(Fatal::Fixed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Fatal, E> {
                Ok(Fatal::Setting(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    name: String,
    max: f64,
    #[serde(default)]
    base: Base,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    deduct: Option<f64>,
    #[serde(default)]
    add: Option<f64>,
    #[serde(default)]
    severity: Severity,
    #[serde(default)]
    fatal: Fatal,
    #[serde(default = "yes")]
    once: bool,
    #[serde(default)]
    cap: Option<f64>,
    #[serde(default)]
    manual: bool,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    when: Option<Condition>,
}

fn yes() -> bool {
    true
}

/// Problems of one file: a byte span (when known) and a message.
type Problems = Vec<(Option<Range<usize>>, String)>;

/// Load one card, with the lexicons in `lexicons/` next to it.
pub(crate) fn load_card(path: &Path) -> Result<Scorecard, RulesError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let lex = Lexicons::load_dir(&dir.join("lexicons")).map_err(RulesError::Invalid)?;
    let src = std::fs::read_to_string(path).map_err(|e| {
        RulesError::Invalid(vec![Diagnostic {
            file: path.to_path_buf(),
            line: None,
            column: None,
            message: format!("cannot read scorecard: {e}"),
        }])
    })?;
    parse_card(&src, path, &lex).map_err(RulesError::Invalid)
}

/// Check scorecard files (directories stand for their `*.toml` files) and return every
/// problem, each rendering as `file:line:column: message`. Empty when all is well.
pub fn check_files<P: AsRef<Path>>(paths: &[P]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut lexicons: BTreeMap<PathBuf, Option<Lexicons>> = BTreeMap::new();
    for p in paths {
        let p = p.as_ref();
        let files = if p.is_dir() {
            match toml_files(p) {
                Ok(f) => f,
                Err(e) => {
                    out.push(Diagnostic {
                        file: p.to_path_buf(),
                        line: None,
                        column: None,
                        message: e.to_string(),
                    });
                    continue;
                }
            }
        } else {
            vec![p.to_path_buf()]
        };
        let mut defaults = Vec::new();
        for f in &files {
            let dir = f.parent().unwrap_or(Path::new(".")).join("lexicons");
            let lex =
                lexicons
                    .entry(dir.clone())
                    .or_insert_with(|| match Lexicons::load_dir(&dir) {
                        Ok(l) => Some(l),
                        Err(mut d) => {
                            out.append(&mut d);
                            None
                        }
                    });
            let Some(lex) = lex else { continue };
            match std::fs::read_to_string(f) {
                Ok(src) => match parse_card(&src, f, lex) {
                    Ok(card) if card.default => defaults.push(f.display().to_string()),
                    Ok(_) => {}
                    Err(mut d) => out.append(&mut d),
                },
                Err(e) => out.push(Diagnostic {
                    file: f.clone(),
                    line: None,
                    column: None,
                    message: format!("cannot read scorecard: {e}"),
                }),
            }
        }
        if p.is_dir() && defaults.len() > 1 {
            out.push(Diagnostic {
                file: p.to_path_buf(),
                line: None,
                column: None,
                message: format!("several default scorecards: {}", defaults.join(", ")),
            });
        }
        if p.is_dir() {
            // Monthly rules refer to the cards by name; without a loadable set (its problems are
            // reported above) only their own structure is checked.
            let cards = super::ScorecardSet::load_dir(p).ok();
            out.extend(super::monthly::check_monthly_dir(p, cards.as_ref()));
        }
    }
    out
}

/// The `*.toml` files of a directory, sorted.
pub(crate) fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Deserialize one piece of the document; errors keep toml_edit's span, else `fallback`.
pub(crate) fn de<T: DeserializeOwned>(
    item: &TomlItem,
    fallback: Option<Range<usize>>,
) -> Result<T, (Option<Range<usize>>, String)> {
    let value = item
        .clone()
        .into_value()
        .map_err(|_| (fallback.clone(), "expected a table".to_string()))?;
    T::deserialize(value.into_deserializer())
        .map_err(|e| (e.span().or(fallback), e.message().to_string()))
}

/// serde reports an unknown field inside a condition (an internally tagged enum, which serde
/// buffers) at the start of the condition's table; move it to the field's key when the key can
/// be found inside that table.
pub(crate) fn refine_span(
    src: &str,
    span: Option<Range<usize>>,
    message: &str,
) -> Option<Range<usize>> {
    let span = span?;
    let field = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next());
    let (Some(field), Some(text)) = (field, src.get(span.clone())) else {
        return Some(span);
    };
    let Ok(re) = regex::Regex::new(&format!(r"(?m)(^|[\s{{,])({})\s*=", regex::escape(field)))
    else {
        return Some(span);
    };
    match re.captures(text).and_then(|c| c.get(2)) {
        Some(m) => Some(span.start + m.start()..span.start + m.end()),
        None => Some(span),
    }
}

/// The span of an item: its own, or for a table without one, its first entry's.
pub(crate) fn span_of(item: &TomlItem) -> Option<Range<usize>> {
    item.span().or_else(|| {
        item.as_table_like().and_then(|t| {
            t.iter().next().and_then(|(k, v)| {
                t.get_key_value(k)
                    .and_then(|(key, _)| key.span())
                    .or_else(|| v.span())
            })
        })
    })
}

/// Position of the value at `path`, or of its deepest existing ancestor.
pub(crate) fn locate(root: &TomlItem, path: &[PathSeg]) -> Option<Range<usize>> {
    let mut cur = root;
    let mut best = None;
    for seg in path {
        let next = match seg {
            PathSeg::Key(k) => cur.get(k.as_str()),
            PathSeg::Index(i) => cur.get(*i),
        };
        match next {
            Some(n) => {
                cur = n;
                if let Some(s) = span_of(n) {
                    best = Some(s);
                }
            }
            None => break,
        }
    }
    best
}

/// The elements of a `[[table]]` array or an array of inline tables.
pub(crate) fn elements(item: &TomlItem) -> Option<Vec<TomlItem>> {
    if let Some(aot) = item.as_array_of_tables() {
        return Some(aot.iter().map(|t| TomlItem::Table(t.clone())).collect());
    }
    item.as_array()
        .map(|a| a.iter().map(|v| TomlItem::Value(v.clone())).collect())
}

/// A copy of a table item without `key`.
pub(crate) fn without(item: &TomlItem, key: &str) -> TomlItem {
    let mut c = item.clone();
    if let Some(t) = c.as_table_like_mut() {
        t.remove(key);
    }
    c
}

pub(crate) fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_string())
}

/// Parse and validate a card from its source text.
pub(crate) fn parse_card(
    src: &str,
    path: &Path,
    lex: &Lexicons,
) -> Result<Scorecard, Vec<Diagnostic>> {
    let doc = match ImDocument::parse(src.to_string()) {
        Ok(d) => d,
        Err(e) => {
            let msg = e.message().trim().to_string();
            return Err(vec![diagnostic(src, path, e.span(), msg)]);
        }
    };
    let root = doc.as_item();
    let mut problems: Problems = Vec::new();
    // Semantic problems found by path, located after the walk.
    let mut at: Vec<(Vec<PathSeg>, String)> = Vec::new();

    let head: Option<RawHead> = de(
        &without(&without(root, "conditions"), "categories"),
        Some(0..0),
    )
    .map_err(|p| problems.push(p))
    .ok();
    let settings = head.as_ref().map(|h| h.settings.clone());

    // Named conditions: names first, so references can be checked in any order.
    let mut conditions: BTreeMap<String, Condition> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut raw_conditions: Vec<(String, Condition)> = Vec::new();
    if let Some(item) = root.get("conditions") {
        match item.as_table_like() {
            None => problems.push((
                span_of(item),
                "`conditions` must be a table of named conditions".into(),
            )),
            Some(t) => {
                for (name, it) in t.iter() {
                    names.insert(name.to_string());
                    match de::<Condition>(it, span_of(it)) {
                        Ok(c) => raw_conditions.push((name.to_string(), c)),
                        Err(p) => problems.push(p),
                    }
                }
            }
        }
    }
    for (name, mut c) in raw_conditions {
        let mut cx = Compiler::new(lex, &names, vec![key("conditions"), key(&name)]);
        c.compile(&mut cx);
        at.append(&mut cx.problems);
        conditions.insert(name, c);
    }
    for (path, msg) in cycles(&conditions) {
        at.push((path, msg));
    }

    let mut categories = Vec::new();
    let mut seen_ids: BTreeMap<String, String> = BTreeMap::new();
    match root.get("categories").map(|c| (c, elements(c))) {
        None => problems.push((
            Some(0..0),
            "no categories: add [[categories]] tables".into(),
        )),
        Some((c, None)) => problems.push((
            span_of(c),
            "`categories` must be an array of tables ([[categories]])".into(),
        )),
        Some((_, Some(cats))) => {
            if cats.is_empty() {
                problems.push((
                    Some(0..0),
                    "no categories: add [[categories]] tables".into(),
                ));
            }
            for (ci, cat_item) in cats.iter().enumerate() {
                let base = vec![key("categories"), PathSeg::Index(ci)];
                if let Some(cat) = load_category(
                    cat_item,
                    &base,
                    lex,
                    &names,
                    &mut problems,
                    &mut at,
                    &mut seen_ids,
                    settings.as_ref(),
                ) {
                    categories.push(cat);
                }
            }
        }
    }

    let mut card = None;
    if let Some(sampling) = head.as_ref().and_then(|h| h.sampling.as_ref()) {
        for (i, id) in sampling.special_items.iter().enumerate() {
            if !categories
                .iter()
                .any(|c| c.items.iter().any(|it| &it.id == id))
            {
                at.push((
                    vec![key("sampling"), key("special_items"), PathSeg::Index(i)],
                    format!("unknown item `{id}` in special_items"),
                ));
            }
        }
        for (k, v) in [
            ("inbound_pct", sampling.inbound_pct),
            ("outbound_pct", sampling.outbound_pct),
            ("special_pct", sampling.special_pct),
        ] {
            if v.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
                at.push((
                    vec![key("sampling"), key(k)],
                    format!("{k} must be a percentage between 0 and 100"),
                ));
            }
        }
    }
    if let Some(h) = head {
        if h.name.trim().is_empty() {
            at.push((vec![key("name")], "name must not be empty".into()));
        }
        let full: f64 = categories
            .iter()
            .filter(|c| c.base == Base::Full)
            .map(|c| c.max)
            .sum();
        let all: f64 = categories.iter().map(|c| c.max).sum();
        let total = match h.total {
            Some(t) if !is_positive(t) => {
                at.push((vec![key("total")], "total must be positive".into()));
                t
            }
            Some(t) if t > all + 1e-9 && !categories.is_empty() => {
                at.push((
                    vec![key("total")],
                    format!("total {t} exceeds the sum of the category maxima {all}"),
                ));
                t
            }
            Some(t) => t,
            None if full > 0.0 => full,
            None => all,
        };
        card = Some(Scorecard {
            name: h.name,
            description: h.description,
            path: Some(path.to_path_buf()),
            total,
            default: h.default,
            select: h.select,
            sampling: h.sampling,
            conditions,
            categories,
        });
    }

    for (p, msg) in at {
        problems.push((locate(root, &p), msg));
    }
    let problems: Problems = problems
        .into_iter()
        .map(|(span, msg)| (refine_span(src, span, &msg), msg))
        .collect();
    if problems.is_empty() {
        if let Some(card) = card {
            return Ok(card);
        }
    }
    let mut diags: Vec<(usize, Diagnostic)> = problems
        .into_iter()
        .map(|(span, msg)| {
            (
                span.as_ref().map_or(0, |s| s.start),
                diagnostic(src, path, span, msg),
            )
        })
        .collect();
    diags.sort_by_key(|(pos, _)| *pos);
    Err(diags.into_iter().map(|(_, d)| d).collect())
}

#[allow(clippy::too_many_arguments)]
fn load_category(
    cat_item: &TomlItem,
    base: &[PathSeg],
    lex: &Lexicons,
    names: &BTreeSet<String>,
    problems: &mut Problems,
    at: &mut Vec<(Vec<PathSeg>, String)>,
    seen_ids: &mut BTreeMap<String, String>,
    settings: Option<&BTreeMap<String, bool>>,
) -> Option<Category> {
    let cat_span = span_of(cat_item);
    let raw: Option<RawCategory> = de(&without(cat_item, "items"), cat_span.clone())
        .map_err(|p| problems.push(p))
        .ok();
    let path = |tail: &[PathSeg]| -> Vec<PathSeg> { base.iter().chain(tail).cloned().collect() };
    if let Some(r) = &raw {
        if !is_positive(r.max) {
            at.push((path(&[key("max")]), "max must be positive".into()));
        }
    }
    let max = raw.as_ref().map_or(f64::INFINITY, |r| r.max);
    // The name as written, even when the category table has another problem.
    let cat_name = cat_item.get("name").and_then(|n| n.as_str()).map_or_else(
        || match base.last() {
            Some(PathSeg::Index(i)) => format!("#{}", i + 1),
            _ => String::new(),
        },
        String::from,
    );
    let mut items = Vec::new();
    let item_list = cat_item.get("items");
    let elems = match item_list.map(|i| (i, elements(i))) {
        None => {
            at.push((
                base.to_vec(),
                format!("category `{cat_name}` has no items ([[categories.items]])"),
            ));
            Vec::new()
        }
        Some((i, None)) => {
            problems.push((
                span_of(i),
                "`items` must be an array of tables ([[categories.items]])".into(),
            ));
            Vec::new()
        }
        Some((_, Some(e))) => e,
    };
    for (ii, it) in elems.iter().enumerate() {
        let ipath = |tail: &[PathSeg]| -> Vec<PathSeg> {
            path(&[key("items"), PathSeg::Index(ii)])
                .into_iter()
                .chain(tail.iter().cloned())
                .collect()
        };
        let raw_item: RawItem = match de(it, span_of(it)) {
            Ok(r) => r,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        // `fatal = "NAME"`: the card's setting decides; the item can be fatal either way, so the
        // structural checks below treat it as possibly fatal.
        let may_be_fatal = raw_item.fatal != Fatal::Fixed(false);
        let fatal = match &raw_item.fatal {
            Fatal::Fixed(f) => *f,
            Fatal::Setting(name) => match settings.map(|s| s.get(name)) {
                Some(Some(v)) => *v,
                Some(None) => {
                    let known: Vec<&str> = settings
                        .into_iter()
                        .flat_map(|s| s.keys().map(String::as_str))
                        .collect();
                    at.push((
                        ipath(&[key("fatal")]),
                        format!(
                            "unknown setting `{name}` (defined in [settings]: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                    false
                }
                // The header failed to parse; that problem is reported already.
                None => false,
            },
        };
        if let Some(prev) = seen_ids.insert(raw_item.id.clone(), cat_name.clone()) {
            at.push((
                ipath(&[key("id")]),
                format!(
                    "duplicate item id `{}` (also in category `{prev}`)",
                    raw_item.id
                ),
            ));
        }
        let (effect, points) = match (raw_item.deduct, raw_item.add) {
            (Some(d), None) => (Effect::Deduct, d),
            (None, Some(a)) => (Effect::Add, a),
            (None, None) => {
                if !may_be_fatal && !raw_item.manual {
                    at.push((
                        ipath(&[]),
                        format!("item `{}`: give `deduct = N` or `add = N`", raw_item.id),
                    ));
                }
                (Effect::Deduct, 0.0)
            }
            (Some(d), Some(_)) => {
                at.push((
                    ipath(&[key("add")]),
                    "give either `deduct` or `add`, not both".into(),
                ));
                (Effect::Deduct, d)
            }
        };
        let pkey = if effect == Effect::Add {
            "add"
        } else {
            "deduct"
        };
        if points < 0.0 {
            at.push((ipath(&[key(pkey)]), format!("{pkey} must not be negative")));
        } else if points > max {
            at.push((
                ipath(&[key(pkey)]),
                format!("{pkey} {points} is more than the category maximum {max}"),
            ));
        }
        if effect == Effect::Add && may_be_fatal {
            at.push((ipath(&[key("fatal")]), "an add item cannot be fatal".into()));
        }
        match (raw_item.cap, raw_item.once) {
            (Some(_), true) => at.push((
                ipath(&[key("cap")]),
                "cap only applies with `once = false`".into(),
            )),
            (Some(c), false) if c > max => at.push((
                ipath(&[key("cap")]),
                format!("cap {c} is more than the category maximum {max}"),
            )),
            (Some(c), false) if c < points => at.push((
                ipath(&[key("cap")]),
                format!("cap {c} is below the {points} points of one occurrence"),
            )),
            _ => {}
        }
        let mut when = raw_item.when;
        match &mut when {
            None if !raw_item.manual => at.push((
                ipath(&[]),
                format!(
                    "item `{}` has no `when` condition (or mark it `manual = true`)",
                    raw_item.id
                ),
            )),
            None => {}
            Some(c) => {
                let mut cx = Compiler::new(lex, names, ipath(&[key("when")]));
                c.compile(&mut cx);
                at.append(&mut cx.problems);
            }
        }
        items.push(Item {
            id: raw_item.id,
            name: raw_item.name,
            description: raw_item.description,
            effect,
            points,
            severity: raw_item.severity,
            fatal,
            once: raw_item.once,
            cap: raw_item.cap,
            manual: raw_item.manual,
            group: raw_item.group,
            when,
        });
    }
    raw.map(|r| Category {
        name: r.name,
        description: r.description,
        max: r.max,
        base: r.base,
        items,
    })
}

/// Named conditions that refer to themselves, directly or through others.
fn cycles(conditions: &BTreeMap<String, Condition>) -> Vec<(Vec<PathSeg>, String)> {
    fn visit<'a>(
        name: &'a str,
        conditions: &'a BTreeMap<String, Condition>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        out: &mut Vec<(Vec<PathSeg>, String)>,
    ) {
        if done.contains(name) {
            return;
        }
        if let Some(pos) = stack.iter().position(|n| *n == name) {
            let mut chain: Vec<&str> = stack[pos..].to_vec();
            chain.push(name);
            out.push((
                vec![key("conditions"), key(name)],
                format!("condition `{name}` refers to itself: {}", chain.join(" → ")),
            ));
            return;
        }
        let Some(c) = conditions.get(name) else {
            return;
        };
        stack.push(name);
        for r in c.refs() {
            visit(r, conditions, stack, done, out);
        }
        stack.pop();
        done.insert(name);
    }
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for name in conditions.keys() {
        visit(name, conditions, &mut Vec::new(), &mut done, &mut out);
    }
    out
}

/// A diagnostic at byte `span` of `src` (1-based line, column in characters).
pub(crate) fn diagnostic(
    src: &str,
    path: &Path,
    span: Option<Range<usize>>,
    message: String,
) -> Diagnostic {
    let (line, column) = match span {
        Some(s) => {
            let pos = s.start.min(src.len());
            let before = &src[..floor_char_boundary(src, pos)];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            (Some(line), Some(col))
        }
        None => (None, None),
    };
    Diagnostic {
        file: path.to_path_buf(),
        line,
        column,
        message,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicons {
        let mut l = Lexicons::default();
        l.insert("greetings", &["您好"]);
        l
    }

    fn errors(src: &str) -> Vec<String> {
        parse_card(src, Path::new("x.toml"), &lex())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    const GOOD: &str = r#"
name = "测试卡"

[conditions.greeted]
kind = "keywords"
lexicon = "greetings"
role = "agent"

[[categories]]
name = "服务礼仪"
max = 10

[[categories.items]]
id = "A1"
name = "未问候"
deduct = 5
when = { kind = "not", of = "greeted" }
"#;

    #[test]
    fn a_good_card_loads() {
        let card = parse_card(GOOD, Path::new("x.toml"), &lex()).unwrap();
        assert_eq!(card.name, "测试卡");
        assert_eq!(card.total, 10.0);
        assert_eq!(card.categories[0].items[0].points, 5.0);
        assert_eq!(card.categories[0].items[0].effect, Effect::Deduct);
        assert!(card.conditions.contains_key("greeted"));
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let src = r#"name = "坏卡"
colour = "red"

[conditions.a]
kind = "keywords"
lexicon = "greeting"

[[categories]]
name = "服务礼仪"
max = 10

[[categories.items]]
id = "A1"
name = "语速"
deduct = 2
when = { kind = "speech_rate", above_cpm = 300, for_at_least = 10 }

[[categories.items]]
id = "A2"
name = "工号"
deduct = 2
when = { kind = "regex", pattern = "工号(\\d+" }

[[categories.items]]
id = "A3"
name = "引用"
deduct = 15
when = { kind = "any", of = ["a", "b"] }

[[categories.items]]
id = "A4"
name = "种类"
deduct = 2
when = { kind = "keyword", phrases = ["x"] }
"#;
        let e = errors(src);
        let lines: Vec<&str> = src.lines().collect();
        // Each problem points at the offending key or value.
        let at = |d: &str| -> String {
            let mut p = d.splitn(4, ':');
            let (_, l, c) = (p.next(), p.next().unwrap(), p.next().unwrap());
            let line = lines[l.parse::<usize>().unwrap() - 1];
            line.chars().skip(c.parse::<usize>().unwrap() - 1).collect()
        };
        assert_eq!(e.len(), 7, "{e:#?}");
        assert!(
            e[0].starts_with("x.toml:2:1: unknown field `colour`, expected one of `name`"),
            "{}",
            e[0]
        );
        assert!(
            e[1].starts_with("x.toml:6:11: unknown lexicon `greeting` (known: greetings)"),
            "{}",
            e[1]
        );
        assert_eq!(at(&e[1]), "\"greeting\"");
        assert!(
            e[2].contains("unknown field `for_at_least`, expected one of `role`, `above_cpm`"),
            "{}",
            e[2]
        );
        assert_eq!(at(&e[2]), "for_at_least = 10 }");
        assert!(
            e[3].contains("bad regex `工号(\\d+`: unclosed group"),
            "{}",
            e[3]
        );
        assert_eq!(at(&e[3]), "\"工号(\\\\d+\" }");
        assert!(
            e[4].ends_with("deduct 15 is more than the category maximum 10"),
            "{}",
            e[4]
        );
        assert_eq!(at(&e[4]), "15");
        assert!(
            e[5].ends_with("unknown condition `b` (defined in [conditions]: a)"),
            "{}",
            e[5]
        );
        assert_eq!(at(&e[5]), "[\"a\", \"b\"] }");
        assert!(
            e[6].contains("unknown variant `keyword`, expected one of `keywords`"),
            "{}",
            e[6]
        );
        assert!(at(&e[6]).starts_with("\"keyword\""), "{}", e[6]);
    }

    #[test]
    fn structural_problems() {
        assert_eq!(
            errors("name = \"x\"\n"),
            ["x.toml:1:1: no categories: add [[categories]] tables"]
        );
        assert_eq!(
            errors("name = \"x\"\n[[categories]\n"),
            ["x.toml:2:13: invalid table header\nexpected `.`, `]]`"]
        );
        let e = errors("name = \"x\"\n[[categories]]\nname = \"c\"\nmax = 5\n[[categories.items]]\nid = \"A\"\nname = \"n\"\ndeduct = 1\n");
        assert_eq!(
            e,
            ["x.toml:5:1: item `A` has no `when` condition (or mark it `manual = true`)"]
        );
        let e = errors("name = \"x\"\ntotal = 200\n[[categories]]\nname = \"c\"\nmax = 5\n[[categories.items]]\nid = \"A\"\nname = \"n\"\nmanual = true\ncap = 3\n");
        assert_eq!(
            e,
            [
                "x.toml:2:9: total 200 exceeds the sum of the category maxima 5",
                "x.toml:10:7: cap only applies with `once = false`"
            ]
        );
    }

    #[test]
    fn duplicate_ids_and_cycles() {
        let src = r#"name = "x"
[conditions.a]
kind = "not"
of = "b"
[conditions.b]
kind = "all"
of = ["a"]
[[categories]]
name = "c"
max = 5
[[categories.items]]
id = "A"
name = "n"
deduct = 1
when = { kind = "not", of = "a" }
[[categories.items]]
id = "A"
name = "m"
add = 1
when = { kind = "not", of = "a" }
"#;
        let e = errors(src);
        assert_eq!(
            e,
            [
                "x.toml:2:1: condition `a` refers to itself: a → b → a",
                "x.toml:17:6: duplicate item id `A` (also in category `c`)"
            ]
        );
    }

    #[test]
    fn fatal_can_follow_a_card_setting() {
        let card = |fraud: &str| {
            format!(
                "name = \"x\"\n[settings]\nfraud_fatal = {fraud}\n[[categories]]\nname = \"c\"\nmax = 5\n\
                 [[categories.items]]\nid = \"Z\"\nname = \"诈单\"\ndeduct = 5\nfatal = \"fraud_fatal\"\nmanual = true\n"
            )
        };
        let on = parse_card(&card("true"), Path::new("x.toml"), &lex()).unwrap();
        assert!(on.categories[0].items[0].fatal);
        let off = parse_card(&card("false"), Path::new("x.toml"), &lex()).unwrap();
        assert!(!off.categories[0].items[0].fatal);
        let typo = card("true").replace("fatal = \"fraud_fatal\"", "fatal = \"fraud\"");
        assert_eq!(
            errors(&typo),
            ["x.toml:11:9: unknown setting `fraud` (defined in [settings]: fraud_fatal)"]
        );
        let bad = card("true").replace("fatal = \"fraud_fatal\"", "fatal = 3");
        let e = errors(&bad);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("expected true, false or the name of a setting in [settings]"),
            "{e:?}"
        );
    }
}
