//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! Append new steps; never edit a released one (databases in the field already ran it).
//! Automatic results (calls' score columns, utterances, findings, scores, item_hits) are
//! rewritten on every re-inspection; human input (verdicts, manual_scores, appeals) is only
//! ever inserted or updated by review commands, and keyed by call id and item id rather than by
//! a row of an automatic table, so re-inspection cannot orphan or erase it.

/// One migration step: SQL, or SQL followed by a Rust data step (run in the same
/// transaction).
pub enum Step {
    Sql(&'static str),
    SqlThen(
        &'static str,
        fn(&rusqlite::Transaction) -> rusqlite::Result<()>,
    ),
}

pub const MIGRATIONS: &[Step] = &[
    // 1: the initial schema.
    Step::Sql(
        r#"
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    name     TEXT
);
CREATE TABLE queues (
    name TEXT PRIMARY KEY
);
CREATE TABLE calls (
    call_id          TEXT PRIMARY KEY,
    agent_id         TEXT REFERENCES agents(agent_id),
    queue            TEXT REFERENCES queues(name),
    direction        TEXT,
    start_time       TEXT,
    -- The local date as written in start_time (YYYY-MM-DD), for period reports.
    call_date        TEXT,
    -- Seconds since 1970 (offset applied when start_time has one), for repeat callers.
    start_epoch      INTEGER,
    customer_number  TEXT,
    file             TEXT,
    sha256           TEXT,
    status           TEXT NOT NULL,
    error            TEXT,
    duration_s       REAL NOT NULL DEFAULT 0,
    card             TEXT,
    -- The automatic score (scorecard only, no human input).
    auto_score       REAL,
    max_score        REAL,
    subtotal         REAL,
    fatal            TEXT,
    review_points_at_stake REAL,
    agent_talk_s     REAL,
    customer_talk_s  REAL,
    silence_count    INTEGER,
    silence_total_s  REAL,
    overlap_count    INTEGER,
    interruptions_by_agent    INTEGER,
    interruptions_by_customer INTEGER,
    latency_mean_s   REAL,
    hangup_side      TEXT,
    hangup_source    TEXT,
    zhijian_version  TEXT,
    settings_hash    TEXT,
    inspected_at     TEXT NOT NULL
);
CREATE INDEX calls_by_date ON calls(call_date);
CREATE INDEX calls_by_agent_date ON calls(agent_id, call_date);
CREATE INDEX calls_by_customer ON calls(customer_number, start_epoch);

CREATE TABLE utterances (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    role    TEXT NOT NULL,
    start   REAL NOT NULL,
    end     REAL NOT NULL,
    text    TEXT NOT NULL,
    -- Classifier probabilities per head and label (JSON), when present.
    scores  TEXT,
    PRIMARY KEY (call_id, idx)
);
CREATE TABLE findings (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    -- silence | overlap | interruption | latency
    kind    TEXT NOT NULL,
    start   REAL NOT NULL,
    end     REAL NOT NULL,
    -- Who interrupted (interruptions only).
    role    TEXT,
    seconds REAL NOT NULL,
    PRIMARY KEY (call_id, seq)
);
-- Category scores of the automatic result.
CREATE TABLE scores (
    call_id  TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    category TEXT NOT NULL,
    max      REAL NOT NULL,
    score    REAL NOT NULL,
    deducted REAL NOT NULL,
    added    REAL NOT NULL,
    PRIMARY KEY (call_id, seq)
);
-- Scorecard lines of the automatic result: hits (kind = 'hit') and items listed for review
-- (kind = 'review': manual items and undecided conditions).
CREATE TABLE item_hits (
    call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('hit', 'review')),
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    effect      TEXT NOT NULL CHECK (effect IN ('deduct', 'add')),
    points      REAL NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 1,
    fatal       INTEGER NOT NULL DEFAULT 0,
    superseded  INTEGER NOT NULL DEFAULT 0,
    reason      TEXT,
    note        TEXT,
    first_at    REAL,
    evidence    TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (call_id, item_id, kind)
);
CREATE INDEX item_hits_by_item ON item_hits(item_id);

-- Human input. Never written by upsert_call.
CREATE TABLE verdicts (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    verdict    TEXT NOT NULL CHECK (verdict IN ('confirmed', 'rejected')),
    comment    TEXT NOT NULL DEFAULT '',
    inspector  TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX verdicts_by_call ON verdicts(call_id, item_id);
CREATE TABLE manual_scores (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    -- Points the item deducts or adds on this call (its effect); 0 = the item is fine.
    points     REAL NOT NULL CHECK (points >= 0),
    comment    TEXT NOT NULL DEFAULT '',
    inspector  TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX manual_scores_by_call ON manual_scores(call_id, item_id);
CREATE TABLE appeals (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT NOT NULL,
    -- NULL: the appeal is against the call's score as a whole.
    item_id     TEXT,
    agent_id    TEXT,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    decided_by  TEXT,
    decision_comment TEXT,
    decided_at  TEXT,
    -- For an accepted appeal against the whole call: the score the lead set.
    final_score REAL
);
CREATE INDEX appeals_by_call ON appeals(call_id);
"#,
    ),
    // 2: the lead's monthly ledger (seed 003: praise, justified complaints, test-call results
    // entered by hand; their points come from rules/monthly/*.toml when the month is computed).
    Step::Sql(
        r#"
CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY,
    agent_id   TEXT NOT NULL,
    -- YYYY-MM
    month      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    entered_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX ledger_by_agent_month ON ledger(agent_id, month);
"#,
    ),
    // 3: call identity (content key, switch id, display name, raw path bytes), the scored
    // result itself (input of the final score) and the whole record (input of `rescore`),
    // and the hash that makes re-importing the same result a no-op.
    Step::SqlThen(
        r#"
ALTER TABLE calls ADD COLUMN switch_call_id TEXT;
ALTER TABLE calls ADD COLUMN display_name TEXT;
ALTER TABLE calls ADD COLUMN file_raw TEXT;
ALTER TABLE calls ADD COLUMN record_sha TEXT;
ALTER TABLE calls ADD COLUMN score_json TEXT;
-- The hex part of the key (content + switch id): a renamed file is the same call.
ALTER TABLE calls ADD COLUMN call_key TEXT;
CREATE INDEX calls_by_sha ON calls(sha256);
CREATE INDEX calls_by_key ON calls(call_key);
CREATE TABLE records (
    call_id TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE,
    json    TEXT NOT NULL
);
"#,
        super::legacy::fill_score_json,
    ),
    // 4: the web workbench (`zhijian serve`): users and their sessions, claims (a short lease
    // so two inspectors see each other on a call), assignments, a per-call review version
    // (optimistic concurrency), the queue index the workbench keeps from stored records, and
    // the audit log, which triggers make append-only.
    Step::Sql(
        r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('inspector', 'lead', 'agent', 'admin')),
    agent_id      TEXT,
    pw_hash       TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    -- Seconds since 1970; logins are refused until then (after repeated failures).
    locked_until  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE TABLE sessions (
    -- SHA-256 of the cookie value: a copy of the database does not hand out sessions.
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE TABLE claims (
    call_id TEXT PRIMARY KEY,
    user    TEXT NOT NULL,
    until   INTEGER NOT NULL
);
CREATE TABLE assignments (
    call_id     TEXT PRIMARY KEY,
    inspector   TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE INDEX assignments_by_inspector ON assignments(inspector);
-- Bumped by every human change to a call; a form carries the version it was made on.
CREATE TABLE review_versions (
    call_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE queue_index (
    call_id    TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE,
    record_sha TEXT,
    risk       REAL NOT NULL,
    level      INTEGER NOT NULL,
    level_zh   TEXT NOT NULL DEFAULT '',
    reasons    TEXT NOT NULL DEFAULT '[]',
    at         REAL,
    -- Any verdict or manual score (kept by the triggers below and by the indexer).
    reviewed   INTEGER NOT NULL DEFAULT 0,
    -- Copies of the call's filter columns: the queue's filters and count stay in this narrow
    -- table instead of reading the wide calls rows.
    agent_id   TEXT,
    queue      TEXT,
    call_date  TEXT
);
CREATE INDEX queue_by_date ON queue_index(call_date, level);
CREATE INDEX queue_by_agent ON queue_index(agent_id, call_date);
CREATE INDEX queue_by_queue ON queue_index(queue, reviewed, level);
CREATE INDEX queue_by_risk ON queue_index(risk DESC, call_id);
-- Calls written since the queue index last saw them (kept by triggers, so finding them does
-- not scan every call).
CREATE TABLE queue_dirty (
    call_id TEXT PRIMARY KEY
);
INSERT INTO queue_dirty SELECT call_id FROM calls;
-- (No OR IGNORE: the outer statement's conflict policy would override it.)
CREATE TRIGGER calls_dirty_insert AFTER INSERT ON calls
BEGIN INSERT INTO queue_dirty SELECT NEW.call_id
      WHERE NOT EXISTS (SELECT 1 FROM queue_dirty WHERE call_id = NEW.call_id); END;
CREATE TRIGGER calls_dirty_update AFTER UPDATE ON calls
BEGIN INSERT INTO queue_dirty SELECT NEW.call_id
      WHERE NOT EXISTS (SELECT 1 FROM queue_dirty WHERE call_id = NEW.call_id); END;
CREATE TRIGGER verdicts_reviewed AFTER INSERT ON verdicts
BEGIN UPDATE queue_index SET reviewed = 1 WHERE call_id = NEW.call_id; END;
CREATE TRIGGER manual_scores_reviewed AFTER INSERT ON manual_scores
BEGIN UPDATE queue_index SET reviewed = 1 WHERE call_id = NEW.call_id; END;
CREATE INDEX queue_by_reviewed ON queue_index(reviewed, level);
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    user     TEXT NOT NULL,
    action   TEXT NOT NULL,
    call_id  TEXT,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_by_call ON audit(call_id);
-- Coaching notes an inspector leaves for the agent.
CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL,
    user       TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_by_call ON notes(call_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX item_hits_by_severity ON item_hits(severity, kind, call_id);
CREATE INDEX item_hits_fatal ON item_hits(call_id) WHERE fatal = 1 AND kind = 'hit';
CREATE INDEX calls_by_queue_date ON calls(queue, call_date);
"#,
    ),
];
