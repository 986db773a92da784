-- Where each request's length target (`max_words`) came from: `request` (asked for with this
-- request), `settings` (the configured length) or `note` (the default, scaled to the note's
-- length). NULL for rows written before the target scaled with the note.
ALTER TABLE ledger ADD COLUMN length_from TEXT;
