//! The store's schema in PostgreSQL: the tables of every SQLite migration ([`super::schema`]) as
//! they stand after the last one, created at once in a new database.
//!
//! Types are chosen so the same SQL and values work on both: integers are BIGINT, reals
//! DOUBLE PRECISION, flags BIGINT 0/1. Foreign keys are deferrable, so moving a call to its key
//! ([`super::legacy::rekey`]) can update parent and children in any order. When a SQLite
//! migration is appended, its PostgreSQL form goes into [`STEPS`] too (the test below fails
//! until it does).

use super::db::{args, Db, DbResult};

/// PostgreSQL forms of the SQLite migrations, indexed like them: `STEPS[k]` brings a database
/// from version `k + FIRST` … The first entry creates everything up to [`FIRST`].
const FIRST: i64 = 4;
const STEPS: &[&str] = &[SCHEMA_V4];

/// The schema version of a PostgreSQL store (0: none yet).
pub fn version(db: &Db) -> DbResult<i64> {
    let has: Option<String> = db.value(
        "SELECT CAST(to_regclass('zhijian_schema') AS TEXT)",
        args![],
    )?;
    if has.is_none() {
        return Ok(0);
    }
    db.value(
        "SELECT COALESCE(MAX(version), 0) FROM zhijian_schema",
        args![],
    )
}

/// Create or bring up to date the schema, under a lock: several workers may start at once.
pub fn ensure(db: &Db) -> DbResult<()> {
    let last = FIRST + STEPS.len() as i64 - 1;
    if version(db)? == last {
        return Ok(());
    }
    db.transaction(false, |db| {
        // 7_215_300: the schema lock (any fixed key, the same in every zhijian).
        db.batch("SELECT pg_advisory_xact_lock(7215300)")?;
        let mut found = version(db)?;
        if found == 0 {
            db.batch(STEPS[0])?;
            db.batch("CREATE TABLE zhijian_schema (version BIGINT NOT NULL)")?;
            found = FIRST;
            db.execute(
                "INSERT INTO zhijian_schema (version) VALUES (?1)",
                args![found],
            )?;
        }
        for (i, step) in STEPS.iter().enumerate().skip(1) {
            let v = FIRST + i as i64;
            if v > found {
                db.batch(step)?;
                db.execute("UPDATE zhijian_schema SET version = ?1", args![v])?;
            }
        }
        Ok(())
    })
}

const SCHEMA_V4: &str = r#"
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    name     TEXT
);
CREATE TABLE queues (
    name TEXT PRIMARY KEY
);
CREATE TABLE calls (
    call_id          TEXT PRIMARY KEY,
    agent_id         TEXT REFERENCES agents(agent_id) DEFERRABLE,
    queue            TEXT REFERENCES queues(name) DEFERRABLE,
    direction        TEXT,
    start_time       TEXT,
    call_date        TEXT,
    start_epoch      BIGINT,
    customer_number  TEXT,
    file             TEXT,
    sha256           TEXT,
    status           TEXT NOT NULL,
    error            TEXT,
    duration_s       DOUBLE PRECISION NOT NULL DEFAULT 0,
    card             TEXT,
    auto_score       DOUBLE PRECISION,
    max_score        DOUBLE PRECISION,
    subtotal         DOUBLE PRECISION,
    fatal            TEXT,
    review_points_at_stake DOUBLE PRECISION,
    agent_talk_s     DOUBLE PRECISION,
    customer_talk_s  DOUBLE PRECISION,
    silence_count    BIGINT,
    silence_total_s  DOUBLE PRECISION,
    overlap_count    BIGINT,
    interruptions_by_agent    BIGINT,
    interruptions_by_customer BIGINT,
    latency_mean_s   DOUBLE PRECISION,
    hangup_side      TEXT,
    hangup_source    TEXT,
    zhijian_version  TEXT,
    settings_hash    TEXT,
    inspected_at     TEXT NOT NULL,
    switch_call_id   TEXT,
    display_name     TEXT,
    file_raw         TEXT,
    record_sha       TEXT,
    score_json       TEXT,
    call_key         TEXT
);
CREATE INDEX calls_by_date ON calls(call_date);
CREATE INDEX calls_by_agent_date ON calls(agent_id, call_date);
CREATE INDEX calls_by_customer ON calls(customer_number, start_epoch);
CREATE INDEX calls_by_sha ON calls(sha256);
CREATE INDEX calls_by_key ON calls(call_key);
CREATE INDEX calls_by_queue_date ON calls(queue, call_date);

