-- The same traffic as `rollups`, merged per hour as each batch is written, so charts over days
-- read 24 rows a day instead of 1440. `minute` is the hour's start. Nothing is backfilled: reads
-- take the time before an app's first hourly row from `rollups`.
CREATE TABLE rollups_hourly (
    app            TEXT    NOT NULL,
    process_type   TEXT    NOT NULL,
    minute         INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    status_1xx     INTEGER NOT NULL,
    status_2xx     INTEGER NOT NULL,
    status_3xx     INTEGER NOT NULL,
    status_4xx     INTEGER NOT NULL,
    status_5xx     INTEGER NOT NULL,
    service_sketch BLOB NOT NULL,
    connect_sketch BLOB NOT NULL,
    errors         TEXT    NOT NULL,
    queue_sketch   BLOB,
    PRIMARY KEY (app, process_type, minute)
);
CREATE INDEX rollups_hourly_minute ON rollups_hourly (minute);
