-- Chart queries read every dyno of one app over a time range (memory peaks per bucket).
CREATE INDEX samples_app_at ON samples (app, at);
