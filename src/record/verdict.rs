//! A scored call as it is stored in the record (`CallRecord::score`): totals, categories,
//! item hits and review lines with their evidence. The types live here, under the record, so
//! that the record never depends on the rules engine that fills them (`rules::score`).

use super::Role;
use serde::{Deserialize, Serialize};

/// What a category starts from before items apply.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// Start at the maximum and deduct (the usual 扣分制).
    #[default]
    Full,
    /// Start at zero and add (a 加分项 category).
    Zero,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Deduct,
    Add,
}

/// Severity of a problem (轻微/一般/严重), for reports and coaching.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    #[serde(rename = "轻微", alias = "minor")]
    Minor,
    #[default]
    #[serde(rename = "一般", alias = "moderate")]
    Moderate,
    #[serde(rename = "严重", alias = "severe")]
    Severe,
}

impl Severity {
    pub fn zh(self) -> &'static str {
        match self {
            Severity::Minor => "轻微",
            Severity::Moderate => "一般",
            Severity::Severe => "严重",
        }
    }
}

/// Where and why a condition fired: an utterance (with the text it matched) or a span of the
/// call (a silence, an interruption), with a short note.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Evidence {
    /// Utterance id, when the evidence is something said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utterance: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    /// The transcript text that matched, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The rule phrase or pattern it matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Evidence {
    /// Evidence for a span of the call that is not an utterance.
    pub fn span(start: f64, end: f64, note: impl Into<String>) -> Evidence {
        Evidence {
            start,
            end,
            note: note.into(),
            ..Evidence::default()
        }
    }
}

/// The scored result of one call, stored in the call record as `score`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ScoreResult {
    /// Name of the card used, and its file.
    pub card: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_file: Option<String>,
    /// Final automatic score (0 when a fatal item hit).
    pub total: f64,
    /// What the call is scored out of.
    pub max_total: f64,
    /// The score before a fatal item zeroed it.
    pub subtotal: f64,
    /// Why the call scores 0, when a fatal item hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    pub categories: Vec<CategoryScore>,
    /// Items whose condition held, in card order.
    pub hits: Vec<ItemHit>,
    /// Items for a human: manual items and items that could not be decided.
    pub review: Vec<ReviewItem>,
    /// Largest deduction the review items could still bring (for triage).
    pub review_points_at_stake: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CategoryScore {
    pub name: String,
    pub max: f64,
    /// What the category starts from (absent in results written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
    pub score: f64,
    /// Sum of the deductions and additions of the category's hits (before the floor and cap).
    pub deducted: f64,
    pub added: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ItemHit {
    pub id: String,
    pub name: String,
    pub category: String,
    pub severity: Severity,
    pub effect: Effect,
    /// Points this item deducts or adds (per-occurrence items: occurrences × points, capped).
    pub points: f64,
    pub occurrences: usize,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fatal: bool,
    /// Graded group (levels of one problem): of the applied hits of a group, only the largest
    /// counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Graded item outranked by a larger hit of the same group: listed, not applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub superseded: bool,
    pub evidence: Vec<Evidence>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// A manual item: no machine can judge it.
    Manual,
    /// The condition could not be decided on this call.
    Undecided,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReviewItem {
    pub id: String,
    pub name: String,
    pub category: String,
    pub severity: Severity,
    pub effect: Effect,
    pub points: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fatal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub reason: ReviewReason,
    /// What a reviewer should know: "needs review", or why it could not be decided.
    pub note: String,
    pub evidence: Vec<Evidence>,
}

/// Where a line's evidence starts (seconds), for "jump to" links.
pub fn first_at(ev: &[Evidence]) -> Option<f64> {
    ev.iter().map(|e| e.start).min_by(|a, b| a.total_cmp(b))
}
