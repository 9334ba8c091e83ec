//! Review and appeal (复核、申诉、终审), and the final score that combines them.
//!
//! An inspector confirms or rejects each automatic flag and scores the manual items; an agent
//! may appeal a flag or the whole call; the QA lead decides the appeal. Every input is kept
//! (an audit trail); for each flag the latest input counts, and a decided appeal outranks the
//! inspector. The automatic score is never changed: [`FinalResult`] carries both, so reports
//! can show automatic and human scores apart.
//!
//! Final score of a call:
//! - an automatic hit applies unless its effective verdict is *rejected* (or an appeal against
//!   it was accepted); of a graded group only the largest level that still applies counts, so
//!   rejecting the larger level lets the smaller one count;
//! - a review item (manual or undecided) applies only when a human scored it: a manual score
//!   gives its points (0 = fine), a *confirmed* verdict gives the item's points;
//! - the lines that apply are scored by the rules engine itself ([`crate::rules::settle`]):
//!   category base, floor and cap (扣完为止), the card's maximum, fatal items;
//! - an accepted appeal against the whole call sets the score the lead gave.

use super::db::{args, ToValue};
use super::{Result, Store, StoreError};
use crate::time::{now_rfc3339, Date};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The flag is right (确认).
    Confirmed,
    /// The flag is wrong (驳回): the points are restored.
    Rejected,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Rejected => "rejected",
        }
    }
    fn parse(s: &str) -> Verdict {
        if s == "rejected" {
            Verdict::Rejected
        } else {
            Verdict::Confirmed
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Verdict::Confirmed => "确认",
            Verdict::Rejected => "驳回",
        }
    }
}

/// The lead's final decision on an appeal (终审).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// 申诉成立: the agent is right; the flag is dropped (or the call gets the given score).
    Accept,
    /// 申诉驳回: the original judgement stands.
    Reject,
}

