-- Reconciliation at start reads the actions whose attempt has no outcome yet and the decisions
-- journaled as executable; these partial indexes keep both reads small however long the
-- journal grows. Outcomes are plain text: `unknown` and `abandoned` need no schema change.
CREATE INDEX actions_open ON actions (decision_id)
    WHERE outcome NOT IN ('ok', 'failed', 'skipped', 'abandoned');
CREATE INDEX decisions_app_executed ON decisions (app, at) WHERE executed;
