//! The store: Fieldbrief's one SQLite database (notes, summaries, full-text history, the
//! ledger, settings). No SQL leaves this crate; callers get plain structs.
//!
//! Durability rules:
//! - WAL mode with `synchronous = FULL`: a committed note survives a killed process and a
//!   power cut, and readers (the app, a CLI in another terminal) never block the writer.
//! - The note is committed on its own ([`Store::insert_note`]) before any engine runs.
//! - A summary and its ledger row commit together ([`Store::record_summary`]), so the ledger
//!   never counts a summary that is not there, nor misses one that is.
//! - Schema changes are numbered migrations in `migrations/`, applied on open and tested from
//!   an empty file.

mod cache;

pub use cache::{CacheEntry, CacheStats, NewCacheEntry, Similar};

use fieldbrief_core::engine::{LengthFrom, ModelRef};
use fieldbrief_core::ledger::{CloudTokens, Entry, Outcome, Status, Timings};
use fieldbrief_core::quality::Verdict;
use fieldbrief_core::route::{Reason, Route};
use fieldbrief_core::segment::estimate_tokens;
use fieldbrief_core::{Document, Style};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema's migrations, in order. Most are SQL; a step that needs Rust (a Unicode rewrite)
/// carries a hook.
fn migrations() -> Vec<M<'static>> {
    vec![
        M::up(include_str!("../migrations/0001_initial.sql")),
        M::up(include_str!("../migrations/0002_drafts.sql")),
        M::up(include_str!("../migrations/0003_hybrid_routing.sql")),
        M::up(include_str!("../migrations/0004_cache_and_device.sql")),
        M::up(include_str!("../migrations/0005_summary_edits.sql")),
        M::up(include_str!("../migrations/0006_length_target.sql")),
        M::up(include_str!("../migrations/0007_decoding.sql")),
        M::up(include_str!("../migrations/0008_secure_delete.sql")),
        M::up_with_hook(include_str!("../migrations/0009_nfc.sql"), canonical_text),
    ]
}

/// The schema version a fully migrated database has (a unit test keeps it equal to the number
/// of migrations).
pub const SCHEMA_VERSION: usize = 9;

