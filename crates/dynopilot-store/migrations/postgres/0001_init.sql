-- dynopilot store schema (Postgres). Timestamps are integer epoch milliseconds.

-- Per-dyno runtime metrics. span_ms = 0 marks a raw sample; downsampled rows cover span_ms
-- (300000 = five minutes) starting at `at` and stand for sample_count raw samples.
CREATE TABLE samples (
    app             TEXT    NOT NULL,
    dyno            TEXT    NOT NULL,
    process_type    TEXT    NOT NULL,
    instance_id     TEXT,
    at              BIGINT  NOT NULL,
    span_ms         BIGINT  NOT NULL DEFAULT 0,
    sample_count    BIGINT  NOT NULL DEFAULT 1,
    memory_total_mb DOUBLE PRECISION,
    memory_rss_mb   DOUBLE PRECISION,
    memory_swap_mb  DOUBLE PRECISION,
    memory_quota_mb DOUBLE PRECISION,
    load_1m         DOUBLE PRECISION
);
CREATE INDEX samples_app_dyno_at ON samples (app, dyno, at);
CREATE INDEX samples_app_type_at ON samples (app, process_type, at);
CREATE INDEX samples_at ON samples (at);

-- Router traffic per (app, process type, minute); sketches are LatencySketch::to_bytes.
CREATE TABLE rollups (
    app            TEXT    NOT NULL,
    process_type   TEXT    NOT NULL,
    minute         BIGINT  NOT NULL,
    requests       BIGINT  NOT NULL,
    status_1xx     BIGINT  NOT NULL,
    status_2xx     BIGINT  NOT NULL,
    status_3xx     BIGINT  NOT NULL,
    status_4xx     BIGINT  NOT NULL,
    status_5xx     BIGINT  NOT NULL,
    service_sketch BYTEA   NOT NULL,
    connect_sketch BYTEA   NOT NULL,
    errors         TEXT    NOT NULL,
    PRIMARY KEY (app, process_type, minute)
);
CREATE INDEX rollups_minute ON rollups (minute);

CREATE TABLE decisions (
    id       TEXT    PRIMARY KEY,
    app      TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    kind     TEXT    NOT NULL,
    executed BOOLEAN NOT NULL,
    dry_run  BOOLEAN NOT NULL,
    reason   TEXT    NOT NULL,
    decision TEXT    NOT NULL
);
CREATE INDEX decisions_app_at ON decisions (app, at);

CREATE TABLE actions (
    decision_id TEXT    NOT NULL REFERENCES decisions (id),
    attempt     BIGINT  NOT NULL,
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT ,
    outcome     TEXT    NOT NULL,
    error       TEXT,
    PRIMARY KEY (decision_id, attempt)
);
CREATE INDEX actions_started_at ON actions (started_at);

CREATE TABLE events (
    id      BIGSERIAL PRIMARY KEY,
    app     TEXT    NOT NULL,
    at      BIGINT  NOT NULL,
    kind    TEXT    NOT NULL,
    message TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX events_app_at ON events (app, at);

CREATE TABLE policy_state (
    app        TEXT    PRIMARY KEY,
    updated_at BIGINT  NOT NULL,
    state      TEXT    NOT NULL
);
