//! The store: statistics across batches and months, and the human side of quality
//! inspection (verdicts, manual item scores, appeals and final decisions).
//!
//! One SQLite file (by default `<out>/zhijian.db`, or shared with `--db`), or a PostgreSQL
//! database (`--db postgres://…`) shared by many workers; the same SQL runs on both ([`db`]). [`Store::upsert_call`]
//! writes a call's automatic results and replaces them when the call is inspected again;
//! human input lives in its own tables keyed by call id and item id, which `upsert_call` never
//! touches, so re-inspecting (new scorecard, new model) can never erase a verdict. The final
//! score combines both ([`review`]).

pub mod cli;
pub mod db;
pub mod ledger;
mod legacy;
pub mod review;
pub mod schema;
mod schema_pg;
pub mod web;

use crate::record::{CallRecord, Role, Side};
use crate::time::{now_rfc3339, Stamp};
use db::{args, Db, DbError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: DbError,
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
    db: Db,
    /// The file, or the `postgres://` URL (without its password).
    path: PathBuf,
}

/// The schema version of a PostgreSQL store, without creating or changing anything (0: empty).
pub fn pg_schema_version(db: &Db) -> db::DbResult<i64> {
    schema_pg::version(db)
}

/// Whether `--db` names a PostgreSQL database rather than an SQLite file.
pub fn is_url(target: &Path) -> bool {
    db::is_postgres_url(&target.to_string_lossy())
}

/// Whether there is a database at `target` (a URL is taken to exist: connecting tells).
pub fn exists(target: &Path) -> bool {
    is_url(target) || target.is_file()
}

/// `--db` as it may be shown in messages and logs: a URL's password replaced by `***`.
pub fn shown(target: &Path) -> String {
    shown_url(&target.to_string_lossy())
}

