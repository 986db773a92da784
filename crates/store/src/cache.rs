//! The offline response cache's tables: exact lookups by key, near-duplicate candidates by LSH
//! bucket, LRU eviction under a size cap. What the key and the signature mean is decided in
//! `fieldbrief_core::cache`; this file only keeps them.

use crate::{Result, Store};
use fieldbrief_core::cache::{self, Signature};
use fieldbrief_core::engine::ModelRef;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// A cached summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheEntry {
    pub id: i64,
    pub key: String,
    pub note_hash: String,
    /// The note it was made for (`None` once that note was deleted).
    pub note_id: Option<i64>,
    pub note_title: String,
    pub style: String,
    pub max_words: usize,
    pub producer: String,
    pub prompt_version: String,
    /// The route that first produced it (`local`, `cloud`, `extractive`…).
    pub route: String,
    pub engine: String,
    pub model: Option<ModelRef>,
    /// The request that produced it.
    pub request_id: String,
    pub summary: String,
    pub created_at: String,
    pub last_used_at: String,
    pub hits: u64,
}

/// What to cache: a summary that passed the quality gate.
#[derive(Debug, Clone)]
pub struct NewCacheEntry<'a> {
    pub key: &'a str,
    pub note_hash: &'a str,
    pub note_id: Option<i64>,
    pub note_title: &'a str,
    pub style: &'a str,
    pub max_words: usize,
    pub producer: &'a str,
    pub prompt_version: &'a str,
    pub route: &'a str,
    pub engine: &'a str,
    pub model: Option<&'a ModelRef>,
    pub request_id: &'a str,
    pub summary: &'a str,
    pub signature: &'a Signature,
}

/// A near-duplicate: an entry and its estimated similarity to the note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similar {
    pub entry: CacheEntry,
    pub similarity: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: u64,
    pub hits: u64,
}

const COLUMNS: &str = "id, key, note_hash, note_id, note_title, style, max_words, producer, prompt_version, route, engine,
                       model_id, model_version, request_id, summary, created_at, last_used_at, hits";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CacheEntry> {
    entry_at(r, 0)
}

/// A [`CacheEntry`] from the columns [`COLUMNS`] names, starting at column `o`.
fn entry_at(r: &rusqlite::Row<'_>, o: usize) -> rusqlite::Result<CacheEntry> {
    let model = match (r.get::<_, Option<String>>(o + 11)?, r.get::<_, Option<String>>(o + 12)?) {
        (Some(id), Some(version)) => Some(ModelRef { id, version }),
        _ => None,
    };
    Ok(CacheEntry {
        id: r.get(o)?,
        key: r.get(o + 1)?,
        note_hash: r.get(o + 2)?,
        note_id: r.get(o + 3)?,
        note_title: r.get(o + 4)?,
        style: r.get(o + 5)?,
        max_words: r.get::<_, i64>(o + 6)?.max(0) as usize,
        producer: r.get(o + 7)?,
        prompt_version: r.get(o + 8)?,
        route: r.get(o + 9)?,
        engine: r.get(o + 10)?,
        model,
        request_id: r.get(o + 13)?,
        summary: r.get(o + 14)?,
        created_at: r.get(o + 15)?,
        last_used_at: r.get(o + 16)?,
        hits: r.get::<_, i64>(o + 17)?.max(0) as u64,
    })
}

impl Store {
    /// The entry for `key`, counted as a hit served to request `served_by` and made most
    /// recently used.
    pub fn cache_get(
        &self,
        key: &str,
        now: &str,
        served_by: Option<&str>,
    ) -> Result<Option<CacheEntry>> {
        let found = self.cache_peek(key)?;
        if let Some(e) = &found {
            let tx = self.conn.unchecked_transaction()?;
            tx.execute(
                "UPDATE cache SET hits = hits + 1, last_used_at = ?1 WHERE id = ?2",
                params![now, e.id],
            )?;
            if let Some(request_id) = served_by {
                tx.execute(
                    "INSERT OR REPLACE INTO cache_served (request_id, entry) VALUES (?1, ?2)",
                    params![request_id, e.id],
                )?;
            }
            tx.commit()?;
        }
        Ok(found)
    }

