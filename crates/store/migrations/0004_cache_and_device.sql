-- The offline response cache. An entry is served again only for the same key (the note's
-- content hash, style, length, producer — engine, model id, version, quantization, sampling —
-- and prompt version: see fieldbrief_core::cache). Near-duplicates are found through the LSH
-- buckets of the note's MinHash signature and only ever offered. Entries are evicted least
-- recently used first when the cache is over its size cap.
CREATE TABLE cache (
    id             INTEGER PRIMARY KEY,
    key            TEXT    NOT NULL UNIQUE,
    note_hash      TEXT    NOT NULL,
    -- Deleting the note deletes what the cache kept of it (its summary, title and signature).
    note_id        INTEGER REFERENCES notes (id) ON DELETE CASCADE,
    note_title     TEXT    NOT NULL,
    style          TEXT    NOT NULL,
    max_words      INTEGER NOT NULL,
    producer       TEXT    NOT NULL,
    prompt_version TEXT    NOT NULL,
    route          TEXT    NOT NULL,
    engine         TEXT    NOT NULL,
    model_id       TEXT,
    model_version  TEXT,
    request_id     TEXT    NOT NULL,
    summary        TEXT    NOT NULL,
    signature      BLOB    NOT NULL,
    created_at     TEXT    NOT NULL,
    last_used_at   TEXT    NOT NULL,
    hits           INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX cache_lru ON cache (last_used_at, id);
CREATE INDEX cache_request ON cache (request_id);
CREATE INDEX cache_note ON cache (note_id);

-- Which entry answered each request served from the cache: rejecting any summary the cache
-- served forgets the entry it came from.
CREATE TABLE cache_served (
    request_id TEXT    PRIMARY KEY,
    entry      INTEGER NOT NULL REFERENCES cache (id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX cache_served_entry ON cache_served (entry);

CREATE TABLE cache_buckets (
    bucket INTEGER NOT NULL,
    entry  INTEGER NOT NULL REFERENCES cache (id) ON DELETE CASCADE,
    PRIMARY KEY (bucket, entry)
) STRICT, WITHOUT ROWID;
CREATE INDEX cache_buckets_entry ON cache_buckets (entry);

-- The device a request ran on, for the report's grouping: a coarse class ("gpu, 16 GiB,
-- battery") and the detail as JSON (compute, RAM, VRAM, on battery).
ALTER TABLE ledger ADD COLUMN device_class TEXT;
ALTER TABLE ledger ADD COLUMN device TEXT;

-- A refinement being sent holds a lease on its job, so two runners (the app's and a CLI's)
-- never send the same note twice; a lease left by a killed process expires.
ALTER TABLE deferred ADD COLUMN claimed_until TEXT;
