-- Note text is stored in Unicode NFC with typographic ligatures spelled out (see
-- fieldbrief_core::normalize::canonical). The rows written before are rewritten by this
-- migration's hook in Rust (SQLite has no normaliser); the FTS triggers re-index what changes.
-- This statement only marks the step.
SELECT 1;
