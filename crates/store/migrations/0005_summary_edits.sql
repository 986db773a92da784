-- A summary the technician corrected: `body` holds their text (shown, exported and searched,
-- through the FTS update trigger), and the engine's own first text is kept in `original_body`
-- (NULL while never edited), so evaluations can still compare what the engine wrote.
ALTER TABLE summaries ADD COLUMN original_body TEXT;
ALTER TABLE summaries ADD COLUMN edited_at TEXT;
