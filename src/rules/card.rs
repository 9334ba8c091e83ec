//! The scorecard as loaded: categories with a maximum, items that deduct or add points when
//! their condition holds.

use super::checks::Condition;
pub use crate::record::verdict::{Base, Effect, Severity};
use crate::record::{CallMeta, Direction};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A loaded, validated scorecard.
#[derive(Debug, Clone)]
pub struct Scorecard {
    pub name: String,
    pub description: String,
    /// The file it came from.
    pub path: Option<PathBuf>,
    /// Points the call is scored out of (default: the sum of the full-base categories' maxima).
    pub total: f64,
    /// The card used when no other card's `[match]` fits the call.
    pub default: bool,
    /// Which calls this card is for (`[match]`).
    pub select: MatchRule,
    /// How much of this card's calls humans must review, and how fast (`[sampling]`).
    pub sampling: Option<Sampling>,
    /// Named conditions (`[conditions.NAME]`), referred to by `all`/`any`/`not`.
    pub conditions: BTreeMap<String, Condition>,
    pub categories: Vec<Category>,
}

/// `[match]`: which calls a card is for. Empty means "no preference".
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MatchRule {
    /// Queue names; `*` is a wildcard.
    pub queues: Vec<String>,
    pub direction: Option<Direction>,
}

impl MatchRule {
    /// How well the card fits a call: `None` when it does not; otherwise higher is more
    /// specific (a queue match counts more than a direction match).
    pub fn fit(&self, meta: Option<&CallMeta>) -> Option<u32> {
        if self.queues.is_empty() && self.direction.is_none() {
            return None;
        }
        let meta = meta?;
        let mut fit = 0;
        if !self.queues.is_empty() {
            let q = meta.queue.as_deref()?;
            if !self
                .queues
                .iter()
                .any(|p| super::checks::metadata::glob(p, q))
            {
                return None;
            }
            fit += 2;
        }
        if let Some(d) = self.direction {
            if meta.direction != Some(d) {
                return None;
            }
            fit += 1;
        }
        Some(fit)
    }
}

/// `[sampling]`: the share of a card's calls a human must review, and how soon (seed 004 第四章
/// 质检频度要求: 呼入类不低于 10%、呼出类不低于 5%、特殊调听不少于 10%、服务发生后两天内完成).
/// Reports show per queue whether it was met.
#[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Sampling {
    /// Percent of inbound calls to review.
    pub inbound_pct: Option<f64>,
    /// Percent of outbound calls to review.
    pub outbound_pct: Option<f64>,
    /// Percent of special calls (特殊调听) to review: repeat callers, and calls with a review
    /// line of one of `special_items` (complaints, very long calls).
    pub special_pct: Option<f64>,
    pub special_items: Vec<String>,
    /// A review counts towards the quota when it is recorded within this many days of the call.
    pub within_days: Option<u32>,
}

/// A category (e.g. 服务礼仪, 10 points).
#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub description: String,
    pub max: f64,
    pub base: Base,
    pub items: Vec<Item>,
}

/// One scorecard line.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub name: String,
    pub description: String,
    pub effect: Effect,
    /// Points per occurrence (or once); 0 for a fatal item without points.
    pub points: f64,
    pub severity: Severity,
    /// A hit zeroes the whole call (致命错误).
    pub fatal: bool,
    /// Apply once per call (true) or per occurrence up to `cap`.
    pub once: bool,
    pub cap: Option<f64>,
    /// No machine can judge it: always sent to review, never scored automatically. A `when`
    /// on a manual item only decides whether the call needs that review.
    pub manual: bool,
    /// Graded levels: of the items of one group that hit, only the largest applies.
    pub group: Option<String>,
    pub when: Option<Condition>,
}

impl Scorecard {
    /// Load one card; lexicons come from `lexicons/` next to it.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Scorecard, super::RulesError> {
        super::load::load_card(path.as_ref())
    }

    /// All items with their category, in card order.
    pub fn items(&self) -> impl Iterator<Item = (&Category, &Item)> {
        self.categories
            .iter()
            .flat_map(|c| c.items.iter().map(move |i| (c, i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_rule_fit() {
        let meta = CallMeta {
            queue: Some("信用卡中心".into()),
            direction: Some(Direction::Inbound),
            ..CallMeta::default()
        };
        let r = |q: &[&str], d: Option<Direction>| MatchRule {
            queues: q.iter().map(|s| s.to_string()).collect(),
            direction: d,
        };
        assert_eq!(r(&[], None).fit(Some(&meta)), None);
        assert_eq!(r(&["信用卡*"], None).fit(Some(&meta)), Some(2));
        assert_eq!(
            r(&["信用卡*"], Some(Direction::Inbound)).fit(Some(&meta)),
            Some(3)
        );
        assert_eq!(r(&[], Some(Direction::Inbound)).fit(Some(&meta)), Some(1));
        assert_eq!(r(&[], Some(Direction::Outbound)).fit(Some(&meta)), None);
        assert_eq!(r(&["保险*"], None).fit(Some(&meta)), None);
        assert_eq!(r(&["信用卡*"], None).fit(None), None);
    }

    #[test]
    fn severity_names() {
        #[derive(Deserialize)]
        struct S {
            s: Severity,
        }
        let p = |t: &str| toml::from_str::<S>(t).unwrap().s;
        assert_eq!(p("s = \"严重\""), Severity::Severe);
        assert_eq!(p("s = \"minor\""), Severity::Minor);
        assert_eq!(
            serde_json::to_string(&Severity::Moderate).unwrap(),
            "\"一般\""
        );
    }
}
