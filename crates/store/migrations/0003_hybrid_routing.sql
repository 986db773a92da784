-- A note marked "keep on this device" never goes to the cloud, whatever the settings say, and
-- neither does any refinement queued for it.
ALTER TABLE notes ADD COLUMN keep_on_device INTEGER NOT NULL DEFAULT 0;

-- The power mode a request ran under (for the report's grouping; the whole snapshot is in
-- `power`), and what the cloud counted when it was used.
ALTER TABLE ledger ADD COLUMN power_mode TEXT;
ALTER TABLE ledger ADD COLUMN cloud_input_tokens INTEGER;
ALTER TABLE ledger ADD COLUMN cloud_output_tokens INTEGER;

-- Cloud refinements queued while offline: run when the endpoint is reachable again, surviving
-- restarts. A job ends 'done' (with the request that refined it) or 'dropped' (with why: the
-- note was deleted or marked "keep on this device", or cloud escalation was switched off).
CREATE TABLE deferred (
    id              INTEGER PRIMARY KEY,
    note_id         INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    request_id      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    style           TEXT    NOT NULL,
    max_words       INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    done_request_id TEXT
) STRICT;
CREATE INDEX deferred_state ON deferred (state, id);
