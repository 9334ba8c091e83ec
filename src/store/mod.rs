//! The SQLite store: statistics across batches and months, and the human side of quality
//! inspection (verdicts, manual item scores, appeals and final decisions).
//!
//! One file (by default `<out>/zhijian.db`, or shared with `--db`). [`Store::upsert_call`]
//! writes a call's automatic results and replaces them when the call is inspected again;
//! human input lives in its own tables keyed by call id and item id, which `upsert_call` never
//! touches, so re-inspecting (new scorecard, new model) can never erase a verdict. The final
//! score combines both ([`review`]).

pub mod cli;
pub mod ledger;
mod legacy;
pub mod review;
pub mod schema;
pub mod web;

use crate::record::{CallRecord, Role, Side};
use crate::time::{now_rfc3339, Stamp};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this zhijian supports ({supported}); use a newer zhijian"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("no call `{0}` in the database (import the batch first: zhijian import OUT --db …)")]
    NoCall(String),
    #[error("call `{call}` has no flag or review item `{item}`")]
    NoItem { call: String, item: String },
    #[error("no appeal #{0}")]
    NoAppeal(i64),
    #[error("appeal #{0} was already decided ({1})")]
    AlreadyDecided(i64, String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "call `{call}` was changed by someone else meanwhile (now at version {version}); reload it"
    )]
    Conflict { call: String, version: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The schema version this build writes (the number of migrations it knows).
pub fn schema_version_supported() -> i64 {
    schema::MIGRATIONS.len() as i64
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn role_str(r: Role) -> &'static str {
    r.as_str()
}

fn side_str(s: Side) -> &'static str {
    match s {
        Side::Agent => "agent",
        Side::Customer => "customer",
        Side::Unknown => "unknown",
    }
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Invalid(format!(
                        "creating folder {} for the database: {e}",
                        dir.display()
                    ))
                })?;
            }
        }
        let conn = Connection::open(&path).map_err(wrap)?;
        // Several zhijian processes (a batch writing, an inspector reviewing) may share it.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(wrap)?;
        // WAL: the workbench reads while `inspect` writes, without either waiting long.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(wrap)?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Access to the connection for queries this module does not wrap (reports, tests).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<()> {
        let found = self.schema_version()?;
        let supported = schema::MIGRATIONS.len() as i64;
        if found > supported {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                supported,
            });
        }
        if found > 0 && found < supported {
            self.backup_before_upgrade(found)?;
        }
        for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction().map_err(|e| StoreError::Sqlite {
                path: self.path.clone(),
                source: e,
            })?;
            let r = match step {
                schema::Step::Sql(sql) => tx.execute_batch(sql),
                schema::Step::SqlThen(sql, data) => tx.execute_batch(sql).and_then(|_| data(&tx)),
            };
            let r = r
                .and_then(|_| tx.pragma_update(None, "user_version", (i + 1) as i64))
                .and_then(|_| tx.commit());
            r.map_err(|e| StoreError::Sqlite {
                path: self.path.clone(),
                source: e,
            })?;
        }
        Ok(())
    }

    /// Before an upgrade changes an existing database, keep a consistent copy of it beside the
    /// file (`<db>.v<N>.bak`): an upgrade that goes wrong must never cost a site its verdicts.
    fn backup_before_upgrade(&self, found: i64) -> Result<()> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".v{found}.bak"));
        let bak = PathBuf::from(name);
        if bak.exists() {
            return Ok(());
        }
        self.conn
            .execute("VACUUM INTO ?1", [bak.to_string_lossy()])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Write a call's automatic results, replacing those of an earlier inspection of the same
    /// call (same key). Verdicts, manual scores and appeals are left exactly as they are.
    ///
    /// Keys keep recordings apart: when the record's id is already held by another recording
    /// (a result written before call keys, named after its file), the record is stored under
    /// its content key instead; when a row stored before call keys holds the same recording,
    /// that row and its human input move to the key. Storing the same result again changes
    /// nothing.
    pub fn upsert_call(&mut self, rec: &CallRecord) -> Result<Upserted> {
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        let rec = &crate::pii::for_output(rec, crate::pii::Output::Store);
        let out = upsert_keyed(&tx, rec).map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(out)
    }

    /// The scored result stored with a call (the input of its final score).
    pub fn stored_score(&self, call_id: &str) -> Result<Option<crate::rules::ScoreResult>> {
        let json: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT score_json FROM calls WHERE call_id = ?1",
                [call_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(json.flatten().and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// The call meant by `given`: its key, or the readable label in front of it (`0001` for
    /// `0001-3fa2b1c4d5e6`) when exactly one call has that label.
    pub fn resolve_call(&self, given: &str) -> Result<String> {
        if self.has_call(given)? {
            return Ok(given.to_string());
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT call_id, COALESCE(call_date, '') FROM calls
                 WHERE substr(call_id, 1, length(?1) + 1) = ?1 || '-' AND length(call_id) = length(?1) + 13
                 ORDER BY call_id",
            )
            .map_err(|e| self.err(e))?;
        let found: Vec<(String, String)> = st
            .query_map([given], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|m| m.collect())
            .map_err(|e| self.err(e))?;
        match &found[..] {
            [(id, _)] => Ok(id.clone()),
            [] => Err(StoreError::NoCall(given.into())),
            many => Err(StoreError::Invalid(format!(
                "`{given}` is the label of {} calls: {}; give the full id",
                many.len(),
                many.iter()
                    .map(|(id, d)| if d.is_empty() {
                        id.clone()
                    } else {
                        format!("{id} ({d})")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Whether the call is in the database.
    pub fn has_call(&self, call_id: &str) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM calls WHERE call_id = ?1", [call_id], |_| {
                Ok(())
            })
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }
}

/// What [`Store::upsert_call`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    /// The key the call is stored under.
    pub call_id: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Inserted,
    Updated,
    /// The same result was stored already: nothing written.
    Unchanged,
    /// The record's id belonged to another recording; stored under its content key.
    Rekeyed {
        from: String,
    },
    /// A row stored before call keys (id `from`) was this recording: moved to the key.
    Adopted {
        from: String,
    },
}

fn upsert_keyed(tx: &rusqlite::Transaction, rec: &CallRecord) -> rusqlite::Result<Upserted> {
    let sha = rec.input.sha256.as_str();
    let switch = rec.metadata.as_ref().and_then(|m| m.call_id.as_deref());
    let lookup = |id: &str| {
        tx.query_row(
            "SELECT COALESCE(sha256, ''), record_sha FROM calls WHERE call_id = ?1",
            [id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
        )
        .optional()
    };
    let mut id = rec.call_id.clone();
    let mut existing = lookup(&id)?;
    let mut outcome = None;
    if let Some((old_sha, _)) = &existing {
        if !old_sha.is_empty() && !sha.is_empty() && old_sha != sha {
            let from = id;
            id = crate::identity::call_id(&from, sha, switch);
            existing = lookup(&id)?;
            outcome = Some(Outcome::Rekeyed { from });
        }
    }
    // The same call stored under another label (its file was renamed): keep the first id.
    if let (None, Some(hex)) = (&existing, crate::identity::hex_of(&id)) {
        let same: Option<String> = tx
            .query_row(
                "SELECT call_id FROM calls WHERE call_key = ?1 AND COALESCE(sha256, '') = ?2",
                params![hex, sha],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(same) = same {
            id = same;
            existing = lookup(&id)?;
        }
    }
    if existing.is_none() && !sha.is_empty() {
        let olds: Vec<String> = tx
            .prepare("SELECT call_id FROM calls WHERE sha256 = ?1 AND call_id != ?2")?
            .query_map(params![sha, id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let olds: Vec<String> = olds
            .into_iter()
            .filter(|o| !crate::identity::looks_like_key(o))
            .filter(|o| switch.is_none_or(|s| crate::identity::sanitize(s) == *o))
            .collect();
        if let [from] = &olds[..] {
            legacy::rekey(tx, from, &id)?;
            existing = lookup(&id)?;
            outcome = Some(Outcome::Adopted { from: from.clone() });
        }
    }
    let mut rec = std::borrow::Cow::Borrowed(rec);
    if rec.call_id != id {
        rec.to_mut().call_id = id.clone();
    }
    let json = serde_json::to_string(&*rec).expect("record serialises");
    let record_sha = digest(&rec);
    if let Some((_, Some(old))) = &existing {
        if *old == record_sha && outcome.is_none() {
            return Ok(Upserted {
                call_id: id,
                outcome: Outcome::Unchanged,
            });
        }
    }
    upsert(tx, &rec)?;
    tx.execute(
        "UPDATE calls SET switch_call_id = ?2, display_name = ?3, file_raw = ?4, record_sha = ?5,
            score_json = ?6, call_key = ?7 WHERE call_id = ?1",
        params![
            id,
            switch,
            rec.input
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            rec.input.path_raw,
            record_sha,
            rec.score
                .as_ref()
                .map(|s| serde_json::to_string(s).expect("score serialises")),
            crate::identity::hex_of(&id),
        ],
    )?;
    tx.execute(
        "INSERT INTO records (call_id, json) VALUES (?1, ?2)
         ON CONFLICT (call_id) DO UPDATE SET json = excluded.json",
        params![id, json],
    )?;
    Ok(Upserted {
        call_id: id,
        outcome: outcome.unwrap_or(if existing.is_some() {
            Outcome::Updated
        } else {
            Outcome::Inserted
        }),
    })
}

/// A hash of the record that is the same for a record and the same record read back from its
/// JSON file: serde_json's float parsing may land one ulp off, so floats are hashed at ten
/// significant digits.
fn digest(rec: &CallRecord) -> String {
    fn canon(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or_default();
                *v = serde_json::Value::String(format!("{f:.9e}"));
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(canon),
            serde_json::Value::Object(o) => o.values_mut().for_each(canon),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(rec).expect("record serialises");
    canon(&mut v);
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        v.to_string().as_bytes(),
    ))
}

fn upsert(tx: &rusqlite::Transaction, rec: &CallRecord) -> rusqlite::Result<()> {
    let meta = rec.metadata.clone().unwrap_or_default();
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let agent_id = nonempty(&meta.agent_id);
    let queue = nonempty(&meta.queue);
    if let Some(a) = &agent_id {
        tx.execute(
            "INSERT INTO agents (agent_id, name) VALUES (?1, ?2)
             ON CONFLICT (agent_id) DO UPDATE SET name = COALESCE(excluded.name, agents.name)",
            params![a, nonempty(&meta.agent_name)],
        )?;
    }
    if let Some(q) = &queue {
        tx.execute("INSERT OR IGNORE INTO queues (name) VALUES (?1)", [q])?;
    }
    let stamp = meta.start_time.as_deref().and_then(Stamp::parse);
    let score = rec.score.as_ref();
    let m = &rec.metrics;
    let status = rec.status.as_str();
    let error = rec
        .errors
        .first()
        .map(|e| format!("{}: {}", e.stage, e.message));
    let direction = meta.direction.map(|d| match d {
        crate::record::Direction::Inbound => "inbound",
        crate::record::Direction::Outbound => "outbound",
    });
    tx.execute(
        "INSERT INTO calls (call_id, agent_id, queue, direction, start_time, call_date, start_epoch,
            customer_number, file, sha256, status, error, duration_s, card, auto_score, max_score,
            subtotal, fatal, review_points_at_stake, agent_talk_s, customer_talk_s, silence_count,
            silence_total_s, overlap_count, interruptions_by_agent, interruptions_by_customer,
            latency_mean_s, hangup_side, hangup_source, zhijian_version, settings_hash, inspected_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)
         ON CONFLICT (call_id) DO UPDATE SET
            agent_id = excluded.agent_id, queue = excluded.queue, direction = excluded.direction,
            start_time = excluded.start_time, call_date = excluded.call_date,
            start_epoch = excluded.start_epoch, customer_number = excluded.customer_number,
            file = excluded.file, sha256 = excluded.sha256, status = excluded.status,
            error = excluded.error, duration_s = excluded.duration_s, card = excluded.card,
            auto_score = excluded.auto_score, max_score = excluded.max_score,
            subtotal = excluded.subtotal, fatal = excluded.fatal,
            review_points_at_stake = excluded.review_points_at_stake,
            agent_talk_s = excluded.agent_talk_s, customer_talk_s = excluded.customer_talk_s,
            silence_count = excluded.silence_count, silence_total_s = excluded.silence_total_s,
            overlap_count = excluded.overlap_count,
            interruptions_by_agent = excluded.interruptions_by_agent,
            interruptions_by_customer = excluded.interruptions_by_customer,
            latency_mean_s = excluded.latency_mean_s, hangup_side = excluded.hangup_side,
            hangup_source = excluded.hangup_source, zhijian_version = excluded.zhijian_version,
            settings_hash = excluded.settings_hash, inspected_at = excluded.inspected_at",
        params![
            rec.call_id,
            agent_id,
            queue,
            direction,
            nonempty(&meta.start_time),
            stamp.map(|s| s.date.to_string()),
            stamp.map(|s| s.epoch_s),
            nonempty(&meta.customer_number),
            rec.input.path.display().to_string(),
            rec.input.sha256,
            status,
            error,
            rec.duration_s,
            score.map(|s| s.card.clone()),
            score.map(|s| s.total),
            score.map(|s| s.max_total),
            score.map(|s| s.subtotal),
            score.and_then(|s| s.fatal.clone()),
            score.map(|s| s.review_points_at_stake),
            m.talk_s.get("agent").copied(),
            m.talk_s.get("customer").copied(),
            rec.findings.silences.len() as i64,
            m.silence_total_s,
            rec.findings.overlaps.len() as i64,
            m.interruptions_by_agent as i64,
            m.interruptions_by_customer as i64,
            m.latency_mean_s,
            side_str(m.hangup.side),
            m.hangup.source,
            rec.zhijian_version,
            rec.settings_hash,
            now_rfc3339(),
        ],
    )?;
    for table in ["utterances", "findings", "scores", "item_hits"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE call_id = ?1"),
            [&rec.call_id],
        )?;
    }
    {
        let mut st = tx.prepare(
            "INSERT INTO utterances (call_id, idx, role, start, end, text, scores)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for u in &rec.utterances {
            let scores = (!u.scores.is_empty())
                .then(|| serde_json::to_string(&u.scores).expect("scores serialise"));
            st.execute(params![
                rec.call_id,
                u.id as i64,
                role_str(u.role),
                u.start,
                u.end,
                u.text,
                scores
            ])?;
        }
    }
    {
        let mut st = tx.prepare(
            "INSERT INTO findings (call_id, seq, kind, start, end, role, seconds)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let f = &rec.findings;
        let mut seq = 0i64;
        let mut put = |kind: &str, start: f64, end: f64, role: Option<&str>, secs: f64| {
            seq += 1;
            st.execute(params![rec.call_id, seq, kind, start, end, role, secs])
        };
        for s in &f.silences {
            put("silence", s.start, s.end, None, s.duration())?;
        }
        for s in &f.overlaps {
            put("overlap", s.start, s.end, None, s.duration())?;
        }
        for i in &f.interruptions {
            put(
                "interruption",
                i.span.start,
                i.span.end,
                Some(role_str(i.by)),
                i.span.duration(),
            )?;
        }
        for l in &f.latencies {
            put("latency", l.customer_end, l.agent_start, None, l.seconds)?;
        }
    }
    if let Some(s) = score {
        let mut st = tx.prepare(
            "INSERT INTO scores (call_id, seq, category, max, score, deducted, added)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, c) in s.categories.iter().enumerate() {
            st.execute(params![
                rec.call_id,
                i as i64,
                c.name,
                c.max,
                c.score,
                c.deducted,
                c.added
            ])?;
        }
        let mut st = tx.prepare(
            "INSERT OR REPLACE INTO item_hits (call_id, item_id, kind, name, category, severity,
                effect, points, occurrences, fatal, superseded, reason, note, first_at, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        let effect = |e: crate::rules::Effect| match e {
            crate::rules::Effect::Deduct => "deduct",
            crate::rules::Effect::Add => "add",
        };
        for h in &s.hits {
            st.execute(params![
                rec.call_id,
                h.id,
                "hit",
                h.name,
                h.category,
                h.severity.zh(),
                effect(h.effect),
                h.points,
                h.occurrences as i64,
                h.fatal,
                h.superseded,
                Option::<String>::None,
                Option::<String>::None,
                crate::rules::first_at(&h.evidence),
                serde_json::to_string(&h.evidence).expect("evidence serialises"),
            ])?;
        }
        for v in &s.review {
            let reason = match v.reason {
                crate::rules::ReviewReason::Manual => "manual",
                crate::rules::ReviewReason::Undecided => "undecided",
            };
            st.execute(params![
                rec.call_id,
                v.id,
                "review",
                v.name,
                v.category,
                v.severity.zh(),
                effect(v.effect),
                v.points,
                1i64,
                v.fatal,
                false,
                reason,
                v.note,
                crate::rules::first_at(&v.evidence),
                serde_json::to_string(&v.evidence).expect("evidence serialises"),
            ])?;
        }
    }
    Ok(())
}
