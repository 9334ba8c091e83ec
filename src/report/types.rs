//! Problem types (服务态度 / 业务知识 / 沟通技巧 / 系统操作) for the per-agent report.
//!
//! Scorecards are written per site and per queue, and their category names differ (热情耐心,
//! 业务介绍, 专业技巧 …), so the mapping from a scorecard line to a problem type is data: a small
//! TOML table (`problem_types.toml`, built in and replaceable with `--types FILE`) that matches
//! item ids, category names or words in the category name, first match wins.

use serde::Deserialize;
use std::path::Path;

/// The built-in table.
pub const DEFAULT_TABLE: &str = include_str!("problem_types.toml");

/// The type of a line that no rule matches.
pub const OTHER: &str = "其他";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TypeRule {
    name: String,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TableFile {
    types: Vec<TypeRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProblemTypes {
    rules: Vec<TypeRule>,
}

impl Default for ProblemTypes {
    fn default() -> Self {
        ProblemTypes::parse(DEFAULT_TABLE).expect("built-in problem type table parses")
    }
}

impl ProblemTypes {
    pub fn parse(text: &str) -> Result<ProblemTypes, toml::de::Error> {
        let f: TableFile = toml::from_str(text)?;
        Ok(ProblemTypes { rules: f.types })
    }

    pub fn load(path: &Path) -> anyhow::Result<ProblemTypes> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading problem types {}", path.display()))?;
        ProblemTypes::parse(&text)
            .with_context(|| format!("parsing problem types {}", path.display()))
    }

    /// The types in table order, then 其他.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for r in &self.rules {
            if !v.contains(&r.name) {
                v.push(r.name.clone());
            }
        }
        v.push(OTHER.into());
        v
    }

    /// The type of item `item_id` of category `category` on the card named `card`.
    pub fn classify(&self, card: &str, item_id: &str, category: &str) -> &str {
        let item_matches = |i: &String| match i.split_once('/') {
            Some((c, id)) => c == card && id == item_id,
            None => i == item_id,
        };
        if let Some(r) = self.rules.iter().find(|r| r.items.iter().any(item_matches)) {
            return &r.name;
        }
        if let Some(r) = self
            .rules
            .iter()
            .find(|r| r.categories.iter().any(|c| c == category))
        {
            return &r.name;
        }
        if let Some(r) = self
            .rules
            .iter()
            .find(|r| r.keywords.iter().any(|k| category.contains(k.as_str())))
        {
            return &r.name;
        }
        OTHER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_categories_map_to_the_four_types() {
        let t = ProblemTypes::default();
        assert_eq!(
            t.names(),
            ["系统操作", "服务态度", "业务知识", "沟通技巧", "其他"]
        );
        // Inbound card.
        for (cat, ty) in [
            ("语音语调", "沟通技巧"),
            ("服务礼仪", "服务态度"),
            ("热情耐心", "服务态度"),
            ("积极主动", "服务态度"),
            ("准确理解", "沟通技巧"),
            ("有效引导", "沟通技巧"),
            ("业务介绍", "业务知识"),
            ("流程执行", "业务知识"),
            ("回复客户", "业务知识"),
            // Outbound and insurance cards.
            ("业务能力", "业务知识"),
            ("服务态度", "服务态度"),
            ("专业技巧", "沟通技巧"),
            ("服务规范", "服务态度"),
            ("服务技能", "业务知识"),
            ("系统录入", "系统操作"),
            ("总体评价", "其他"),
        ] {
            assert_eq!(t.classify("卡", "X", cat), ty, "{cat}");
        }
    }

    #[test]
    fn item_rules_win_and_bad_tables_are_rejected() {
        let t = ProblemTypes::parse(
            "[[types]]\nname = \"系统操作\"\nitems = [\"LC01\", \"卡/LC02\"]\n[[types]]\nname = \"业务知识\"\ncategories = [\"流程执行\"]\n",
        )
        .unwrap();
        assert_eq!(t.classify("卡", "LC01", "流程执行"), "系统操作");
        assert_eq!(t.classify("卡", "LC02", "流程执行"), "系统操作");
        assert_eq!(t.classify("别的卡", "LC02", "流程执行"), "业务知识");
        let e = ProblemTypes::parse("[[types]]\nname = \"x\"\nkeyword = [\"a\"]\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `keyword`"), "{e}");
    }
}
