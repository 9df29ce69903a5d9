-- The alert delivery journal: one row per (alert event, channel). A row is written `pending`
-- before the channel is called, so a restart resumes it; once `sent` it is never sent again.
-- `dropped_by_cooling` rows record what cooling held back. `event` is the alert as JSON.
-- Numbered after the issue (14) so parallel migrations of other features never collide.
CREATE TABLE alert_deliveries (
    event_id        TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    app             TEXT    NOT NULL,
    topic           TEXT    NOT NULL,
    decision_id     TEXT,
    state           TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL,
    next_attempt_at BIGINT,
    last_error      TEXT,
    receipt         TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    event           TEXT    NOT NULL,
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX alert_deliveries_app ON alert_deliveries (app, created_at);
