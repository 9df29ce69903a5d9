-- dynopilot store schema (SQLite). Timestamps are integer epoch milliseconds.

-- Per-dyno runtime metrics. span_ms = 0 marks a raw sample; downsampled rows cover span_ms
-- (300000 = five minutes) starting at `at` and stand for sample_count raw samples.
CREATE TABLE samples (
    app             TEXT    NOT NULL,
    dyno            TEXT    NOT NULL,
    process_type    TEXT    NOT NULL,
    instance_id     TEXT,
    at              INTEGER NOT NULL,
    span_ms         INTEGER NOT NULL DEFAULT 0,
    sample_count    INTEGER NOT NULL DEFAULT 1,
    memory_total_mb REAL,
    memory_rss_mb   REAL,
    memory_swap_mb  REAL,
    memory_quota_mb REAL,
    load_1m         REAL
);
CREATE INDEX samples_app_dyno_at ON samples (app, dyno, at);
CREATE INDEX samples_app_type_at ON samples (app, process_type, at);
CREATE INDEX samples_at ON samples (at);

-- Router traffic per (app, process type, minute); sketches are LatencySketch::to_bytes.
CREATE TABLE rollups (
    app            TEXT    NOT NULL,
    process_type   TEXT    NOT NULL,
    minute         INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    status_1xx     INTEGER NOT NULL,
    status_2xx     INTEGER NOT NULL,
    status_3xx     INTEGER NOT NULL,
    status_4xx     INTEGER NOT NULL,
    status_5xx     INTEGER NOT NULL,
    service_sketch BLOB    NOT NULL,
    connect_sketch BLOB    NOT NULL,
    errors         TEXT    NOT NULL,
    PRIMARY KEY (app, process_type, minute)
);
CREATE INDEX rollups_minute ON rollups (minute);

CREATE TABLE decisions (
    id       TEXT    PRIMARY KEY,
    app      TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    executed BOOLEAN NOT NULL,
    dry_run  BOOLEAN NOT NULL,
    reason   TEXT    NOT NULL,
    decision TEXT    NOT NULL
);
CREATE INDEX decisions_app_at ON decisions (app, at);

CREATE TABLE actions (
    decision_id TEXT    NOT NULL REFERENCES decisions (id),
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT    NOT NULL,
    error       TEXT,
    PRIMARY KEY (decision_id, attempt)
);
CREATE INDEX actions_started_at ON actions (started_at);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    app     TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    message TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX events_app_at ON events (app, at);

CREATE TABLE policy_state (
    app        TEXT    PRIMARY KEY,
    updated_at INTEGER NOT NULL,
    state      TEXT    NOT NULL
);
