-- A deleted note leaves no text behind. FTS5 normally records a deletion as a marker and keeps
-- the old terms in earlier index segments until a merge; 'secure-delete' removes them at once.
-- 'optimize' merges what older versions left. (The pages SQLite frees are zeroed by
-- `PRAGMA secure_delete`, set on every connection.)
INSERT INTO notes_fts (notes_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO summaries_fts (summaries_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO notes_fts (notes_fts) VALUES ('optimize');
INSERT INTO summaries_fts (summaries_fts) VALUES ('optimize');