/// One scorecard line of a call with everything humans said about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalItem {
    pub item_id: String,
    pub name: String,
    pub category: String,
    /// `hit` (automatic flag) or `review` (manual or undecided item).
    pub kind: String,
    pub severity: String,
    pub effect: String,
    /// Points of the automatic result (for review items: the item's points).
    pub auto_points: f64,
    pub fatal: bool,
    pub superseded: bool,
    /// Counted in the automatic score.
    pub auto_applied: bool,
    /// The latest inspector verdict.
    pub verdict: Option<Verdict>,
    pub verdict_by: Option<String>,
    pub verdict_comment: Option<String>,
    /// The latest manual score.
    pub manual_points: Option<f64>,
    /// The latest appeal against this item: id and status (open / accepted / rejected).
    pub appeal: Option<(i64, String)>,
    /// Counted in the final score, with these points.
    pub applied: bool,
    pub applied_points: f64,
    /// Why, in words (自动 / 已确认 / 已驳回 / 申诉成立 / 人工评分 / 待人工复核 …).
    pub status: String,
    pub first_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalCategory {
    pub name: String,
    pub max: f64,
    pub auto_score: f64,
    pub final_score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalResult {
    pub call_id: String,
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    pub call_date: Option<String>,
    pub card: String,
    pub max_score: f64,
    pub auto_score: f64,
    pub auto_fatal: Option<String>,
    pub final_score: f64,
    /// Names of the fatal items that apply after review.
    pub fatal: Vec<String>,
    /// Any human input on this call.
    pub reviewed: bool,
    /// Score set by an accepted appeal against the whole call.
    pub appeal_score: Option<f64>,
    pub categories: Vec<FinalCategory>,
    pub items: Vec<FinalItem>,
}

impl FinalResult {
    pub fn final_pct(&self) -> f64 {
        if self.max_score > 0.0 {
            self.final_score / self.max_score * 100.0
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Appeal {
    pub id: i64,
    pub call_id: String,
    pub item_id: Option<String>,
    pub agent_id: Option<String>,
    pub reason: String,
    pub created_at: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decision_comment: Option<String>,
    pub final_score: Option<f64>,
}

/// How often a rule's flags hold up under review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulePrecision {
    pub card: String,
    pub item_id: String,
    pub name: String,
    /// Calls the rule flagged.
    pub flagged: usize,
    /// Flags a human judged.
    pub reviewed: usize,
    pub confirmed: usize,
    pub rejected: usize,
    /// confirmed / reviewed (None before any review).
    pub precision: Option<f64>,
}

struct CallRow {
    call_id: String,
    agent_id: Option<String>,
    queue: Option<String>,
    call_date: Option<String>,
    card: String,
    max_score: f64,
    auto_score: f64,
    auto_fatal: Option<String>,
    score: Option<crate::rules::ScoreResult>,
}

impl Store {
    fn item_exists(&self, call_id: &str, item_id: &str) -> Result<Option<(String, f64, f64)>> {
        // (kind, points, category max)
        self.db
            .row(
                "SELECT h.kind, h.points, COALESCE(s.max, 0) FROM item_hits h
                 LEFT JOIN scores s ON s.call_id = h.call_id AND s.category = h.category
                 WHERE h.call_id = ?1 AND h.item_id = ?2
                 ORDER BY h.kind = 'hit' DESC LIMIT 1",
                args![call_id, item_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| self.err(e))
    }

    pub(crate) fn require_call(&self, call_id: &str) -> Result<()> {
        if self.has_call(call_id)? {
            Ok(())
        } else {
            Err(StoreError::NoCall(call_id.into()))
        }
    }

    /// Record an inspector's verdict on a flag or review item. Returns the verdict's id.
    pub fn record_verdict(
        &mut self,
        call_id: &str,
        item_id: &str,
        verdict: Verdict,
        comment: &str,
        inspector: &str,
    ) -> Result<i64> {
        self.require_call(call_id)?;
        if self.item_exists(call_id, item_id)?.is_none() {
            return Err(StoreError::NoItem {
                call: call_id.into(),
                item: item_id.into(),
            });
        }
        self.db
            .value(
                "INSERT INTO verdicts (call_id, item_id, verdict, comment, inspector, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                args![
                    call_id,
                    item_id,
                    verdict.as_str(),
                    comment,
                    inspector,
                    now_rfc3339()
                ],
            )
            .map_err(|e| self.err(e))
    }

    /// Record the points a manual (or undecided) item deducts or adds on this call; 0 means
    /// the item is fine. At most the category's maximum.
    pub fn record_manual_score(
        &mut self,
        call_id: &str,
        item_id: &str,
        points: f64,
        comment: &str,
        inspector: &str,
    ) -> Result<i64> {
        self.require_call(call_id)?;
        let Some((kind, _, cat_max)) = self.item_exists(call_id, item_id)? else {
            return Err(StoreError::NoItem {
                call: call_id.into(),
                item: item_id.into(),
            });
        };
        if kind != "review" {
            return Err(StoreError::Invalid(format!(
                "`{item_id}` on call `{call_id}` is an automatic flag: confirm or reject it with \
                 `zhijian review verdict` instead of scoring it"
            )));
        }
        if !(points.is_finite() && points >= 0.0 && (cat_max <= 0.0 || points <= cat_max)) {
            return Err(StoreError::Invalid(format!(
                "points for `{item_id}` must be between 0 and the category maximum {cat_max}, got {points}"
            )));
        }
        self.db
            .value(
                "INSERT INTO manual_scores (call_id, item_id, points, comment, inspector, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                args![call_id, item_id, points, comment, inspector, now_rfc3339()],
            )
            .map_err(|e| self.err(e))
    }

    /// An agent appeals (申诉) a flag, or the whole call when `item_id` is None.
    pub fn file_appeal(
        &mut self,
        call_id: &str,
        item_id: Option<&str>,
        agent_id: Option<&str>,
        reason: &str,
    ) -> Result<i64> {
        self.require_call(call_id)?;
        if let Some(i) = item_id {
            if self.item_exists(call_id, i)?.is_none() {
                return Err(StoreError::NoItem {
                    call: call_id.into(),
                    item: i.into(),
                });
            }
        }
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid("an appeal needs a reason".into()));
        }
        let agent: Option<String> = match agent_id {
            Some(a) => Some(a.to_string()),
            None => self
                .db
                .one(
                    "SELECT agent_id FROM calls WHERE call_id = ?1",
                    args![call_id],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?,
        };
        self.db
            .value(
                "INSERT INTO appeals (call_id, item_id, agent_id, reason, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                args![call_id, item_id, agent, reason, now_rfc3339()],
            )
            .map_err(|e| self.err(e))
    }

    /// The lead's final decision (终审) on an appeal. Accepting an appeal against the whole
    /// call needs the score the call gets (`final_score`).
    pub fn decide_appeal(
        &mut self,
        appeal_id: i64,
        decision: Decision,
        final_score: Option<f64>,
        decided_by: &str,
        comment: &str,
    ) -> Result<()> {
        let row: Option<(String, Option<String>, String)> = self
            .db
            .row(
                "SELECT call_id, item_id, status FROM appeals WHERE id = ?1",
                args![appeal_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| self.err(e))?;
        let Some((call_id, item_id, status)) = row else {
            return Err(StoreError::NoAppeal(appeal_id));
        };
        if status != "open" {
            return Err(StoreError::AlreadyDecided(appeal_id, status));
        }
        let score = match (decision, &item_id, final_score) {
            (Decision::Accept, None, None) => {
                return Err(StoreError::Invalid(format!(
                    "appeal #{appeal_id} is against the whole call {call_id}: accepting it needs --score"
                )))
            }
            (Decision::Accept, None, Some(s)) => {
                let max: Option<f64> = self
                    .db
                    .one("SELECT max_score FROM calls WHERE call_id = ?1", args![call_id], |r| {
                        r.get(0)
                    })
                    .map_err(|e| self.err(e))?;
                if !(s.is_finite() && s >= 0.0 && max.is_none_or(|m| s <= m)) {
                    return Err(StoreError::Invalid(format!(
                        "score {s} is outside 0..={}",
                        max.unwrap_or(f64::INFINITY)
                    )));
                }
                Some(s)
            }
            (_, Some(_), Some(_)) | (Decision::Reject, None, Some(_)) => {
                return Err(StoreError::Invalid(
                    "--score applies only when accepting an appeal against the whole call".into(),
                ))
            }
            _ => None,
        };
        let status = match decision {
            Decision::Accept => "accepted",
            Decision::Reject => "rejected",
        };
        self.db
            .execute(
                "UPDATE appeals SET status = ?1, decided_by = ?2, decision_comment = ?3,
                    decided_at = ?4, final_score = ?5 WHERE id = ?6",
                args![status, decided_by, comment, now_rfc3339(), score, appeal_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Appeals, oldest first.
    pub fn appeals(&self, open_only: bool) -> Result<Vec<Appeal>> {
        let sql = format!(
            "SELECT id, call_id, item_id, agent_id, reason, created_at, status, decided_by,
                    decision_comment, final_score FROM appeals {} ORDER BY id",
            if open_only {
                "WHERE status = 'open'"
            } else {
                ""
            }
        );
        let rows = self
            .db
            .rows(&sql, args![], |r| {
                Ok(Appeal {
                    id: r.get(0)?,
                    call_id: r.get(1)?,
                    item_id: r.get(2)?,
                    agent_id: r.get(3)?,
                    reason: r.get(4)?,
                    created_at: r.get(5)?,
                    status: r.get(6)?,
                    decided_by: r.get(7)?,
                    decision_comment: r.get(8)?,
                    final_score: r.get(9)?,
                })
            })
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The final result of one scored call.
    pub fn final_result(&self, call_id: &str) -> Result<FinalResult> {
        self.require_call(call_id)?;
        self.final_results("c.call_id = ?1", args![call_id])?
            .pop()
            .ok_or_else(|| StoreError::Invalid(format!("call `{call_id}` has no score")))
    }

    /// Final results of the scored calls dated `from..=to` (the local date of the call).
    pub fn final_results_between(&self, from: Date, to: Date) -> Result<Vec<FinalResult>> {
        let (f, t) = (from.to_string(), to.to_string());
        self.final_results("c.call_date BETWEEN ?1 AND ?2", args![f, t])
    }

    /// Final results of the scored, successfully inspected calls matching `filter` (SQL over
    /// `calls c`), loaded in a few bulk queries.
    fn final_results(&self, filter: &str, args: &[&dyn ToValue]) -> Result<Vec<FinalResult>> {
        let e = |x| self.err(x);
        let calls_sql = format!(
            "SELECT c.call_id, c.agent_id, c.queue, c.call_date, c.card, c.max_score, c.auto_score, c.fatal,
                    c.score_json
             FROM calls c WHERE c.status = 'ok' AND c.auto_score IS NOT NULL AND ({filter})
             ORDER BY c.call_id"
        );
        let calls: Vec<CallRow> = self
            .db
            .rows(&calls_sql, args, |r| {
                Ok(CallRow {
                    call_id: r.get(0)?,
                    agent_id: r.get(1)?,
                    queue: r.get(2)?,
                    call_date: r.get(3)?,
                    card: r.get::<Option<String>>(4)?.unwrap_or_default(),
                    max_score: r.get::<Option<f64>>(5)?.unwrap_or(0.0),
                    auto_score: r.get(6)?,
                    auto_fatal: r.get(7)?,
                    score: r
                        .get::<Option<String>>(8)?
                        .and_then(|j| serde_json::from_str(&j).ok()),
                })
            })
            .map_err(e)?;
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let sub = format!("SELECT c.call_id FROM calls c WHERE ({filter})");
        // Human input: ordered by id so that the latest wins when folded.
        type Key = (String, String);
        let mut verdicts: HashMap<Key, (Verdict, String, String)> = HashMap::new();
        let rows = self
            .db
            .rows(
                &format!(
                    "SELECT call_id, item_id, verdict, inspector, comment FROM verdicts
                 WHERE call_id IN ({sub}) ORDER BY id"
                ),
                args,
                |r| {
                    Ok((
                        (r.get::<String>(0)?, r.get::<String>(1)?),
                        (
                            Verdict::parse(&r.get::<String>(2)?),
                            r.get::<String>(3)?,
                            r.get::<String>(4)?,
                        ),
                    ))
                },
            )
            .map_err(e)?;
        verdicts.extend(rows);
        let mut manual: HashMap<Key, f64> = HashMap::new();
        let rows = self
            .db
            .rows(
                &format!(
                    "SELECT call_id, item_id, points FROM manual_scores
                 WHERE call_id IN ({sub}) ORDER BY id"
                ),
                args,
                |r| Ok(((r.get::<String>(0)?, r.get::<String>(1)?), r.get::<f64>(2)?)),
            )
            .map_err(e)?;
        manual.extend(rows);
        let mut item_appeals: HashMap<Key, (i64, String)> = HashMap::new();
        let mut call_appeals: HashMap<String, (i64, String, Option<f64>)> = HashMap::new();
        let rows = self
            .db
            .rows(
                &format!(
                    "SELECT id, call_id, item_id, status, final_score FROM appeals
                 WHERE call_id IN ({sub}) ORDER BY id"
                ),
                args,
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<String>(1)?,
                        r.get::<Option<String>>(2)?,
                        r.get::<String>(3)?,
                        r.get::<Option<f64>>(4)?,
                    ))
                },
            )
            .map_err(e)?;
        for (id, call, item, status, score) in rows {
            match item {
                Some(i) => {
                    item_appeals.insert((call, i), (id, status));
                }
                None => {
                    call_appeals.insert(call, (id, status, score));
                }
            }
        }

        let mut out = Vec::with_capacity(calls.len());
        for c in calls {
            // A call stored without its scored result (a hand-edited database) has nothing to
            // score: it is left out rather than given an invented score.
            let Some(score) = &c.score else { continue };
            let mut its = final_items(score);
            let mut reviewed = false;
            for (i, it) in its.iter_mut().enumerate() {
                let graded = score.hits.get(i).is_some_and(|h| h.group.is_some());
                let key = (c.call_id.clone(), it.item_id.clone());
                if let Some((v, by, comment)) = verdicts.get(&key) {
                    it.verdict = Some(*v);
                    it.verdict_by = Some(by.clone());
                    it.verdict_comment = Some(comment.clone());
                    reviewed = true;
                }
                it.manual_points = manual.get(&key).copied();
                reviewed |= it.manual_points.is_some();
                it.appeal = item_appeals.get(&key).cloned();
                decide_item(it, graded);
                reviewed |= it.appeal.as_ref().is_some_and(|a| a.1 != "open");
            }
            let call_appeal = call_appeals.get(&c.call_id);
            let appeal_score = call_appeal.filter(|a| a.1 == "accepted").and_then(|a| a.2);
            reviewed |= call_appeal.is_some_and(|a| a.1 != "open");
            let settled = settle_items(score, &mut its);
            let categories = score
                .categories
                .iter()
                .zip(&settled.categories)
                .map(|(cat, s)| FinalCategory {
                    name: cat.name.clone(),
                    max: cat.max,
                    auto_score: cat.score,
                    final_score: s.0,
                })
                .collect();
            out.push(FinalResult {
                call_id: c.call_id,
                agent_id: c.agent_id,
                queue: c.queue,
                call_date: c.call_date,
                card: c.card,
                max_score: c.max_score,
                auto_score: c.auto_score,
                auto_fatal: c.auto_fatal,
                final_score: appeal_score.unwrap_or(settled.total),
                fatal: if appeal_score.is_some() {
                    Vec::new()
                } else {
                    settled.fatal
                },
                reviewed,
                appeal_score,
                categories,
                items: its,
            });
        }
        Ok(out)
    }

    /// Precision of each rule's automatic flags under human review, for calls dated
    /// `from..=to` (all calls when None).
    pub fn rule_precision(
        &self,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<RulePrecision>> {
        let f = from.map_or_else(|| "0000-00-00".to_string(), |d| d.to_string());
        let t = to.map_or_else(|| "9999-99-99".to_string(), |d| d.to_string());
        let results = self.final_results(
            "COALESCE(c.call_date, '') BETWEEN ?1 AND ?2 OR (?1 = '0000-00-00' AND c.call_date IS NULL)",
            args![f, t],
        )?;
        let mut by: std::collections::BTreeMap<(String, String), RulePrecision> =
            Default::default();
        for r in &results {
            for i in r
                .items
                .iter()
                .filter(|i| i.kind == "hit" && !i.superseded && i.effect == "deduct")
            {
                let e = by
                    .entry((r.card.clone(), i.item_id.clone()))
                    .or_insert_with(|| RulePrecision {
                        card: r.card.clone(),
                        item_id: i.item_id.clone(),
                        name: i.name.clone(),
                        flagged: 0,
                        reviewed: 0,
                        confirmed: 0,
                        rejected: 0,
                        precision: None,
                    });
                e.flagged += 1;
                match effective_judgement(i) {
                    Some(Verdict::Confirmed) => {
                        e.reviewed += 1;
                        e.confirmed += 1;
                    }
                    Some(Verdict::Rejected) => {
                        e.reviewed += 1;
                        e.rejected += 1;
                    }
                    None => {}
                }
            }
        }
        let mut v: Vec<RulePrecision> = by.into_values().collect();
        for p in &mut v {
            p.precision = (p.reviewed > 0).then(|| p.confirmed as f64 / p.reviewed as f64);
        }
        // Worst rules first: they are the ones to tune.
        v.sort_by(|a, b| {
            a.precision
                .unwrap_or(2.0)
                .total_cmp(&b.precision.unwrap_or(2.0))
                .then(b.flagged.cmp(&a.flagged))
                .then(a.item_id.cmp(&b.item_id))
        });
        Ok(v)
    }
}

/// The human judgement that counts for a flag: a decided appeal outranks the inspector.
fn effective_judgement(i: &FinalItem) -> Option<Verdict> {
    match i.appeal.as_ref().map(|a| a.1.as_str()) {
        Some("accepted") => Some(Verdict::Rejected),
        Some("rejected") => Some(i.verdict.unwrap_or(Verdict::Confirmed)),
        _ => i.verdict,
    }
}

/// Whether an item counts in the final score, with what points, and why.
/// `graded`: the hit belongs to a graded group, so whether a larger level outranks it is
/// decided after review (by the rules engine), not taken from the automatic result.
fn decide_item(it: &mut FinalItem, graded: bool) {
    let appeal = it.appeal.as_ref().map(|a| a.1.clone());
    if appeal.as_deref() == Some("accepted") {
        it.applied = false;
        it.applied_points = 0.0;
        it.status = "申诉成立，不扣分".into();
        return;
    }
    let suffix = if appeal.as_deref() == Some("rejected") {
        "（申诉驳回）"
    } else if appeal.as_deref() == Some("open") {
        "（申诉中）"
    } else {
        ""
    };
    if it.kind == "hit" {
        if it.superseded && !graded {
            // Stored before graded groups were recorded: the level cannot be re-ranked.
            it.applied = false;
            it.status = "被同组更高等级覆盖".into();
        } else {
            match it.verdict {
                Some(Verdict::Rejected) => {
                    it.applied = false;
                    it.status = format!("复核驳回{suffix}");
                }
                Some(Verdict::Confirmed) => {
                    it.applied = true;
                    it.applied_points = it.auto_points;
                    it.status = format!("复核确认{suffix}");
                }
                None => {
                    it.applied = true;
                    it.applied_points = it.auto_points;
                    it.status = format!("自动判定{suffix}");
                }
            }
        }
        return;
    }
    // A review item counts only when a human scored it; the latest manual score wins over a
    // verdict given before it only by being more specific, so prefer it when both exist.
    match (it.manual_points, it.verdict) {
        (Some(p), _) => {
            it.applied = p > 0.0;
            it.applied_points = p;
            it.status = if p > 0.0 {
                format!("人工评分 {}{suffix}", crate::figures::num(p, 2))
            } else {
                format!("人工评分：无问题{suffix}")
            };
        }
        (None, Some(Verdict::Confirmed)) => {
            it.applied = true;
            it.applied_points = it.auto_points;
            it.status = format!("人工确认{suffix}");
        }
        (None, Some(Verdict::Rejected)) => {
            it.applied = false;
            it.status = format!("人工确认无问题{suffix}");
        }
        (None, None) => {
            it.applied = false;
            it.status = "待人工复核".into();
        }
    }
}

/// The lines of the automatic result, before human input.
fn final_items(score: &crate::rules::ScoreResult) -> Vec<FinalItem> {
    let effect = |e: crate::rules::Effect| match e {
        crate::rules::Effect::Deduct => "deduct",
        crate::rules::Effect::Add => "add",
    };
    let blank = FinalItem {
        item_id: String::new(),
        name: String::new(),
        category: String::new(),
        kind: String::new(),
        severity: String::new(),
        effect: String::new(),
        auto_points: 0.0,
        fatal: false,
        superseded: false,
        auto_applied: false,
        verdict: None,
        verdict_by: None,
        verdict_comment: None,
        manual_points: None,
        appeal: None,
        applied: false,
        applied_points: 0.0,
        status: String::new(),
        first_at: None,
    };
    let hits = score.hits.iter().map(|h| FinalItem {
        item_id: h.id.clone(),
        name: h.name.clone(),
        category: h.category.clone(),
        kind: "hit".into(),
        severity: h.severity.zh().into(),
        effect: effect(h.effect).into(),
        auto_points: h.points,
        fatal: h.fatal,
        superseded: h.superseded,
        auto_applied: !h.superseded,
        first_at: crate::rules::first_at(&h.evidence),
        ..blank.clone()
    });
    let review = score.review.iter().map(|v| FinalItem {
        item_id: v.id.clone(),
        name: v.name.clone(),
        category: v.category.clone(),
        kind: "review".into(),
        severity: v.severity.zh().into(),
        effect: effect(v.effect).into(),
        auto_points: v.points,
        fatal: v.fatal,
        first_at: crate::rules::first_at(&v.evidence),
        ..blank.clone()
    });
    hits.chain(review).collect()
}

/// The final score from the rules engine ([`crate::rules::score::settle`]) over the lines that
/// apply after review; a level a larger applied level of its group outranks is marked.
fn settle_items(
    score: &crate::rules::ScoreResult,
    its: &mut [FinalItem],
) -> crate::rules::score::Settled {
    let n_hits = score.hits.len();
    let mut lines = Vec::new();
    let mut at = Vec::new();
    for (i, it) in its.iter().enumerate().filter(|(_, it)| it.applied) {
        let line = if i < n_hits {
            crate::rules::score::Line {
                points: it.applied_points,
                ..crate::rules::score::Line::of_hit(&score.hits[i])
            }
        } else {
            crate::rules::score::Line::of_review(&score.review[i - n_hits], it.applied_points)
        };
        lines.push(line);
        at.push(i);
    }
    let settled = crate::rules::score::settle(&score.categories, score.max_total, &lines);
    for (k, &i) in at.iter().enumerate() {
        if settled.superseded[k] {
            its[i].applied = false;
            its[i].status = "被同组更高等级覆盖".into();
        }
    }
    settled
}