CREATE TABLE records (
    call_id TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE DEFERRABLE,
    json    TEXT NOT NULL
);
CREATE TABLE utterances (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE DEFERRABLE,
    idx     BIGINT NOT NULL,
    role    TEXT NOT NULL,
    start   DOUBLE PRECISION NOT NULL,
    "end"   DOUBLE PRECISION NOT NULL,
    text    TEXT NOT NULL,
    scores  TEXT,
    PRIMARY KEY (call_id, idx)
);
CREATE TABLE findings (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE DEFERRABLE,
    seq     BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    start   DOUBLE PRECISION NOT NULL,
    "end"   DOUBLE PRECISION NOT NULL,
    role    TEXT,
    seconds DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (call_id, seq)
);
CREATE TABLE scores (
    call_id  TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE DEFERRABLE,
    seq      BIGINT NOT NULL,
    category TEXT NOT NULL,
    max      DOUBLE PRECISION NOT NULL,
    score    DOUBLE PRECISION NOT NULL,
    deducted DOUBLE PRECISION NOT NULL,
    added    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (call_id, seq)
);
CREATE TABLE item_hits (
    call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE DEFERRABLE,
    item_id     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('hit', 'review')),
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    effect      TEXT NOT NULL CHECK (effect IN ('deduct', 'add')),
    points      DOUBLE PRECISION NOT NULL,
    occurrences BIGINT NOT NULL DEFAULT 1,
    fatal       BIGINT NOT NULL DEFAULT 0,
    superseded  BIGINT NOT NULL DEFAULT 0,
    reason      TEXT,
    note        TEXT,
    first_at    DOUBLE PRECISION,
    evidence    TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (call_id, item_id, kind)
);
CREATE INDEX item_hits_by_item ON item_hits(item_id);
CREATE INDEX item_hits_by_severity ON item_hits(severity, kind, call_id);
CREATE INDEX item_hits_fatal ON item_hits(call_id) WHERE fatal = 1 AND kind = 'hit';

CREATE TABLE verdicts (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    call_id    TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    verdict    TEXT NOT NULL CHECK (verdict IN ('confirmed', 'rejected')),
    comment    TEXT NOT NULL DEFAULT '',
    inspector  TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX verdicts_by_call ON verdicts(call_id, item_id);
CREATE TABLE manual_scores (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    call_id    TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    points     DOUBLE PRECISION NOT NULL CHECK (points >= 0),
    comment    TEXT NOT NULL DEFAULT '',
    inspector  TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX manual_scores_by_call ON manual_scores(call_id, item_id);
CREATE TABLE appeals (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    call_id     TEXT NOT NULL,
    item_id     TEXT,
    agent_id    TEXT,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    decided_by  TEXT,
    decision_comment TEXT,
    decided_at  TEXT,
    final_score DOUBLE PRECISION
);
CREATE INDEX appeals_by_call ON appeals(call_id);
CREATE TABLE ledger (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    agent_id   TEXT NOT NULL,
    month      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    entered_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX ledger_by_agent_month ON ledger(agent_id, month);

CREATE TABLE users (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('inspector', 'lead', 'agent', 'admin')),
    agent_id      TEXT,
    pw_hash       TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE TABLE claims (
    call_id TEXT PRIMARY KEY,
    "user"  TEXT NOT NULL,
    until   BIGINT NOT NULL
);
CREATE TABLE assignments (
    call_id     TEXT PRIMARY KEY,
    inspector   TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE INDEX assignments_by_inspector ON assignments(inspector);
CREATE TABLE review_versions (
    call_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE TABLE queue_index (
    call_id    TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE DEFERRABLE,
    record_sha TEXT,
    risk       DOUBLE PRECISION NOT NULL,
    level      BIGINT NOT NULL,
    level_zh   TEXT NOT NULL DEFAULT '',
    reasons    TEXT NOT NULL DEFAULT '[]',
    at         DOUBLE PRECISION,
    reviewed   BIGINT NOT NULL DEFAULT 0,
    agent_id   TEXT,
    queue      TEXT,
    call_date  TEXT
);
CREATE INDEX queue_by_date ON queue_index(call_date, level);
CREATE INDEX queue_by_agent ON queue_index(agent_id, call_date);
CREATE INDEX queue_by_queue ON queue_index(queue, reviewed, level);
CREATE INDEX queue_by_risk ON queue_index(risk DESC, call_id);
CREATE INDEX queue_by_reviewed ON queue_index(reviewed, level);
CREATE TABLE queue_dirty (
    call_id TEXT PRIMARY KEY
);
CREATE TABLE audit (
    id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at       TEXT NOT NULL,
    "user"   TEXT NOT NULL,
    action   TEXT NOT NULL,
    call_id  TEXT,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_by_call ON audit(call_id);
CREATE TABLE notes (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    call_id    TEXT NOT NULL,
    "user"     TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_by_call ON notes(call_id);

-- The same triggers as SQLite's: calls written since the queue index saw them, the reviewed
-- flag, and the append-only audit log.
CREATE FUNCTION zhijian_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_dirty (call_id) VALUES (NEW.call_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER calls_dirty AFTER INSERT OR UPDATE ON calls
    FOR EACH ROW EXECUTE FUNCTION zhijian_mark_dirty();
CREATE FUNCTION zhijian_mark_reviewed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE queue_index SET reviewed = 1 WHERE call_id = NEW.call_id;
    RETURN NULL;
END $$;
CREATE TRIGGER verdicts_reviewed AFTER INSERT ON verdicts
    FOR EACH ROW EXECUTE FUNCTION zhijian_mark_reviewed();
CREATE TRIGGER manual_scores_reviewed AFTER INSERT ON manual_scores
    FOR EACH ROW EXECUTE FUNCTION zhijian_mark_reviewed();
CREATE FUNCTION zhijian_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION zhijian_audit_append_only();
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn every_sqlite_migration_has_a_postgres_form() {
        assert_eq!(
            super::FIRST + super::STEPS.len() as i64 - 1,
            super::super::schema_version_supported(),
            "a SQLite migration was added: add its PostgreSQL form to schema_pg::STEPS"
        );
    }
}
