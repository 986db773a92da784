-- Notes are written before anything else happens to them, in their own transaction, so a
-- crash, a killed process or a failing engine never loses what the technician typed.
CREATE TABLE notes (
    id             INTEGER PRIMARY KEY,
    created_at     TEXT    NOT NULL,
    source_kind    TEXT    NOT NULL,
    source_name    TEXT    NOT NULL,
    source_path    TEXT,
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    original_bytes INTEGER NOT NULL,
    est_tokens     INTEGER NOT NULL,
    encoding       TEXT    NOT NULL,
    pages          INTEGER,
    notices        TEXT    NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX notes_content_hash ON notes (content_hash);
CREATE INDEX notes_created_at ON notes (created_at);

CREATE TABLE summaries (
    id             INTEGER PRIMARY KEY,
    note_id        INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    request_id     TEXT    NOT NULL UNIQUE,
    created_at     TEXT    NOT NULL,
    style          TEXT    NOT NULL,
    max_words      INTEGER NOT NULL,
    route          TEXT    NOT NULL,
    engine         TEXT    NOT NULL,
    model_id       TEXT,
    model_version  TEXT,
    prompt_version TEXT    NOT NULL,
    body           TEXT    NOT NULL
) STRICT;
CREATE INDEX summaries_note_id ON summaries (note_id);

-- One row per request, failures included. Written in the same transaction as the summary.
CREATE TABLE ledger (
    id                INTEGER PRIMARY KEY,
    request_id        TEXT    NOT NULL UNIQUE,
    created_at        TEXT    NOT NULL,
    note_id           INTEGER REFERENCES notes (id) ON DELETE SET NULL,
    note_hash         TEXT,
    input_bytes       INTEGER NOT NULL,
    input_tokens      INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,
    route             TEXT,
    reasons           TEXT    NOT NULL,  -- JSON [{code, detail}]
    engine            TEXT,
    model_id          TEXT,
    model_version     TEXT,
    prompt_version    TEXT,
    style             TEXT    NOT NULL,
    max_words         INTEGER NOT NULL,
    t_ingest_ms       REAL    NOT NULL,
    t_save_note_ms    REAL    NOT NULL,
    t_route_ms        REAL    NOT NULL,
    t_generate_ms     REAL    NOT NULL,
    t_store_ms        REAL    NOT NULL,
    t_total_ms        REAL    NOT NULL,
    quality_passed    INTEGER,
    quality_checks    TEXT,              -- JSON [{name, passed, detail}]
    status            TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
    error_code        TEXT,
    error             TEXT,
    outcome           TEXT    NOT NULL DEFAULT 'pending',
    power             TEXT,              -- JSON snapshot (power manager)
    connectivity      TEXT,              -- JSON snapshot (connectivity monitor)
    cost              REAL,
    energy_wh         REAL
) STRICT;
CREATE INDEX ledger_created_at ON ledger (created_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Full-text search over notes and summaries. External-content tables kept in step by
-- triggers, so the text is stored once.
CREATE VIRTUAL TABLE notes_fts USING fts5 (
    title, body, content = 'notes', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE OF title, body ON notes BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO notes_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE VIRTUAL TABLE summaries_fts USING fts5 (
    body, content = 'summaries', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER summaries_fts_insert AFTER INSERT ON summaries BEGIN
    INSERT INTO summaries_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER summaries_fts_delete AFTER DELETE ON summaries BEGIN
    INSERT INTO summaries_fts (summaries_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER summaries_fts_update AFTER UPDATE OF body ON summaries BEGIN
    INSERT INTO summaries_fts (summaries_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO summaries_fts (rowid, body) VALUES (new.id, new.body);
END;
