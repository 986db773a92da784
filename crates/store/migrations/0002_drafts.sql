-- What the technician is typing, saved as they type (the app autosaves every few seconds),
-- so a crash or a power cut never loses it. A draft becomes a note when it is summarized.
CREATE TABLE drafts (
    id         INTEGER PRIMARY KEY,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
) STRICT;
