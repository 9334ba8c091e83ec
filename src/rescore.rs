//! `zhijian rescore`: score the calls of the database again with (new) scorecards, from the
//! records stored with them — no audio, no speech model. With `--diff` nothing is written:
//! it lists exactly the calls whose score or flags would change, so a QA lead can try next
//! month's card on last month's calls before adopting it.

use crate::record::{CallRecord, CallStatus};
use crate::rules::{ScoreResult, ScorecardSet};
use crate::store::Store;
use crate::time::Date;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeSet;

/// One call whose automatic result changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub call_id: String,
    pub before: Option<f64>,
    pub after: f64,
    /// Applied flags (item ids) the new card adds and drops.
    pub flags_added: Vec<String>,
    pub flags_removed: Vec<String>,
    pub fatal_before: Option<String>,
    pub fatal_after: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct RescoreReport {
    /// Calls scored again.
    pub examined: usize,
    /// Calls without a stored record (imported before schema version 2): re-import their
    /// results to include them.
    pub without_record: usize,
    pub changed: Vec<Change>,
    /// Whether the new scores were written.
    pub written: bool,
}

/// Score every call dated `from..=to` (all when None) with `cards`; `write` stores the new
/// automatic scores (human input is kept, as on any re-inspection). `cards_fp` is the cards'
/// fingerprint ([`crate::pipeline::rules_fingerprint`]), recorded in each re-scored record.
pub fn rescore(
    store: &mut Store,
    cards: &ScorecardSet,
    cards_fp: &str,
    from: Option<Date>,
    to: Option<Date>,
    write: bool,
) -> Result<RescoreReport> {
    let (ids, without_record) = store.call_ids_between(from, to)?;
    let mut report = RescoreReport {
        without_record,
        written: write,
        ..Default::default()
    };
    for id in ids {
        let Some(mut rec) = store.stored_record(&id)? else {
            report.without_record += 1;
            continue;
        };
        if rec.status != CallStatus::Ok {
            continue;
        }
        report.examined += 1;
        let new = crate::rules::score(cards.select(rec.metadata.as_ref()), &rec);
        if let Some(c) = change(&id, rec.score.as_ref(), &new) {
            report.changed.push(c);
        }
        if write {
            rec.fingerprints.score = crate::pipeline::score_fingerprint(
                &rec.fingerprints.classify,
                cards_fp,
                rec.metadata.as_ref(),
            );
            rec.settings_hash = rec.fingerprints.score.clone();
            rec.score = Some(new);
            store
                .upsert_call(&rec)
                .with_context(|| format!("storing call {id}"))?;
        }
    }
    Ok(report)
}

fn applied(s: Option<&ScoreResult>) -> BTreeSet<String> {
    s.map(|s| {
        s.hits
            .iter()
            .filter(|h| !h.superseded)
            .map(|h| h.id.clone())
            .collect()
    })
    .unwrap_or_default()
}

fn change(id: &str, old: Option<&ScoreResult>, new: &ScoreResult) -> Option<Change> {
    let (a, b) = (applied(old), applied(Some(new)));
    let before = old.map(|s| s.total);
    let fatal_before = old.and_then(|s| s.fatal.clone());
    if before == Some(new.total) && a == b && fatal_before == new.fatal {
        return None;
    }
    Some(Change {
        call_id: id.to_string(),
        before,
        after: new.total,
        flags_added: b.difference(&a).cloned().collect(),
        flags_removed: a.difference(&b).cloned().collect(),
        fatal_before,
        fatal_after: new.fatal.clone(),
    })
}

impl std::fmt::Display for RescoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.changed {
            let before = c.before.map_or("-".to_string(), |b| b.to_string());
            write!(f, "{}\t{} -> {}", c.call_id, before, c.after)?;
            for x in &c.flags_added {
                write!(f, "\t+{x}")?;
            }
            for x in &c.flags_removed {
                write!(f, "\t-{x}")?;
            }
            writeln!(f)?;
        }
        write!(
            f,
            "{} calls scored, {} {}",
            self.examined,
            self.changed.len(),
            if self.written {
                "changed (written)"
            } else {
                "would change (nothing written)"
            }
        )?;
        if self.without_record > 0 {
            write!(
                f,
                "; {} calls have no stored record (imported before this version: re-import their results)",
                self.without_record
            )?;
        }
        Ok(())
    }
}

/// The stored record of each call: what `rescore` scores.
impl Store {
    /// Ids of the calls dated `from..=to` (all when both are None; undated calls only then),
    /// and how many of them have no stored record.
    pub fn call_ids_between(
        &self,
        from: Option<Date>,
        to: Option<Date>,
    ) -> crate::store::Result<(Vec<String>, usize)> {
        let f = from.map_or_else(|| "0000-00-00".to_string(), |d| d.to_string());
        let t = to.map_or_else(|| "9999-99-99".to_string(), |d| d.to_string());
        let rows: Vec<(String, bool)> = self
            .db()
            .rows(
                "SELECT c.call_id, r.call_id IS NULL FROM calls c
                 LEFT JOIN records r ON r.call_id = c.call_id
                 WHERE COALESCE(c.call_date, '') BETWEEN ?1 AND ?2
                    OR (?1 = '0000-00-00' AND ?2 = '9999-99-99')
                 ORDER BY c.call_id",
                crate::store::db::args![f, t],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))?;
        let missing = rows.iter().filter(|r| r.1).count();
        Ok((
            rows.into_iter().filter(|r| !r.1).map(|r| r.0).collect(),
            missing,
        ))
    }

    /// The record stored with a call, if any.
    pub fn stored_record(&self, call_id: &str) -> crate::store::Result<Option<CallRecord>> {
        let json: Option<String> = self
            .db()
            .row(
                "SELECT json FROM records WHERE call_id = ?1",
                crate::store::db::args![call_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }
}

/// `zhijian rescore`.
pub fn rescore_cmd(a: &crate::cli::RescoreArgs, out: &mut dyn std::io::Write) -> Result<()> {
    if !crate::store::exists(&a.db) {
        anyhow::bail!("no database at {} (pass --db)", crate::store::shown(&a.db));
    }
    let parse = |s: &Option<String>, what: &str| -> Result<Option<Date>> {
        s.as_deref()
            .map(|x| Date::parse(x).with_context(|| format!("--{what} `{x}` is not YYYY-MM-DD")))
            .transpose()
    };
    let (from, to) = (parse(&a.from, "from")?, parse(&a.to, "to")?);
    let cards = ScorecardSet::load(&a.rules)
        .with_context(|| format!("loading scorecards from {}", a.rules.display()))?;
    let fp = crate::pipeline::rules_fingerprint(&a.rules)
        .with_context(|| format!("reading scorecards {}", a.rules.display()))?;
    let mut store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    let r = rescore(&mut store, &cards, &fp, from, to, !a.diff)?;
    writeln!(out, "{r}")?;
    Ok(())
}
