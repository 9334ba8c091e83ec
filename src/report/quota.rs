//! Sampling quotas (seed 004 第四章 质检频度要求): per card with a `[sampling]` table and per
//! queue, the share of inbound, outbound and special calls (特殊调听) a human reviewed within
//! the allowed days, against the required percentage.

use super::time::Date;
use crate::rules::ScorecardSet;
use crate::store::db::args;
use crate::store::review::FinalResult;
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;
use std::collections::HashMap;

/// One quota line: a card, a queue and a class of calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueQuota {
    pub card: String,
    pub queue: String,
    /// 呼入 / 呼出 / 特殊调听.
    pub class: String,
    pub calls: usize,
    /// Calls with a human verdict or manual score.
    pub reviewed: usize,
    /// Of those, reviewed within `within_days` of the call date (all of them without a limit).
    pub reviewed_in_time: usize,
    pub within_days: Option<u32>,
    pub required_pct: f64,
    /// reviewed_in_time / calls × 100.
    pub pct: f64,
    pub met: bool,
}

/// Facts about a call that the final results do not carry.
#[derive(Debug, Clone, Default)]
struct CallFacts {
    direction: Option<String>,
    /// Date (YYYY-MM-DD, UTC) of the first verdict or manual score.
    first_review: Option<String>,
}

fn facts(store: &Store, from: Date, to: Date) -> Result<HashMap<String, CallFacts>> {
    let mut out: HashMap<String, CallFacts> = HashMap::new();
    let rows = store.db().rows(
        "SELECT call_id, direction FROM calls WHERE call_date BETWEEN ?1 AND ?2",
        args![from.to_string(), to.to_string()],
        |r| {
            Ok((
                r.get::<String>(0)?,
                CallFacts {
                    direction: r.get(1)?,
                    first_review: None,
                },
            ))
        },
    )?;
    out.extend(rows);
    let rows = store.db().rows(
        "SELECT call_id, MIN(created_at) FROM (
             SELECT call_id, created_at FROM verdicts
             UNION ALL SELECT call_id, created_at FROM manual_scores) AS reviews
         GROUP BY call_id",
        args![],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    for (id, at) in rows {
        if let Some(f) = out.get_mut(&id) {
            f.first_review = Some(at.chars().take(10).collect());
        }
    }
    Ok(out)
}

/// Customer numbers that called again within `days` of an earlier call (any card).
fn repeat_calls(store: &Store, days: f64) -> Result<std::collections::HashSet<String>> {
    let secs = (days * 86_400.0) as i64;
    let rows = store.db().rows(
        "SELECT a.call_id FROM calls a JOIN calls b
           ON a.customer_number = b.customer_number AND a.call_id != b.call_id
          AND b.start_epoch < a.start_epoch AND a.start_epoch - b.start_epoch <= ?1
         WHERE a.customer_number IS NOT NULL AND a.customer_number != ''",
        args![secs],
        |r| r.get::<String>(0),
    )?;
    Ok(rows.into_iter().collect())
}

/// Quota lines for the cards with `[sampling]`, over calls dated `from`..=`to`.
pub fn quotas(
    store: &Store,
    cards: &ScorecardSet,
    results: &[FinalResult],
    from: Date,
    to: Date,
    repeat_days: f64,
) -> Result<Vec<QueueQuota>> {
    if cards.cards().iter().all(|c| c.sampling.is_none()) {
        return Ok(Vec::new());
    }
    let facts = facts(store, from, to)?;
    let repeats = repeat_calls(store, repeat_days)?;
    let mut out = Vec::new();
    for card in cards.cards() {
        let Some(s) = &card.sampling else { continue };
        let mine: Vec<&FinalResult> = results.iter().filter(|r| r.card == card.name).collect();
        let mut queues: Vec<String> = mine
            .iter()
            .map(|r| r.queue.clone().unwrap_or_default())
            .collect();
        queues.sort();
        queues.dedup();
        for q in queues {
            let in_q: Vec<&&FinalResult> = mine
                .iter()
                .filter(|r| r.queue.clone().unwrap_or_default() == q)
                .collect();
            let dir = |r: &FinalResult| facts.get(&r.call_id).and_then(|f| f.direction.clone());
            let special = |r: &FinalResult| {
                repeats.contains(&r.call_id)
                    || r.items
                        .iter()
                        .any(|i| i.kind == "review" && s.special_items.contains(&i.item_id))
            };
            let classes: [(&str, Option<f64>, Vec<&FinalResult>); 3] = [
                (
                    "呼入",
                    s.inbound_pct,
                    in_q.iter()
                        .filter(|r| dir(r).as_deref() != Some("outbound"))
                        .map(|r| **r)
                        .collect(),
                ),
                (
                    "呼出",
                    s.outbound_pct,
                    in_q.iter()
                        .filter(|r| dir(r).as_deref() == Some("outbound"))
                        .map(|r| **r)
                        .collect(),
                ),
                (
                    "特殊调听",
                    s.special_pct,
                    in_q.iter().filter(|r| special(r)).map(|r| **r).collect(),
                ),
            ];
            for (class, required, calls) in classes {
                let (Some(required), false) = (required, calls.is_empty()) else {
                    continue;
                };
                let reviewed: Vec<&FinalResult> =
                    calls.iter().copied().filter(|r| r.reviewed).collect();
                let timely = reviewed
                    .iter()
                    .filter(|r| in_time(r, facts.get(&r.call_id), s.within_days))
                    .count();
                let pct = timely as f64 / calls.len() as f64 * 100.0;
                out.push(QueueQuota {
                    card: card.name.clone(),
                    queue: q.clone(),
                    class: class.into(),
                    calls: calls.len(),
                    reviewed: reviewed.len(),
                    reviewed_in_time: timely,
                    within_days: s.within_days,
                    required_pct: required,
                    pct: (pct * 10.0).round() / 10.0,
                    met: pct + 1e-9 >= required,
                });
            }
        }
    }
    Ok(out)
}

/// Reviewed within `days` of the call's date (UTC date of the review against the local call
/// date: the check can be off by the time-zone offset, never by more than a day).
fn in_time(r: &FinalResult, f: Option<&CallFacts>, days: Option<u32>) -> bool {
    let Some(days) = days else { return true };
    let (Some(call), Some(rev)) = (
        r.call_date.as_deref().and_then(Date::parse),
        f.and_then(|f| f.first_review.as_deref())
            .and_then(Date::parse),
    ) else {
        return false;
    };
    rev.days() - call.days() <= i64::from(days)
}

/// The quota table of agents.html (the `quotas` macro of `templates/parts/agents.html`).
pub fn html(q: &[QueueQuota]) -> String {
    let q = minijinja::Value::from_serialize(q);
    super::render::fragment("parts/agents.html", "quotas", &[q])
        .unwrap_or_else(|e| panic!("the quotas macro: {e:#}"))
}
