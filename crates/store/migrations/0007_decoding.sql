-- How the local model's tokens came: time to the first token, and speculative decoding's
-- guesses from the note and how many were right.
ALTER TABLE ledger ADD COLUMN t_first_token_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN drafted_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN accepted_drafts INTEGER NOT NULL DEFAULT 0;
