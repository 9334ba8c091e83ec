//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! Append new steps; never edit a released one (databases in the field already ran it).
//! Automatic results (calls' score columns, utterances, findings, scores, item_hits) are
//! rewritten on every re-inspection; human input (verdicts, manual_scores, appeals) is only
//! ever inserted or updated by review commands, and keyed by call id and item id rather than by
//! a row of an automatic table, so re-inspection cannot orphan or erase it.

pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
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
    // 2: the lead's monthly ledger (seed 003: praise, justified complaints, test-call results
    // entered by hand; their points come from rules/monthly/*.toml when the month is computed).
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
];
