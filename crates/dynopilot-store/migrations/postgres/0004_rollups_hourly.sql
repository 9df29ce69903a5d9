-- The same traffic as `rollups`, merged per hour as each batch is written, so charts over days
-- read 24 rows a day instead of 1440. `minute` is the hour's start. Nothing is backfilled: reads
-- take the time before an app's first hourly row from `rollups`.
CREATE TABLE rollups_hourly (
    app            TEXT    NOT NULL,
    process_type   TEXT    NOT NULL,
    minute         BIGINT NOT NULL,
    requests       BIGINT NOT NULL,
    status_1xx     BIGINT NOT NULL,
    status_2xx     BIGINT NOT NULL,
    status_3xx     BIGINT NOT NULL,
    status_4xx     BIGINT NOT NULL,
    status_5xx     BIGINT NOT NULL,
    service_sketch BYTEA NOT NULL,
    connect_sketch BYTEA NOT NULL,
    errors         TEXT    NOT NULL,
    queue_sketch   BYTEA,
    PRIMARY KEY (app, process_type, minute)
);
CREATE INDEX rollups_hourly_minute ON rollups_hourly (minute);
