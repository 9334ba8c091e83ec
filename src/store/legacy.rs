//! Databases written before call keys (schema version 1): their scores as `ScoreResult`, and
//! moving a call with all its rows and human input to its content key.

use crate::rules::{CategoryScore, ItemHit, ReviewItem, ScoreResult};
use rusqlite::{params, Transaction};

/// A version-1 `calls` row as read for the rebuild.
type OldCall = (String, String, f64, f64, f64, Option<String>, f64);

/// Migration 2's data step: rebuild each scored call's `ScoreResult` from its `scores` and
/// `item_hits` rows, so the final score of old calls comes from the rules engine too. Graded
/// groups and category bases were not stored then: the base is inferred from the stored numbers
/// ([`CategoryScore::start`]) and superseded levels stay as they were.
pub fn fill_score_json(tx: &Transaction) -> rusqlite::Result<()> {
    let calls: Vec<OldCall> = tx
        .prepare(
            "SELECT call_id, COALESCE(card, ''), auto_score, COALESCE(max_score, 0),
                    COALESCE(subtotal, auto_score), fatal, COALESCE(review_points_at_stake, 0)
             FROM calls WHERE auto_score IS NOT NULL",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut cats = tx.prepare(
        "SELECT category, max, score, deducted, added FROM scores WHERE call_id = ?1 ORDER BY seq",
    )?;
    let mut items = tx.prepare(
        "SELECT kind, item_id, name, category, severity, effect, points, occurrences, fatal,
                superseded, reason, COALESCE(note, ''), evidence
         FROM item_hits WHERE call_id = ?1 ORDER BY rowid",
    )?;
    let mut put = tx.prepare("UPDATE calls SET score_json = ?2 WHERE call_id = ?1")?;
    for (id, card, total, max_total, subtotal, fatal, at_stake) in calls {
        let categories: Vec<CategoryScore> = cats
            .query_map([&id], |r| {
                Ok(CategoryScore {
                    name: r.get(0)?,
                    max: r.get(1)?,
                    base: None,
                    score: r.get(2)?,
                    deducted: r.get(3)?,
                    added: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let (mut hits, mut review) = (Vec::<ItemHit>::new(), Vec::<ReviewItem>::new());
        let rows: Vec<(String, serde_json::Value)> = items
            .query_map([&id], |r| {
                let evidence: String = r.get(12)?;
                let v = serde_json::json!({
                    "id": r.get::<_, String>(1)?,
                    "name": r.get::<_, String>(2)?,
                    "category": r.get::<_, String>(3)?,
                    "severity": r.get::<_, String>(4)?,
                    "effect": r.get::<_, String>(5)?,
                    "points": r.get::<_, f64>(6)?,
                    "occurrences": r.get::<_, i64>(7)?,
                    "fatal": r.get::<_, bool>(8)?,
                    "superseded": r.get::<_, bool>(9)?,
                    "reason": r.get::<_, Option<String>>(10)?.unwrap_or_else(|| "manual".into()),
                    "note": r.get::<_, String>(11)?,
                    "evidence": serde_json::from_str::<serde_json::Value>(&evidence)
                        .unwrap_or(serde_json::Value::Array(Vec::new())),
                });
                Ok((r.get(0)?, v))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (kind, v) in rows {
            // A row that no longer parses (hand-edited database) is left out, not fatal.
            if kind == "hit" {
                hits.extend(serde_json::from_value(v).ok());
            } else {
                review.extend(serde_json::from_value(v).ok());
            }
        }
        let score = ScoreResult {
            card,
            card_file: None,
            total,
            max_total,
            subtotal,
            fatal,
            categories,
            hits,
            review,
            review_points_at_stake: at_stake,
        };
        put.execute(params![
            id,
            serde_json::to_string(&score).expect("score serialises")
        ])?;
    }
    Ok(())
}

/// Move call `old` to the key `new`: its automatic rows and every verdict, manual score and
/// appeal. Foreign keys are checked at commit, when parent and children agree again.
pub fn rekey(tx: &super::db::Db, old: &str, new: &str) -> super::db::DbResult<()> {
    tx.batch(if tx.is_pg() {
        "SET CONSTRAINTS ALL DEFERRED"
    } else {
        "PRAGMA defer_foreign_keys = ON"
    })?;
    for table in [
        "calls",
        "records",
        "utterances",
        "findings",
        "scores",
        "item_hits",
        "verdicts",
        "manual_scores",
        "appeals",
    ] {
        tx.execute(
            &format!("UPDATE {table} SET call_id = ?2 WHERE call_id = ?1"),
            super::db::args![old, new],
        )?;
    }
    Ok(())
}
