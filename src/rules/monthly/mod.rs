//! Monthly per-agent rules: what seed 003 decides over an agent's month, not over one call.
//!
//! 003 monitors 15 calls per agent per month and turns them into bonus and deduction points:
//! an item earns its bonus only when ≥ 12 of 15 records are compliant (or "N 条以上"), the
//! first three problems of a month are coaching and the fourth deducts, five failures cancel
//! the item's bonus, a single aspect with every record compliant earns an extra 0.5 or 1, and
//! praise and justified complaints entered by a lead add or deduct (−5/−10). None of that is a
//! property of one call, so it lives in its own file (`rules/monthly/*.toml`), read against the
//! per-call results of one card: each monthly item names a category of that card, and a call is
//! 不合格 on the item when a deduction line of that category applies to it after review.
//!
//! The file is validated like the cards (every problem, `file:line:column: message`);
//! [`eval::evaluate`] computes one agent's month from plain inputs, so the store and the report
//! stay above this module.

pub mod eval;
mod load;

pub use eval::{evaluate, MonthCall, MonthItemResult, MonthlyResult};
pub use load::{check_monthly_dir, count_monthly_files, load_monthly_dir};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The folder under a rules directory that holds the monthly rules files.
pub const MONTHLY_DIR: &str = "monthly";

/// One monthly rules file: the month's bonus and deduction rules for the calls of one card.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyRules {
    pub name: String,
    pub description: String,
    pub path: Option<PathBuf>,
    /// The per-call card whose calls the month is made of (its `name`).
    pub card: String,
    /// Monitored calls per agent per month (003: 15). The first this many calls of the month
    /// (by date, then call id) count; fewer is reported as a shortfall.
    pub calls_per_month: usize,
    pub items: Vec<MonthlyItem>,
    /// 单项满分奖励: aspects whose categories are compliant on every monitored call.
    pub full_marks: Vec<FullMarks>,
    /// Points of the single-aspect full-marks bonus (003: 0.5 or 1, the site chooses).
    pub full_marks_bonus: f64,
    /// Entries a lead records by hand (praise, justified complaints, test-call results), by kind.
    pub ledger: BTreeMap<String, LedgerKind>,
}

/// A compliant-record count a bonus needs.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    /// At least this many compliant records (「至少 12 条」).
    pub compliant_at_least: Option<usize>,
    /// More than this many compliant records (「3 条以上」, read as more than 3).
    pub compliant_more_than: Option<usize>,
}

impl Needs {
    pub fn met(&self, compliant: usize) -> bool {
        self.compliant_at_least.is_none_or(|n| compliant >= n)
            && self.compliant_more_than.is_none_or(|n| compliant > n)
    }
}

/// One item of the month (one category of the per-call card).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyItem {
    /// The per-call card's category.
    pub category: String,
    /// Bonus points of the month.
    pub bonus: f64,
    /// `None`: 「每条抽查记录均可加分」, the bonus is earned pro rata, bonus × compliant /
    /// monitored. `Some`: earned whole when the count is met, else nothing.
    pub bonus_needs: Option<Needs>,
    /// 不予加分 / 取消加分: more than this many failed records cancel this item's bonus.
    pub no_bonus_when_failed_more_than: Option<usize>,
    /// 全部不予加分: more than this many failed records cancel every bonus of the month
    /// (items and full marks; the ledger is outside the monitoring and stays).
    pub no_bonus_at_all_when_failed_more_than: Option<usize>,
    /// Points of one deduction.
    pub deduct: f64,
    /// 指导 N 次，第 N+1 次扣分: the first N failed records of the month are coaching, each
    /// further one deducts `deduct`. 0: every failure deducts (当次即扣分).
    pub coached: Option<usize>,
    /// 「N 次以上不合格……给予相应扣分」: deduct `deduct` once when more than N records failed.
    pub deduct_once_when_failed_more_than: Option<usize>,
    /// Per-call item ids that deduct at once, outside the coaching count (重大服务态度问题).
    pub immediate: Vec<String>,
}

/// 单项满分奖励: one aspect (服务用语, 服务态度, 业务技能, 服务技巧) and its categories.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FullMarks {
    pub name: String,
    pub categories: Vec<String>,
}

/// A kind of ledger entry and its points (negative deducts).
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LedgerKind {
    pub name: String,
    pub points: f64,
}

/// One entry of the lead's ledger for an agent and a month.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub id: i64,
    pub agent_id: String,
    /// YYYY-MM.
    pub month: String,
    pub kind: String,
    pub note: String,
    pub entered_by: String,
    pub created_at: String,
}
