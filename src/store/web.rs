//! The workbench's tables (`zhijian serve`): users and sessions, claims and assignments, the
//! per-call review version, the queue index and the append-only audit log.
//!
//! Passwords arrive here already hashed and session tokens as their SHA-256: the store never
//! sees a secret it could leak. Times are seconds since 1970 passed in by the caller, so the
//! rules (idle timeout, lock-out, lease) are testable without waiting.

use super::db::{args, DbResult, Row, ToValue};
use super::{Result, Store, StoreError};
use crate::time::now_rfc3339;
use serde::Serialize;

/// What a user may do on the workbench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 质检员: reviews calls.
    Inspector,
    /// 质检主管: reviews, assigns, decides appeals, reads the audit log and reports.
    Lead,
    /// 座席: sees their own calls and appeals.
    Agent,
    /// Manages users.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Lead => "lead",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "inspector" => Role::Inspector,
            "lead" => Role::Lead,
            "agent" => Role::Agent,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
    pub fn zh(self) -> &'static str {
        match self {
            Role::Inspector => "质检员",
            Role::Lead => "质检主管",
            Role::Agent => "座席",
            Role::Admin => "管理员",
        }
    }
    /// Inspectors and leads review calls.
    pub fn reviews(self) -> bool {
        matches!(self, Role::Inspector | Role::Lead)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub agent_id: Option<String>,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: i64,
}

const USER_COLS: &str = "id, name, role, agent_id, disabled, failed_logins, locked_until";

fn user_row(r: &Row) -> DbResult<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        agent_id: r.get(3)?,
        disabled: r.get::<i64>(4)? != 0,
        failed_logins: r.get(5)?,
        locked_until: r.get(6)?,
    })
}

/// One row of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRow {
    pub call_id: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub queue: Option<String>,
    pub start_time: Option<String>,
    pub duration_s: f64,
    pub auto_score: Option<f64>,
    pub max_score: Option<f64>,
    pub risk: f64,
    pub level_zh: String,
    /// JSON list of `{level, text, at}` written by the workbench's indexer.
    pub reasons: String,
    pub at: Option<f64>,
    pub assigned_to: Option<String>,
    pub claimed_by: Option<String>,
    pub reviewed: bool,
}

/// Filters of the review queue; empty strings and `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// A scorecard item id that must be among the call's flags.
    pub flag: Option<String>,
    /// `fatal`, `severe`, `moderate` or `minor`: a flag of this severity.
    pub severity: Option<String>,
    pub reviewed: Option<bool>,
    /// Only calls assigned to this inspector.
    pub assigned_to: Option<String>,
    /// Include calls without any risk reason (an agent's own call list).
    pub all: bool,
    /// Only calls nobody is assigned to.
    pub unassigned: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub action: String,
    pub call_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A call whose queue entry is missing or older than its stored record.
pub struct StaleCall {
    pub call_id: String,
    pub record_sha: Option<String>,
    pub record_json: Option<String>,
}

/// What the indexer computed for one call.
pub struct QueueEntryIn<'a> {
    pub call_id: &'a str,
    pub record_sha: Option<&'a str>,
    pub risk: f64,
    pub level: i64,
    pub level_zh: &'a str,
    pub reasons_json: &'a str,
    pub at: Option<f64>,
}