/// Migration 9: every stored text in canonical form (NFC, ligatures spelled out), the content
/// hash of each note recomputed from it. Only rows that change are written.
fn canonical_text(tx: &rusqlite::Transaction) -> rusqlite_migration::HookResult {
    use fieldbrief_core::normalize::canonical;
    use std::borrow::Cow;
    let rewrite = |select: &str, update: &str, hash: bool| -> rusqlite::Result<()> {
        let rows: Vec<(i64, Vec<Option<String>>)> = {
            let mut stmt = tx.prepare(select)?;
            let n = stmt.column_count();
            stmt.query_map([], |r| {
                Ok((r.get(0)?, (1..n).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut update = tx.prepare(update)?;
        for (id, texts) in rows {
            let changed: Vec<Option<Cow<str>>> =
                texts.iter().map(|t| t.as_deref().map(canonical)).collect();
            if changed.iter().flatten().all(|c| matches!(c, Cow::Borrowed(_))) {
                continue;
            }
            let mut values: Vec<Option<String>> =
                changed.into_iter().map(|c| c.map(Cow::into_owned)).collect();
            if hash {
                values.push(values[0].as_deref().map(fieldbrief_core::document::content_hash));
            }
            let mut params: Vec<&dyn rusqlite::ToSql> =
                values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            params.push(&id);
            update.execute(params.as_slice())?;
        }
        Ok(())
    };
    rewrite(
        "SELECT id, body, title FROM notes",
        "UPDATE notes SET body = ?1, title = ?2, content_hash = ?3 WHERE id = ?4",
        true,
    )?;
    rewrite(
        "SELECT id, body, original_body FROM summaries",
        "UPDATE summaries SET body = ?1, original_body = ?2 WHERE id = ?3",
        false,
    )?;
    rewrite("SELECT id, body FROM drafts", "UPDATE drafts SET body = ?1 WHERE id = ?2", false)?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("opening database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("making database {path} private to its owner: {source}")]
    Private { path: PathBuf, source: std::io::Error },
    #[error("upgrading database {path}: {source}")]
    Migrate { path: PathBuf, source: rusqlite_migration::Error },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database holds data this version cannot read: {0}")]
    Decode(String),
    #[error("search: {0}")]
    BadQuery(String),
}

pub type Result<T> = std::result::Result<T, Error>;

pub struct Store {
    conn: Connection,
}

/// A note as listed in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoteListItem {
    pub id: i64,
    pub created_at: String,
    pub title: String,
    pub source_kind: String,
    pub source_name: String,
    pub words: usize,
    pub summaries: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SummaryRecord {
    pub id: i64,
    pub request_id: String,
    pub created_at: String,
    pub style: String,
    pub route: String,
    pub engine: String,
    pub model: Option<ModelRef>,
    pub prompt_version: String,
    /// The summary as it stands: the technician's edit, if they made one.
    pub text: String,
    /// What the engine wrote, when the technician edited it.
    pub original_text: Option<String>,
    pub edited_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoteRecord {
    pub id: i64,
    pub created_at: String,
    pub title: String,
    pub source_kind: String,
    pub source_name: String,
    pub source_path: Option<String>,
    pub content_hash: String,
    pub original_bytes: u64,
    pub est_tokens: usize,
    pub encoding: String,
    pub pages: Option<u32>,
    pub notices: Vec<String>,
    pub text: String,
    /// Never sent to the cloud, whatever the settings say.
    pub keep_on_device: bool,
    pub summaries: Vec<SummaryRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    pub note_id: i64,
    pub title: String,
    pub created_at: String,
    /// Where the best match was: `"note"` or `"summary"`.
    pub matched_in: String,
    /// Matching text with the hits in `[brackets]`.
    pub snippet: String,
}

/// A cloud refinement waiting for the network (or finished).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeferredJob {
    pub id: i64,
    pub note_id: i64,
    pub note_title: String,
    /// The request that queued it.
    pub request_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub style: String,
    pub max_words: usize,
    /// `pending`, `done` or `dropped`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub done_request_id: Option<String>,
}

/// A summary to store with its ledger entry.
#[derive(Debug, Clone)]
pub struct NewSummary<'a> {
    pub note_id: i64,
    pub route: Route,
    pub engine: &'a str,
    pub text: &'a str,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// Opens (creating if needed) the database at `path`, readable by its owner alone (its WAL
    /// and shared-memory files take the same permissions from it).
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |source| Error::Open { path: path.to_path_buf(), source };
        owner_only(path).map_err(|e| Error::Private { path: path.to_path_buf(), source: e })?;
        let mut conn = Connection::open(path).map_err(open_err)?;
        configure(&conn).map_err(open_err)?;
        Migrations::new(migrations())
            .to_latest(&mut conn)
            .map_err(|source| Error::Migrate { path: path.to_path_buf(), source })?;
        Ok(Store { conn })
    }

    pub fn open_in_memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        Migrations::new(migrations())
            .to_latest(&mut conn)
            .map_err(|source| Error::Migrate { path: PathBuf::from(":memory:"), source })?;
        Ok(Store { conn })
    }

    pub fn schema_version(&self) -> Result<usize> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize)
    }

    /// Saves a note and returns its id. Commits before returning.
    pub fn insert_note(&self, doc: &Document, created_at: &str) -> Result<i64> {
        self.insert_note_kept(doc, created_at, false)
    }

    /// Saves a note, marked "keep on this device" when `keep_on_device`, in one statement: a
    /// note is never on disk without its privacy flag.
    pub fn insert_note_kept(
        &self,
        doc: &Document,
        created_at: &str,
        keep_on_device: bool,
    ) -> Result<i64> {
        let notices =
            serde_json::to_string(&doc.notices).map_err(|e| Error::Decode(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO notes (created_at, source_kind, source_name, source_path, title, body, content_hash,
                                original_bytes, est_tokens, encoding, pages, notices, keep_on_device)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                created_at,
                doc.kind.as_str(),
                doc.name,
                doc.path,
                doc.title(),
                doc.text,
                doc.content_hash(),
                doc.original_bytes as i64,
                estimate_tokens(&doc.text) as i64,
                doc.encoding,
                doc.pages,
                notices,
                keep_on_device,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Stores a summary and its ledger entry in one transaction.
    pub fn record_summary(&mut self, summary: &NewSummary<'_>, entry: &Entry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO summaries (note_id, request_id, created_at, style, max_words, route, engine, model_id,
                                    model_version, prompt_version, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                summary.note_id,
                entry.request_id,
                entry.created_at,
                entry.style.as_str(),
                entry.max_words as i64,
                summary.route.as_str(),
                summary.engine,
                entry.model.as_ref().map(|m| &m.id),
                entry.model.as_ref().map(|m| &m.version),
                entry.prompt_version.as_deref().unwrap_or(""),
                summary.text,
            ],
        )?;
        let id = tx.last_insert_rowid();
        insert_entry(&tx, entry)?;
        tx.commit()?;
        Ok(id)
    }

    /// Records a request that produced no summary.
    pub fn record_failure(&self, entry: &Entry) -> Result<()> {
        insert_entry(&self.conn, entry)
    }

    /// Notes, newest first.
    pub fn list_notes(&self, limit: usize, offset: usize) -> Result<Vec<NoteListItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT n.id, n.created_at, n.title, n.source_kind, n.source_name, n.body,
                    (SELECT count(*) FROM summaries s WHERE s.note_id = n.id)
             FROM notes n ORDER BY n.created_at DESC, n.id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], |r| {
            Ok(NoteListItem {
                id: r.get(0)?,
                created_at: r.get(1)?,
                title: r.get(2)?,
                source_kind: r.get(3)?,
                source_name: r.get(4)?,
                words: r.get::<_, String>(5)?.split_whitespace().count(),
                summaries: r.get::<_, i64>(6)? as usize,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn note(&self, id: i64) -> Result<Option<NoteRecord>> {
        let note = self
            .conn
            .query_row(
                "SELECT id, created_at, title, source_kind, source_name, source_path, content_hash, original_bytes,
                        est_tokens, encoding, pages, notices, body, keep_on_device
                 FROM notes WHERE id = ?1",
                [id],
                |r| {
                    Ok(NoteRecord {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        title: r.get(2)?,
                        source_kind: r.get(3)?,
                        source_name: r.get(4)?,
                        source_path: r.get(5)?,
                        content_hash: r.get(6)?,
                        original_bytes: r.get::<_, i64>(7)? as u64,
                        est_tokens: r.get::<_, i64>(8)? as usize,
                        encoding: r.get(9)?,
                        pages: r.get(10)?,
                        notices: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                        text: r.get(12)?,
                        keep_on_device: r.get(13)?,
                        summaries: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut note) = note else { return Ok(None) };
        let mut stmt = self.conn.prepare(
            "SELECT id, request_id, created_at, style, route, engine, model_id, model_version, prompt_version, body,
                    original_body, edited_at
             FROM summaries WHERE note_id = ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([id], |r| {
            let model = match (r.get::<_, Option<String>>(6)?, r.get::<_, Option<String>>(7)?) {
                (Some(id), Some(version)) => Some(ModelRef { id, version }),
                _ => None,
            };
            Ok(SummaryRecord {
                id: r.get(0)?,
                request_id: r.get(1)?,
                created_at: r.get(2)?,
                style: r.get(3)?,
                route: r.get(4)?,
                engine: r.get(5)?,
                model,
                prompt_version: r.get(8)?,
                text: r.get(9)?,
                original_text: r.get(10)?,
                edited_at: r.get(11)?,
            })
        })?;
        note.summaries = rows.collect::<rusqlite::Result<_>>()?;
        Ok(Some(note))
    }

    /// Full-text search over notes and their summaries; one hit per note, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let fts = fts_query(query)?;
        let mut stmt = self.conn.prepare(
            "SELECT n.id, n.title, n.created_at, 'note', snippet(notes_fts, 1, '[', ']', '…', 12), bm25(notes_fts) AS score
               FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid WHERE notes_fts MATCH ?1
             UNION ALL
             SELECT n.id, n.title, n.created_at, 'summary', snippet(summaries_fts, 0, '[', ']', '…', 12), bm25(summaries_fts)
               FROM summaries_fts JOIN summaries s ON s.id = summaries_fts.rowid JOIN notes n ON n.id = s.note_id
              WHERE summaries_fts MATCH ?1
             ORDER BY score",
        )?;
        let rows = stmt.query_map([&fts], |r| {
            Ok(SearchHit {
                note_id: r.get(0)?,
                title: r.get(1)?,
                created_at: r.get(2)?,
                matched_in: r.get(3)?,
                snippet: r.get(4)?,
            })
        })?;
        let mut hits: Vec<SearchHit> = Vec::new();
        for hit in rows {
            let hit = hit?;
            if !hits.iter().any(|h| h.note_id == hit.note_id) {
                hits.push(hit);
                if hits.len() == limit {
                    break;
                }
            }
        }
        Ok(hits)
    }

    /// Ledger entries, oldest first, optionally from `since` (an RFC 3339 date or time) on.
    pub fn ledger(&self, since: Option<&str>) -> Result<Vec<Entry>> {
        self.ledger_where("created_at >= ?1", since.unwrap_or(""))
    }

    /// The ledger entry of one request, if there is one.
    pub fn ledger_entry(&self, request_id: &str) -> Result<Option<Entry>> {
        Ok(self.ledger_where("request_id = ?1", request_id)?.pop())
    }

    fn ledger_where(&self, condition: &str, value: &str) -> Result<Vec<Entry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT request_id, created_at, note_id, note_hash, input_bytes, input_tokens, output_tokens, route,
                    reasons, engine, model_id, model_version, prompt_version, style, max_words, t_ingest_ms,
                    t_save_note_ms, t_route_ms, t_generate_ms, t_store_ms, t_total_ms, quality_checks,
                    quality_passed, status, error_code, error, outcome, power, connectivity, cost, energy_wh,
                    power_mode, cloud_input_tokens, cloud_output_tokens, device_class, device, length_from,
                    t_first_token_ms, drafted_tokens, accepted_drafts
             FROM ledger WHERE {condition} ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([value], |r| {
            Ok(RawEntry {
                request_id: r.get(0)?,
                created_at: r.get(1)?,
                note_id: r.get(2)?,
                note_hash: r.get(3)?,
                input_bytes: r.get(4)?,
                input_tokens: r.get(5)?,
                output_tokens: r.get(6)?,
                route: r.get(7)?,
                reasons: r.get(8)?,
                engine: r.get(9)?,
                model_id: r.get(10)?,
                model_version: r.get(11)?,
                prompt_version: r.get(12)?,
                style: r.get(13)?,
                max_words: r.get(14)?,
                timings: Timings {
                    ingest: r.get(15)?,
                    save_note: r.get(16)?,
                    route: r.get(17)?,
                    generate: r.get(18)?,
                    store: r.get(19)?,
                    total: r.get(20)?,
                    first_token: r.get(37)?,
                    drafted: r.get(38)?,
                    accepted: r.get(39)?,
                },
                quality_checks: r.get(21)?,
                quality_passed: r.get(22)?,
                status: r.get(23)?,
                error_code: r.get(24)?,
                error: r.get(25)?,
                outcome: r.get(26)?,
                power: r.get(27)?,
                connectivity: r.get(28)?,
                cost: r.get(29)?,
                energy_wh: r.get(30)?,
                power_mode: r.get(31)?,
                cloud_input_tokens: r.get(32)?,
                cloud_output_tokens: r.get(33)?,
                device_class: r.get(34)?,
                device: r.get(35)?,
                length_from: r.get(36)?,
            })
        })?;
        rows.map(|r| r.map_err(Error::from).and_then(RawEntry::decode)).collect()
    }

    /// Marks a saved note "keep on this device" (or not). Returns false for no such note.
    pub fn set_keep_on_device(&self, note_id: i64, keep: bool) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE notes SET keep_on_device = ?1 WHERE id = ?2",
            params![keep, note_id],
        )? == 1)
    }

    /// Whether a note is marked "keep on this device"; `None` when there is no such note. Read
    /// at the moment of sending, so a flag set by another process a second ago counts.
    pub fn kept_on_device(&self, note_id: i64) -> Result<Option<bool>> {
        Ok(self
            .conn
            .query_row("SELECT keep_on_device FROM notes WHERE id = ?1", [note_id], |r| r.get(0))
            .optional()?)
    }

    /// Queues a cloud refinement of a note for when the endpoint is reachable.
    pub fn enqueue_deferred(
        &self,
        note_id: i64,
        request_id: &str,
        style: Style,
        max_words: usize,
        at: &str,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO deferred (note_id, request_id, created_at, updated_at, style, max_words) VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
            params![note_id, request_id, at, style.as_str(), max_words as i64],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Queued refinements, oldest first: only pending ones unless `all`.
    pub fn deferred(&self, all: bool) -> Result<Vec<DeferredJob>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.note_id, d.request_id, d.created_at, d.updated_at, d.style, d.max_words, d.state, d.attempts,
                    d.last_error, d.done_request_id, n.title
             FROM deferred d JOIN notes n ON n.id = d.note_id
             WHERE ?1 OR d.state = 'pending' ORDER BY d.id",
        )?;
        let rows = stmt.query_map([all], |r| {
            Ok(DeferredJob {
                id: r.get(0)?,
                note_id: r.get(1)?,
                request_id: r.get(2)?,
                created_at: r.get(3)?,
                updated_at: r.get(4)?,
                style: r.get(5)?,
                max_words: r.get::<_, i64>(6)?.max(1) as usize,
                state: r.get(7)?,
                attempts: r.get::<_, i64>(8)?.max(0) as u32,
                last_error: r.get(9)?,
                done_request_id: r.get(10)?,
                note_title: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Takes job `id` for `lease_secs` (until `now + lease`, both RFC 3339 strings of the same
    /// fixed width): false when it is no longer pending or another runner holds it.
    pub fn claim_deferred(&self, id: i64, now: &str, until: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE deferred SET claimed_until = ?1
             WHERE id = ?2 AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < ?3)",
            params![until, id, now],
        )?;
        Ok(n == 1)
    }

    /// Gives a claimed job back untouched (the run was cancelled).
    pub fn release_deferred(&self, id: i64) -> Result<()> {
        self.conn.execute("UPDATE deferred SET claimed_until = NULL WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Ends a job: `done` with the refining request, or `dropped` with why.
    pub fn finish_deferred(&self, id: i64, state: &str, detail: &str, at: &str) -> Result<()> {
        let (done, error) =
            if state == "done" { (Some(detail), None) } else { (None, Some(detail)) };
        self.conn.execute(
            "UPDATE deferred SET state = ?1, done_request_id = ?2, last_error = coalesce(?3, last_error), updated_at = ?4,
                                 claimed_until = NULL WHERE id = ?5",
            params![state, done, error, at, id],
        )?;
        Ok(())
    }

    /// Records a failed attempt; the job stays pending.
    pub fn retry_deferred(&self, id: i64, error: &str, at: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE deferred SET attempts = attempts + 1, last_error = ?1, updated_at = ?2, claimed_until = NULL WHERE id = ?3",
            params![error, at, id],
        )?;
        Ok(())
    }

    /// Records the user's verdict on a request's summary.
    pub fn set_outcome(&self, request_id: &str, outcome: Outcome) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE ledger SET outcome = ?1 WHERE request_id = ?2",
            params![outcome.as_str(), request_id],
        )?;
        Ok(n == 1)
    }

    /// The technician corrected the summary made by `request_id`: their text replaces it
    /// (the engine's first text is kept), and the request's outcome becomes `edited`, in one
    /// transaction. Returns whether such a summary exists.
    pub fn edit_summary(&self, request_id: &str, text: &str, at: &str) -> Result<bool> {
        let tx = self.conn.unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE summaries SET original_body = coalesce(original_body, body), body = ?1, edited_at = ?2 WHERE request_id = ?3",
            params![text, at, request_id],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE ledger SET outcome = ?1 WHERE request_id = ?2",
            params![Outcome::Edited.as_str(), request_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Sets the outcome of a request the user has not judged yet (a verdict they gave stands).
    /// Returns whether it changed.
    pub fn set_outcome_if_pending(&self, request_id: &str, outcome: Outcome) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE ledger SET outcome = ?1 WHERE request_id = ?2 AND outcome = 'pending'",
            params![outcome.as_str(), request_id],
        )?;
        Ok(n == 1)
    }

    /// The newest successful request that summarized note `note_id` in `style` at `max_words`.
    pub fn latest_request_for_note(
        &self,
        note_id: i64,
        style: &str,
        max_words: usize,
    ) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT request_id FROM ledger WHERE note_id = ?1 AND status = 'ok' AND style = ?2 AND max_words = ?3
                 ORDER BY created_at DESC, id DESC LIMIT 1",
                params![note_id, style, max_words as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn counts(&self) -> Result<Counts> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM summaries), (SELECT count(*) FROM ledger)",
            [],
            |r| Ok(Counts { notes: r.get::<_, i64>(0)? as usize, summaries: r.get::<_, i64>(1)? as usize, requests: r.get::<_, i64>(2)? as usize }),
        )?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Removes a setting; `false` when there was none.
    pub fn delete_setting(&self, key: &str) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM settings WHERE key = ?1", params![key])? > 0)
    }

    /// Saves a draft: a new one when `id` is `None`, else replaces that draft's text. Returns
    /// its id. Commits before returning (the point of a draft).
    pub fn save_draft(&self, id: Option<i64>, body: &str, at: &str) -> Result<i64> {
        match id {
            Some(id) => {
                let n = self.conn.execute(
                    "UPDATE drafts SET body = ?1, updated_at = ?2 WHERE id = ?3",
                    params![body, at, id],
                )?;
                if n == 0 {
                    self.conn.execute(
                        "INSERT INTO drafts (id, updated_at, body) VALUES (?1, ?2, ?3)",
                        params![id, at, body],
                    )?;
                }
                Ok(id)
            }
            None => {
                self.conn.execute(
                    "INSERT INTO drafts (updated_at, body) VALUES (?1, ?2)",
                    params![at, body],
                )?;
                Ok(self.conn.last_insert_rowid())
            }
        }
    }

    /// Drafts, most recently edited first: (id, updated_at, body).
    pub fn drafts(&self) -> Result<Vec<Draft>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, updated_at, body FROM drafts ORDER BY updated_at DESC, id DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok(Draft { id: r.get(0)?, updated_at: r.get(1)?, body: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Removes a draft; a discarded draft's text is not left in the WAL either.
    pub fn delete_draft(&self, id: i64) -> Result<bool> {
        let deleted = self.conn.execute("DELETE FROM drafts WHERE id = ?1", [id])? == 1;
        if deleted {
            self.forget_old_pages()?;
        }
        Ok(deleted)
    }

    /// Deletes a note and its summaries (and their search entries). Ledger rows stay, as
    /// counts: their link to the note is cleared, and they never held its text. Nothing of
    /// the text is left on disk: freed pages are zeroed (`secure_delete`), the search index
    /// drops its terms at once, and the WAL, which still holds the pages as they were, is
    /// written back and truncated.
    pub fn delete_note(&self, id: i64) -> Result<bool> {
        let deleted = self.conn.execute("DELETE FROM notes WHERE id = ?1", [id])? == 1;
        if deleted {
            self.forget_old_pages()?;
        }
        Ok(deleted)
    }

    /// Writes the WAL back into the database and truncates it, so old versions of pages
    /// (deleted text) do not outlive a delete there. Another connection reading at the moment
    /// keeps the WAL busy; the next delete or checkpoint finishes the job.
    pub(crate) fn forget_old_pages(&self) -> Result<()> {
        // One row: (busy, pages in the WAL, pages written back); busy is not an error.
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// SQLite's own consistency check; `"ok"` when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Draft {
    pub id: i64,
    pub updated_at: String,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Counts {
    pub notes: usize,
    pub summaries: usize,
    pub requests: usize,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // journal_mode returns a row, so it is read rather than executed.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
    )?;
    Ok(())
}

/// Creates the database file readable and writable by its owner alone, or takes those rights
/// away from others on a file an older version created with the default umask. SQLite gives
/// the WAL and shared-memory files the database's permissions.
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let meta = std::fs::metadata(path)?;
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            for suffix in ["-wal", "-shm"] {
                let mut side = path.as_os_str().to_owned();
                side.push(suffix);
                let side = PathBuf::from(side);
                if side.is_file() {
                    std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn insert_entry(conn: &Connection, e: &Entry) -> Result<()> {
    let reasons =
        serde_json::to_string(&e.reasons).map_err(|err| Error::Decode(err.to_string()))?;
    let checks = match &e.quality {
        Some(q) => {
            Some(serde_json::to_string(&q.checks).map_err(|err| Error::Decode(err.to_string()))?)
        }
        None => None,
    };
    conn.execute(
        "INSERT INTO ledger (request_id, created_at, note_id, note_hash, input_bytes, input_tokens, output_tokens,
                             route, reasons, engine, model_id, model_version, prompt_version, style, max_words,
                             t_ingest_ms, t_save_note_ms, t_route_ms, t_generate_ms, t_store_ms, t_total_ms,
                             quality_passed, quality_checks, status, error_code, error, outcome, power,
                             connectivity, cost, energy_wh, power_mode, cloud_input_tokens, cloud_output_tokens,
                             device_class, device, length_from, t_first_token_ms, drafted_tokens, accepted_drafts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
                 ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40)",
        params![
            e.request_id,
            e.created_at,
            e.note_id,
            e.note_hash,
            e.input_bytes as i64,
            e.input_tokens as i64,
            e.output_tokens as i64,
            e.route.map(Route::as_str),
            reasons,
            e.engine,
            e.model.as_ref().map(|m| &m.id),
            e.model.as_ref().map(|m| &m.version),
            e.prompt_version,
            e.style.as_str(),
            e.max_words as i64,
            e.timings.ingest,
            e.timings.save_note,
            e.timings.route,
            e.timings.generate,
            e.timings.store,
            e.timings.total,
            e.quality.as_ref().map(|q| q.passed),
            checks,
            match e.status {
                Status::Ok => "ok",
                Status::Failed => "failed",
            },
            e.error_code,
            e.error,
            e.outcome.as_str(),
            e.power,
            e.connectivity,
            e.cost,
            e.energy_wh,
            e.power_mode.map(|m| m.as_str()),
            e.cloud_tokens.map(|t| t.input as i64),
            e.cloud_tokens.map(|t| t.output as i64),
            e.device_class,
            e.device,
            e.length_from.map(LengthFrom::as_str),
            e.timings.first_token,
            e.timings.drafted,
            e.timings.accepted,
        ],
    )?;
    Ok(())
}

struct RawEntry {
    request_id: String,
    created_at: String,
    note_id: Option<i64>,
    note_hash: Option<String>,
    input_bytes: i64,
    input_tokens: i64,
    output_tokens: i64,
    route: Option<String>,
    reasons: String,
    engine: Option<String>,
    model_id: Option<String>,
    model_version: Option<String>,
    prompt_version: Option<String>,
    style: String,
    max_words: i64,
    timings: Timings,
    quality_checks: Option<String>,
    quality_passed: Option<bool>,
    status: String,
    error_code: Option<String>,
    error: Option<String>,
    outcome: String,
    power: Option<String>,
    connectivity: Option<String>,
    cost: Option<f64>,
    energy_wh: Option<f64>,
    power_mode: Option<String>,
    cloud_input_tokens: Option<i64>,
    cloud_output_tokens: Option<i64>,
    device_class: Option<String>,
    device: Option<String>,
    length_from: Option<String>,
}

impl RawEntry {
    fn decode(self) -> Result<Entry> {
        let bad = |what: &str, value: &str| {
            Error::Decode(format!("ledger row {}: {what} {value:?}", self.request_id))
        };
        let route = match &self.route {
            Some(r) => Some(Route::parse(r).ok_or_else(|| bad("route", r))?),
            None => None,
        };
        let reasons: Vec<Reason> =
            serde_json::from_str(&self.reasons).map_err(|_| bad("reasons", &self.reasons))?;
        let quality = match (&self.quality_checks, self.quality_passed) {
            (Some(c), Some(passed)) => Some(Verdict {
                passed,
                checks: serde_json::from_str(c).map_err(|_| bad("quality checks", c))?,
            }),
            _ => None,
        };
        let model = match (&self.model_id, &self.model_version) {
            (Some(id), Some(version)) => {
                Some(ModelRef { id: id.clone(), version: version.clone() })
            }
            _ => None,
        };
        Ok(Entry {
            style: self.style.parse().map_err(|_| bad("style", &self.style))?,
            status: match self.status.as_str() {
                "ok" => Status::Ok,
                "failed" => Status::Failed,
                other => return Err(bad("status", other)),
            },
            outcome: Outcome::parse(&self.outcome).ok_or_else(|| bad("outcome", &self.outcome))?,
            route,
            reasons,
            quality,
            model,
            request_id: self.request_id,
            created_at: self.created_at,
            note_id: self.note_id,
            note_hash: self.note_hash,
            input_bytes: self.input_bytes.max(0) as u64,
            input_tokens: self.input_tokens.max(0) as usize,
            output_tokens: self.output_tokens.max(0) as usize,
            engine: self.engine,
            prompt_version: self.prompt_version,
            max_words: self.max_words.max(0) as usize,
            timings: self.timings,
            error_code: self.error_code,
            error: self.error,
            power: self.power,
            connectivity: self.connectivity,
            cost: self.cost,
            energy_wh: self.energy_wh,
            power_mode: self.power_mode.as_deref().and_then(fieldbrief_core::power::Mode::parse),
            device_class: self.device_class,
            device: self.device,
            length_from: self.length_from.as_deref().and_then(LengthFrom::parse),
            cloud_tokens: match (self.cloud_input_tokens, self.cloud_output_tokens) {
                (Some(i), Some(o)) => {
                    Some(CloudTokens { input: i.max(0) as usize, output: o.max(0) as usize })
                }
                _ => None,
            },
        })
    }
}

/// Turns what a person types into a safe FTS5 query: every word is a quoted term (so "4.2",
/// "E-104" or "P/N" cannot be read as query syntax), all must match, and a trailing `*` keeps
/// its meaning of "starts with".
fn fts_query(input: &str) -> Result<String> {
    // Stored text is canonical (NFC, ligatures spelled out); so is what is looked for.
    let input = fieldbrief_core::normalize::canonical(input);
    let terms: Vec<String> = input
        .split_whitespace()
        .filter_map(|word| {
            let prefix = word.ends_with('*');
            let bare = word.trim_end_matches('*').replace('"', "");
            if bare.chars().all(|c| !c.is_alphanumeric()) {
                return None;
            }
            Some(if prefix { format!("\"{bare}\"*") } else { format!("\"{bare}\"") })
        })
        .collect();
    if terms.is_empty() {
        return Err(Error::BadQuery("type at least one word or number to search for".into()));
    }
    Ok(terms.join(" "))
}

#[cfg(test)]
mod tests;
