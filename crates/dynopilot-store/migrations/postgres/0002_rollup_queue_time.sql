-- App-reported request queue time (l2met `queue_time` metrics; Heroku router lines carry none),
-- as a LatencySketch per rollup. NULL means no queue time was reported in that minute, which is
-- also what every row written before this migration says.
ALTER TABLE rollups ADD COLUMN queue_sketch BYTEA;
