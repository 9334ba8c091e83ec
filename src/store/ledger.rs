//! The lead's monthly ledger (seed 003's 监听考评以外 lines): praise by call, letter or media,
//! justified complaints, test-call results. Entries are human input, kept apart from the
//! automatic tables like verdicts; only the kind is stored, and the points come from the
//! monthly rules file when the month is computed, so a corrected rules file corrects them.

use super::db::args;
use super::{Result, Store, StoreError};
use crate::rules::monthly::LedgerEntry;
use crate::time::now_rfc3339;

/// True for `YYYY-MM` with a month 01–12.
pub fn valid_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(m[5..].parse::<u32>(), Ok(1..=12))
}

impl Store {
    /// Record a ledger entry for an agent and a month (YYYY-MM). Returns its id.
    pub fn add_ledger_entry(
        &mut self,
        agent_id: &str,
        month: &str,
        kind: &str,
        note: &str,
        entered_by: &str,
    ) -> Result<i64> {
        if !valid_month(month) {
            return Err(StoreError::Invalid(format!(
                "month `{month}`: expected YYYY-MM"
            )));
        }
        if agent_id.trim().is_empty() || kind.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a ledger entry needs an agent and a kind".into(),
            ));
        }
        self.db
            .value(
                "INSERT INTO ledger (agent_id, month, kind, note, entered_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                args![agent_id, month, kind, note, entered_by, now_rfc3339()],
            )
            .map_err(|e| self.err(e))
    }

    /// Ledger entries of a month, optionally of one agent, in the order entered.
    pub fn ledger_entries(&self, month: &str, agent_id: Option<&str>) -> Result<Vec<LedgerEntry>> {
        self.db
            .rows(
                "SELECT id, agent_id, month, kind, note, entered_by, created_at FROM ledger
                 WHERE month = ?1 AND (CAST(?2 AS TEXT) IS NULL OR agent_id = ?2) ORDER BY id",
                args![month, agent_id],
                |r| {
                    Ok(LedgerEntry {
                        id: r.get(0)?,
                        agent_id: r.get(1)?,
                        month: r.get(2)?,
                        kind: r.get(3)?,
                        note: r.get(4)?,
                        entered_by: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    /// Remove a ledger entry entered by mistake.
    pub fn remove_ledger_entry(&mut self, id: i64) -> Result<()> {
        let n = self
            .db
            .execute("DELETE FROM ledger WHERE id = ?1", args![id])
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("no ledger entry #{id}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        assert!(valid_month("2026-11"));
        assert!(!valid_month("2026-13"));
        assert!(!valid_month("2026-1"));
        assert!(!valid_month("2026/11"));
    }

    #[test]
    fn entries_round_trip_per_agent_and_month() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Store::open(tmp.path().join("z.db")).unwrap();
        let a = s
            .add_ledger_entry("A1", "2026-11", "praise_written", "表扬信", "lead")
            .unwrap();
        s.add_ledger_entry("A2", "2026-11", "complaint_skill", "", "lead")
            .unwrap();
        s.add_ledger_entry("A1", "2026-10", "praise_call", "", "lead")
            .unwrap();
        let e = s.ledger_entries("2026-11", Some("A1")).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].id, e[0].kind.as_str(), e[0].note.as_str()),
            (a, "praise_written", "表扬信")
        );
        assert_eq!(s.ledger_entries("2026-11", None).unwrap().len(), 2);
        s.remove_ledger_entry(a).unwrap();
        assert!(s.ledger_entries("2026-11", Some("A1")).unwrap().is_empty());
        assert!(s.remove_ledger_entry(a).is_err());
        assert!(s.add_ledger_entry("A1", "11/2026", "x", "", "").is_err());
    }
}