/// A URL as it may be shown: the password replaced by `***`.
fn shown_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl From<DbError> for StoreError {
    fn from(source: DbError) -> Self {
        StoreError::Db {
            path: PathBuf::new(),
            source,
        }
    }
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
    /// Open (creating if needed) the database at `path` (a file, or a `postgres://` URL) and
    /// bring its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if is_url(&path) {
            return Store::open_pg(&path.to_string_lossy());
        }
        let wrap = |source: rusqlite::Error| StoreError::Db {
            path: path.clone(),
            source: source.into(),
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
        let conn = rusqlite::Connection::open(&path).map_err(wrap)?;
        // Several zhijian processes (a batch writing, an inspector reviewing) may share it.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(wrap)?;
        // WAL: the workbench reads while `inspect` writes, without either waiting long.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(wrap)?;
        let mut store = Store {
            db: Db::sqlite(conn),
            path,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Connect to PostgreSQL and create the schema if the database is new.
    fn open_pg(url: &str) -> Result<Store> {
        let path = PathBuf::from(shown_url(url));
        let db = Db::connect_pg(url).map_err(|source| StoreError::Db {
            path: path.clone(),
            source,
        })?;
        let store = Store { db, path };
        schema_pg::ensure(&store.db).map_err(|e| store.err(e))?;
        let found = schema_pg::version(&store.db).map_err(|e| store.err(e))?;
        if found > schema_version_supported() {
            return Err(StoreError::TooNew {
                path: store.path.clone(),
                found,
                supported: schema_version_supported(),
            });
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database, for queries this module does not wrap (reports, tests).
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn is_pg(&self) -> bool {
        self.db.is_pg()
    }

    pub(crate) fn err(&self, source: impl Into<DbError>) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            source: source.into(),
        }
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        match self.db.as_sqlite() {
            Some(c) => c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.err(e)),
            None => schema_pg::version(&self.db).map_err(|e| self.err(e)),
        }
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
        let path = self.path.clone();
        let Db::Sqlite(conn, _) = &mut self.db else {
            return Ok(());
        };
        for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction().map_err(|e| StoreError::Db {
                path: path.clone(),
                source: e.into(),
            })?;
            let r = match step {
                schema::Step::Sql(sql) => tx.execute_batch(sql),
                schema::Step::SqlThen(sql, data) => tx.execute_batch(sql).and_then(|_| data(&tx)),
            };
            let r = r
                .and_then(|_| tx.pragma_update(None, "user_version", (i + 1) as i64))
                .and_then(|_| tx.commit());
            r.map_err(|e| StoreError::Db {
                path: path.clone(),
                source: e.into(),
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
        self.db
            .execute("VACUUM INTO ?1", args![bak.to_string_lossy().into_owned()])
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
        let rec = &crate::pii::for_output(rec, crate::pii::Output::Store);
        self.db
            .transaction(true, |tx| upsert_keyed(tx, rec))
            .map_err(|e| self.err(e))
    }

    /// Run `f` in one transaction (joining one already open): committed when it returns Ok.
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.db.begin(false).map_err(|e| self.err(e))?;
        let out = f(self);
        self.db.finish(out.is_ok()).map_err(|e| self.err(e))?;
        out
    }

    /// The scored result stored with a call (the input of its final score).
    pub fn stored_score(&self, call_id: &str) -> Result<Option<crate::rules::ScoreResult>> {
        let json: Option<Option<String>> = self
            .db
            .query_opt(
                "SELECT score_json FROM calls WHERE call_id = ?1",
                args![call_id],
            )
            .and_then(|r| r.map(|r| r.get(0)).transpose())
            .map_err(|e| self.err(e))?;
        Ok(json.flatten().and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// The call meant by `given`: its key, or the readable label in front of it (`0001` for
    /// `0001-3fa2b1c4d5e6`) when exactly one call has that label.
    pub fn resolve_call(&self, given: &str) -> Result<String> {
        if self.has_call(given)? {
            return Ok(given.to_string());
        }
        let found: Vec<(String, String)> = self
            .db
            .query(
                "SELECT call_id, COALESCE(call_date, '') FROM calls
                 WHERE substr(call_id, 1, length(CAST(?1 AS TEXT)) + 1) = CAST(?1 AS TEXT) || '-'
                   AND length(call_id) = length(CAST(?1 AS TEXT)) + 13
                 ORDER BY call_id",
                args![given],
            )
            .and_then(|rows| rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect())
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
        self.db
            .query_opt("SELECT 1 FROM calls WHERE call_id = ?1", args![call_id])
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

fn upsert_keyed(tx: &Db, rec: &CallRecord) -> db::DbResult<Upserted> {
    let sha = rec.input.sha256.as_str();
    let switch = rec.metadata.as_ref().and_then(|m| m.call_id.as_deref());
    let lookup = |id: &str| -> db::DbResult<Option<(String, Option<String>)>> {
        tx.query_opt(
            "SELECT COALESCE(sha256, ''), record_sha FROM calls WHERE call_id = ?1",
            args![id],
        )?
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .transpose()
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
            .query_opt(
                "SELECT call_id FROM calls WHERE call_key = ?1 AND COALESCE(sha256, '') = ?2",
                args![hex, sha],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        if let Some(same) = same {
            id = same;
            existing = lookup(&id)?;
        }
    }
    if existing.is_none() && !sha.is_empty() {
        let olds: Vec<String> = tx
            .query(
                "SELECT call_id FROM calls WHERE sha256 = ?1 AND call_id != ?2",
                args![sha, id],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect::<db::DbResult<_>>()?;
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
        args![
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
        args![id, json],
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

fn upsert(tx: &Db, rec: &CallRecord) -> db::DbResult<()> {
    let meta = rec.metadata.clone().unwrap_or_default();
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let agent_id = nonempty(&meta.agent_id);
    let queue = nonempty(&meta.queue);
    if let Some(a) = &agent_id {
        tx.execute(
            "INSERT INTO agents (agent_id, name) VALUES (?1, ?2)
             ON CONFLICT (agent_id) DO UPDATE SET name = COALESCE(excluded.name, agents.name)",
            args![a, nonempty(&meta.agent_name)],
        )?;
    }
    if let Some(q) = &queue {
        tx.execute(
            "INSERT INTO queues (name) VALUES (?1) ON CONFLICT DO NOTHING",
            args![q],
        )?;
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
        args![
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
            args![rec.call_id],
        )?;
    }
    {
        let st = "INSERT INTO utterances (call_id, idx, role, start, \"end\", text, scores)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        for u in &rec.utterances {
            let scores = (!u.scores.is_empty())
                .then(|| serde_json::to_string(&u.scores).expect("scores serialise"));
            tx.execute(
                st,
                args![
                    rec.call_id,
                    u.id as i64,
                    role_str(u.role),
                    u.start,
                    u.end,
                    u.text,
                    scores
                ],
            )?;
        }
    }
    {
        let st = "INSERT INTO findings (call_id, seq, kind, start, \"end\", role, seconds)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        let f = &rec.findings;
        let mut seq = 0i64;
        let mut put = |kind: &str, start: f64, end: f64, role: Option<&str>, secs: f64| {
            seq += 1;
            tx.execute(st, args![rec.call_id, seq, kind, start, end, role, secs])
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
        let st = "INSERT INTO scores (call_id, seq, category, max, score, deducted, added)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        for (i, c) in s.categories.iter().enumerate() {
            tx.execute(
                st,
                args![
                    rec.call_id,
                    i as i64,
                    c.name,
                    c.max,
                    c.score,
                    c.deducted,
                    c.added
                ],
            )?;
        }
        // Rows of this call were deleted above; a repeated item id keeps its last line.
        let st = "INSERT INTO item_hits (call_id, item_id, kind, name, category, severity,
                effect, points, occurrences, fatal, superseded, reason, note, first_at, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (call_id, item_id, kind) DO UPDATE SET name = excluded.name,
                category = excluded.category, severity = excluded.severity,
                effect = excluded.effect, points = excluded.points,
                occurrences = excluded.occurrences, fatal = excluded.fatal,
                superseded = excluded.superseded, reason = excluded.reason, note = excluded.note,
                first_at = excluded.first_at, evidence = excluded.evidence";
        let effect = |e: crate::rules::Effect| match e {
            crate::rules::Effect::Deduct => "deduct",
            crate::rules::Effect::Add => "add",
        };
        for h in &s.hits {
            tx.execute(
                st,
                args![
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
                ],
            )?;
        }
        for v in &s.review {
            let reason = match v.reason {
                crate::rules::ReviewReason::Manual => "manual",
                crate::rules::ReviewReason::Undecided => "undecided",
            };
            tx.execute(
                st,
                args![
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
                ],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn urls_are_told_from_files_and_shown_without_password() {
        assert!(is_url(Path::new("postgres://qa@db1:5432/zhijian")));
        assert!(is_url(Path::new("postgresql://db1/zhijian")));
        assert!(!is_url(Path::new("out/zhijian.db")));
        assert_eq!(
            shown(Path::new("postgres://qa:s3cret@db1:5432/zhijian")),
            "postgres://qa:***@db1:5432/zhijian"
        );
        assert_eq!(
            shown(Path::new("postgres://qa@db1/zhijian")),
            "postgres://qa@db1/zhijian"
        );
    }
}