impl Store {
    pub fn add_user(
        &mut self,
        name: &str,
        role: Role,
        agent_id: Option<&str>,
        pw_hash: &str,
    ) -> Result<i64> {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!("bad user name {name:?}")));
        }
        if role == Role::Agent && agent_id.is_none_or(|a| a.trim().is_empty()) {
            return Err(StoreError::Invalid(
                "an agent user needs --agent-id (the agent id of their calls)".into(),
            ));
        }
        if self.user(name)?.is_some() {
            return Err(StoreError::Invalid(format!("user `{name}` already exists")));
        }
        self.db
            .value(
                "INSERT INTO users (name, role, agent_id, pw_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                args![name, role.as_str(), agent_id, pw_hash, now_rfc3339()],
            )
            .map_err(|e| self.err(e))
    }

    pub fn users(&self) -> Result<Vec<User>> {
        self.db
            .rows(
                &format!("SELECT {USER_COLS} FROM users ORDER BY name"),
                args![],
                user_row,
            )
            .map_err(|e| self.err(e))
    }

    pub fn user(&self, name: &str) -> Result<Option<User>> {
        self.db
            .row(
                &format!("SELECT {USER_COLS} FROM users WHERE name = ?1"),
                args![name],
                user_row,
            )
            .map_err(|e| self.err(e))
    }

    /// The stored password hash of a user.
    pub fn password_hash(&self, user_id: i64) -> Result<String> {
        self.db
            .one(
                "SELECT pw_hash FROM users WHERE id = ?1",
                args![user_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn require_user(&self, name: &str) -> Result<User> {
        self.user(name)?
            .ok_or_else(|| StoreError::Invalid(format!("no user `{name}`")))
    }

    /// Disable (or enable) a user; disabling ends their sessions at once.
    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        let u = self.require_user(name)?;
        self.db
            .transaction(true, |tx| {
                tx.execute(
                    "UPDATE users SET disabled = ?1, failed_logins = 0, locked_until = 0 WHERE id = ?2",
                    args![disabled as i64, u.id],
                )?;
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", args![u.id])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Set a new password hash; the user's sessions end and any lock-out is lifted.
    pub fn set_user_password(&mut self, name: &str, pw_hash: &str) -> Result<()> {
        let u = self.require_user(name)?;
        self.db
            .transaction(true, |tx| {
                tx.execute(
                    "UPDATE users SET pw_hash = ?1, failed_logins = 0, locked_until = 0 WHERE id = ?2",
                    args![pw_hash, u.id],
                )?;
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", args![u.id])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Count a failed login; after `max_failures` in a row the user is locked for
    /// `lock_secs`. Returns true when this failure locked the account.
    pub fn login_failed(
        &mut self,
        user_id: i64,
        now: i64,
        max_failures: i64,
        lock_secs: i64,
    ) -> Result<bool> {
        let failed: i64 = self
            .db
            .one(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1
                 RETURNING failed_logins",
                args![user_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if failed >= max_failures {
            self.db
                .execute(
                    "UPDATE users SET locked_until = ?1, failed_logins = 0 WHERE id = ?2",
                    args![now + lock_secs, user_id],
                )
                .map_err(|e| self.err(e))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A successful login: reset the failure count and open a session.
    /// Forget sessions idle for longer than `idle_secs` (they are refused anyway).
    pub fn prune_sessions(&mut self, now: i64, idle_secs: i64) -> Result<usize> {
        self.db
            .execute(
                "DELETE FROM sessions WHERE last_seen < ?1",
                args![now - idle_secs],
            )
            .map_err(|e| self.err(e))
    }

    pub fn open_session(
        &mut self,
        user_id: i64,
        token_hash: &str,
        csrf: &str,
        now: i64,
    ) -> Result<()> {
        self.db
            .transaction(true, |tx| {
                tx.execute(
                    "UPDATE users SET failed_logins = 0 WHERE id = ?1",
                    args![user_id],
                )?;
                tx.execute(
                    "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    args![token_hash, user_id, csrf, now],
                )
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The live session behind a token: its user (enabled) and CSRF token. A session idle
    /// for more than `idle_secs` is deleted; a live one is touched.
    pub fn session(
        &mut self,
        token_hash: &str,
        now: i64,
        idle_secs: i64,
    ) -> Result<Option<(User, String)>> {
        let cols = USER_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row: Option<(User, String, i64)> = self
            .db
            .row(
                &format!(
                    "SELECT {cols}, s.csrf, s.last_seen FROM sessions s
                     JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
                ),
                args![token_hash],
                |r| Ok((user_row(r)?, r.get(7)?, r.get(8)?)),
            )
            .map_err(|e| self.err(e))?;
        let Some((user, csrf, last_seen)) = row else {
            return Ok(None);
        };
        if user.disabled || now - last_seen > idle_secs {
            self.close_session(token_hash)?;
            return Ok(None);
        }
        // Touch at most once a minute: reads should not all become writes.
        if now - last_seen >= 60 {
            self.db
                .execute(
                    "UPDATE sessions SET last_seen = ?1 WHERE token_hash = ?2",
                    args![now, token_hash],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(Some((user, csrf)))
    }

    pub fn close_session(&mut self, token_hash: &str) -> Result<()> {
        self.db
            .execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                args![token_hash],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Claim a call for `lease_secs`. Returns the other user holding a live claim, in
    /// which case nothing changes; renewing one's own claim is allowed.
    pub fn claim(
        &mut self,
        call_id: &str,
        user: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<String>> {
        if let Some((holder, _)) = self.claim_of(call_id, now)? {
            if holder != user {
                return Ok(Some(holder));
            }
        }
        self.db
            .execute(
                "INSERT INTO claims (call_id, \"user\", until) VALUES (?1, ?2, ?3)
                 ON CONFLICT(call_id) DO UPDATE SET \"user\" = excluded.\"user\", until = excluded.until",
                args![call_id, user, now + lease_secs],
            )
            .map_err(|e| self.err(e))?;
        Ok(None)
    }

    /// The live claim on a call: who and until when.
    pub fn claim_of(&self, call_id: &str, now: i64) -> Result<Option<(String, i64)>> {
        self.db
            .row(
                "SELECT \"user\", until FROM claims WHERE call_id = ?1 AND until > ?2",
                args![call_id, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }

    pub fn assign(&mut self, call_id: &str, inspector: &str, by: &str) -> Result<Option<String>> {
        self.require_call(call_id)?;
        let u = self.require_user(inspector)?;
        if !u.role.reviews() || u.disabled {
            return Err(StoreError::Invalid(format!(
                "`{inspector}` is not an active inspector or lead"
            )));
        }
        let before = self.assignee(call_id)?;
        self.db
            .execute(
                "INSERT INTO assignments (call_id, inspector, assigned_by, assigned_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(call_id) DO UPDATE SET inspector = excluded.inspector,
                    assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
                args![call_id, inspector, by, now_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(before)
    }

    pub fn assignee(&self, call_id: &str) -> Result<Option<String>> {
        self.db
            .row(
                "SELECT inspector FROM assignments WHERE call_id = ?1",
                args![call_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The call's review version: how many human changes it has had through the workbench.
    pub fn review_version(&self, call_id: &str) -> Result<i64> {
        Ok(self
            .db
            .row(
                "SELECT version FROM review_versions WHERE call_id = ?1",
                args![call_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?
            .unwrap_or(0))
    }

    /// Run one human change as a single write transaction: check that the call is still at
    /// `expected` version (when given), run `change` (which returns the audit's before and
    /// after), bump the version and append the audit entry. Another writer in between makes
    /// it fail with [`StoreError::Conflict`] and nothing is written.
    pub fn reviewed_change<T>(
        &mut self,
        call_id: Option<&str>,
        expected: Option<i64>,
        user: &str,
        action: &str,
        change: impl FnOnce(&mut Store) -> Result<(T, String, String)>,
    ) -> Result<T> {
        // The write lock first: the version check and the change see no other writer.
        self.db.begin(true).map_err(|e| self.err(e))?;
        let out = self.reviewed_change_in_tx(call_id, expected, user, action, change);
        self.db.finish(out.is_ok()).map_err(|e| self.err(e))?;
        out
    }

    fn reviewed_change_in_tx<T>(
        &mut self,
        call_id: Option<&str>,
        expected: Option<i64>,
        user: &str,
        action: &str,
        change: impl FnOnce(&mut Store) -> Result<(T, String, String)>,
    ) -> Result<T> {
        if let (Some(c), Some(want)) = (call_id, expected) {
            let now = self.review_version(c)?;
            if now != want {
                return Err(StoreError::Conflict {
                    call: c.into(),
                    version: now,
                });
            }
        }
        let (out, before, after) = change(self)?;
        if let Some(c) = call_id {
            self.db
                .execute(
                    "INSERT INTO review_versions (call_id, version) VALUES (?1, 1)
                     ON CONFLICT(call_id) DO UPDATE SET version = review_versions.version + 1",
                    args![c],
                )
                .map_err(|e| self.err(e))?;
        }
        self.audit(user, action, call_id, Some(&before), Some(&after))?;
        Ok(out)
    }

    /// Append to the audit log (who, when, what, before and after).
    pub fn audit(
        &self,
        user: &str,
        action: &str,
        call_id: Option<&str>,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO audit (at, \"user\", action, call_id, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![now_rfc3339(), user, action, call_id, before, after],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The audit log, newest first; only one call's when `call_id` is given.
    pub fn audit_log(&self, call_id: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows = self
            .db
            .rows(
                "SELECT id, at, \"user\", action, call_id, before, after FROM audit
                 WHERE CAST(?1 AS TEXT) IS NULL OR call_id = ?1 ORDER BY id DESC LIMIT ?2",
                args![call_id, limit as i64],
                |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        user: r.get(2)?,
                        action: r.get(3)?,
                        call_id: r.get(4)?,
                        before: r.get(5)?,
                        after: r.get(6)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Calls written since their queue entry was computed, at most `limit` of them.
    pub fn stale_queue_calls(&self, limit: usize) -> Result<Vec<StaleCall>> {
        // Marks of calls that no longer exist (a re-keyed call) are dropped first.
        self.db
            .execute(
                "DELETE FROM queue_dirty WHERE NOT EXISTS
                   (SELECT 1 FROM calls c WHERE c.call_id = queue_dirty.call_id)",
                args![],
            )
            .map_err(|e| self.err(e))?;
        let rows = self
            .db
            .rows(
                "SELECT c.call_id, c.record_sha, r.json FROM queue_dirty d
                 JOIN calls c ON c.call_id = d.call_id
                 LEFT JOIN records r ON r.call_id = c.call_id
                 ORDER BY c.call_id LIMIT ?1",
                args![limit as i64],
                |r| {
                    Ok(StaleCall {
                        call_id: r.get(0)?,
                        record_sha: r.get(1)?,
                        record_json: r.get(2)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn put_queue_entries(&mut self, entries: &[QueueEntryIn]) -> Result<()> {
        let put =
            "INSERT INTO queue_index (call_id, record_sha, risk, level, level_zh, reasons, at,
                reviewed, agent_id, queue, call_date)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7,
                CASE WHEN EXISTS (SELECT 1 FROM verdicts WHERE call_id = ?1)
                  OR EXISTS (SELECT 1 FROM manual_scores WHERE call_id = ?1) THEN 1 ELSE 0 END,
                c.agent_id, c.queue, c.call_date
             FROM calls c WHERE c.call_id = ?1
             ON CONFLICT(call_id) DO UPDATE SET record_sha = excluded.record_sha,
                risk = excluded.risk, level = excluded.level, level_zh = excluded.level_zh,
                reasons = excluded.reasons, at = excluded.at, reviewed = excluded.reviewed,
                agent_id = excluded.agent_id, queue = excluded.queue,
                call_date = excluded.call_date";
        // The mark goes only if the call was not written again meanwhile.
        let clean = "DELETE FROM queue_dirty WHERE call_id = ?1
             AND (SELECT record_sha FROM calls WHERE call_id = ?1) IS NOT DISTINCT FROM CAST(?2 AS TEXT)";
        self.db
            .transaction(true, |tx| {
                for e in entries {
                    tx.execute(
                        put,
                        args![
                            e.call_id,
                            e.record_sha,
                            e.risk,
                            e.level,
                            e.level_zh,
                            e.reasons_json,
                            e.at
                        ],
                    )?;
                    tx.execute(clean, args![e.call_id, e.record_sha])?;
                }
                Ok(())
            })
            .map_err(|e: super::db::DbError| self.err(e))
    }

    /// One page of the review queue, riskiest first, and the number of calls that match.
    pub fn queue_page(
        &self,
        f: &QueueFilter,
        now: i64,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<QueueRow>, usize)> {
        let (where_sql, args) = queue_where(f);
        let args: Vec<&dyn ToValue> = args.iter().map(|a| a as &dyn ToValue).collect();
        let total: i64 = self
            .db
            .one(
                &format!("SELECT count(*) FROM queue_index q {where_sql}"),
                args.as_slice(),
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let sql = format!(
            "SELECT c.call_id, c.agent_id, ag.name, c.queue, c.start_time, c.duration_s,
                    c.auto_score, c.max_score, q.risk, q.level_zh, q.reasons, q.at,
                    asg.inspector,
                    (SELECT cl.\"user\" FROM claims cl WHERE cl.call_id = c.call_id AND cl.until > {now}),
                    q.reviewed
             FROM queue_index q JOIN calls c ON c.call_id = q.call_id
             LEFT JOIN agents ag ON ag.agent_id = c.agent_id
             LEFT JOIN assignments asg ON asg.call_id = c.call_id
             {where_sql}
             ORDER BY q.risk DESC, q.call_id LIMIT {limit} OFFSET {offset}"
        );
        let rows = self
            .db
            .rows(&sql, args.as_slice(), |r| {
                Ok(QueueRow {
                    call_id: r.get(0)?,
                    agent_id: r.get(1)?,
                    agent_name: r.get(2)?,
                    queue: r.get(3)?,
                    start_time: r.get(4)?,
                    duration_s: r.get(5)?,
                    auto_score: r.get(6)?,
                    max_score: r.get(7)?,
                    risk: r.get(8)?,
                    level_zh: r.get(9)?,
                    reasons: r.get(10)?,
                    at: r.get(11)?,
                    assigned_to: r.get(12)?,
                    claimed_by: r.get(13)?,
                    reviewed: r.get::<i64>(14)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        Ok((rows, total as usize))
    }

    /// The agent a call belongs to (for the agent role's access check).
    pub fn call_agent(&self, call_id: &str) -> Result<Option<Option<String>>> {
        self.db
            .row(
                "SELECT agent_id FROM calls WHERE call_id = ?1",
                args![call_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The recording file of a call and the stored record (JSON).
    pub fn call_file_and_record(
        &self,
        call_id: &str,
    ) -> Result<Option<(Option<String>, Option<String>)>> {
        self.db
            .row(
                "SELECT c.file, r.json FROM calls c LEFT JOIN records r ON r.call_id = c.call_id
                 WHERE c.call_id = ?1",
                args![call_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))
    }
}

/// The WHERE clause of the queue and its arguments (all bound, none spliced).
fn queue_where(f: &QueueFilter) -> (String, Vec<String>) {
    let mut conds = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let arg = |args: &mut Vec<String>, v: &str| {
        args.push(v.to_string());
        format!("?{}", args.len())
    };
    if !f.all {
        conds.push("q.level > 0".to_string());
    }
    let some = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(v) = some(&f.from) {
        conds.push(format!("q.call_date >= {}", arg(&mut args, &v)));
    }
    if let Some(v) = some(&f.to) {
        conds.push(format!("q.call_date <= {}", arg(&mut args, &v)));
    }
    if let Some(v) = some(&f.queue) {
        conds.push(format!("q.queue = {}", arg(&mut args, &v)));
    }
    if let Some(v) = some(&f.agent) {
        conds.push(format!("q.agent_id = {}", arg(&mut args, &v)));
    }
    if let Some(v) = some(&f.flag) {
        conds.push(format!(
            "q.call_id IN (SELECT call_id FROM item_hits WHERE item_id = {} AND kind = 'hit')",
            arg(&mut args, &v)
        ));
    }
    if let Some(v) = some(&f.severity) {
        if v == "fatal" {
            conds.push(
                "q.call_id IN (SELECT call_id FROM item_hits WHERE fatal = 1 AND kind = 'hit')"
                    .into(),
            );
        } else {
            conds.push(format!(
                "q.call_id IN (SELECT call_id FROM item_hits WHERE severity = {} AND kind = 'hit')",
                arg(&mut args, &v)
            ));
        }
    }
    if let Some(v) = some(&f.assigned_to) {
        conds.push(format!(
            "q.call_id IN (SELECT call_id FROM assignments WHERE inspector = {})",
            arg(&mut args, &v)
        ));
    }
    if f.unassigned {
        conds.push("q.call_id NOT IN (SELECT call_id FROM assignments)".into());
    }
    if let Some(r) = f.reviewed {
        conds.push(format!("q.reviewed = {}", r as i64));
    }
    let sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    (sql, args)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub user: String,
    pub note: String,
    pub created_at: String,
}

impl Store {
    pub fn add_note(&mut self, call_id: &str, user: &str, note: &str) -> Result<i64> {
        self.require_call(call_id)?;
        if note.trim().is_empty() {
            return Err(StoreError::Invalid("the note is empty".into()));
        }
        self.db
            .value(
                "INSERT INTO notes (call_id, \"user\", note, created_at) VALUES (?1, ?2, ?3, ?4)
                 RETURNING id",
                args![call_id, user, note, now_rfc3339()],
            )
            .map_err(|e| self.err(e))
    }

    pub fn notes(&self, call_id: &str) -> Result<Vec<Note>> {
        let rows = self
            .db
            .rows(
                "SELECT \"user\", note, created_at FROM notes WHERE call_id = ?1 ORDER BY id",
                args![call_id],
                |r| {
                    Ok(Note {
                        user: r.get(0)?,
                        note: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}