    /// The entry for `key`, changing nothing (a dry run).
    pub fn cache_peek(&self, key: &str) -> Result<Option<CacheEntry>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {COLUMNS} FROM cache WHERE key = ?1"), [key], row)
            .optional()?)
    }

    /// Stores (or replaces) an entry with its LSH buckets, then evicts the least recently used
    /// entries beyond `max_entries`. One transaction.
    pub fn cache_put(
        &mut self,
        e: &NewCacheEntry<'_>,
        now: &str,
        max_entries: usize,
    ) -> Result<i64> {
        Ok(self
            .cache_put_many(std::slice::from_ref(e), now, max_entries)?
            .pop()
            .unwrap_or_default())
    }

    /// [`Store::cache_put`] for many entries in one transaction (imports, benchmarks).
    pub fn cache_put_many(
        &mut self,
        entries: &[NewCacheEntry<'_>],
        now: &str,
        max_entries: usize,
    ) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(entries.len());
        {
            let mut delete = tx.prepare_cached("DELETE FROM cache WHERE key = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO cache (key, note_hash, note_id, note_title, style, max_words, producer, prompt_version, route,
                                    engine, model_id, model_version, request_id, summary, signature, created_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
            )?;
            let mut bucket = tx.prepare_cached(
                "INSERT OR IGNORE INTO cache_buckets (bucket, entry) VALUES (?1, ?2)",
            )?;
            for e in entries {
                delete.execute([e.key])?;
                insert.execute(params![
                    e.key,
                    e.note_hash,
                    e.note_id,
                    e.note_title,
                    e.style,
                    e.max_words as i64,
                    e.producer,
                    e.prompt_version,
                    e.route,
                    e.engine,
                    e.model.map(|m| &m.id),
                    e.model.map(|m| &m.version),
                    e.request_id,
                    e.summary,
                    cache::signature_to_bytes(e.signature),
                    now,
                ])?;
                let id = tx.last_insert_rowid();
                for b in cache::bands(e.signature) {
                    bucket.execute(params![b, id])?;
                }
                ids.push(id);
            }
        }
        tx.execute(
            "DELETE FROM cache WHERE id IN (SELECT id FROM cache ORDER BY last_used_at DESC, id DESC LIMIT -1 OFFSET ?1)",
            [max_entries.max(1) as i64],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Entries whose note is estimated at least `threshold` similar to `sig`, best first,
    /// among those `accept` admits (same style, a producer still in use…).
    pub fn cache_similar(
        &self,
        sig: &Signature,
        threshold: f64,
        limit: usize,
        accept: &dyn Fn(&CacheEntry) -> bool,
    ) -> Result<Vec<Similar>> {
        let buckets = cache::bands(sig);
        let placeholders = vec!["?"; buckets.len()].join(", ");
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT DISTINCT c.signature, {} FROM cache_buckets b JOIN cache c ON c.id = b.entry WHERE b.bucket IN ({placeholders})",
            COLUMNS.split(',').map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ")
        ))?;
        let mut out = Vec::new();
        let mut rows = stmt.query(rusqlite::params_from_iter(buckets.iter()))?;
        while let Some(r) = rows.next()? {
            let bytes: Vec<u8> = r.get(0)?;
            let Some(other) = cache::signature_from_bytes(&bytes) else { continue };
            let similarity = cache::similarity(sig, &other);
            if similarity < threshold {
                continue;
            }
            let entry = entry_at(r, 1)?;
            if accept(&entry) {
                out.push(Similar { entry, similarity });
            }
        }
        out.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(b.entry.last_used_at.cmp(&a.entry.last_used_at))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Forgets what a request produced (the user rejected or regenerated it: it must not be
    /// served again).
    pub fn cache_forget_request(&self, request_id: &str) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM cache WHERE request_id = ?1 OR id IN (SELECT entry FROM cache_served WHERE request_id = ?1)",
            [request_id],
        )?)
    }

    /// Empties the cache; the summaries it held are not left in the WAL either.
    pub fn cache_clear(&self) -> Result<usize> {
        let removed = self.conn.execute("DELETE FROM cache", [])?;
        self.forget_old_pages()?;
        Ok(removed)
    }

    pub fn cache_stats(&self) -> Result<CacheStats> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(length(summary) + length(signature)), 0), coalesce(sum(hits), 0) FROM cache",
            [],
            |r| Ok(CacheStats { entries: r.get::<_, i64>(0)? as usize, bytes: r.get::<_, i64>(1)? as u64, hits: r.get::<_, i64>(2)? as u64 }),
        )?)
    }
}
