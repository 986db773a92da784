//! History: drafts (autosave), saved notes and their summaries, full-text search, and what
//! the technician made of a summary (feedback, edits).

use crate::{Error, Fieldbrief, Result, now};
use fieldbrief_core::ledger::Outcome;
use fieldbrief_store::{NoteListItem, NoteRecord, SearchHit};

impl Fieldbrief {
    /// Saves what is being typed (autosave): a new draft, or over draft `id`. Returns its id.
    pub fn save_draft(&self, id: Option<i64>, body: &str) -> Result<i64> {
        Ok(self.store.save_draft(id, body, &now())?)
    }

    pub fn drafts(&self) -> Result<Vec<fieldbrief_store::Draft>> {
        Ok(self.store.drafts()?)
    }

    pub fn delete_draft(&self, id: i64) -> Result<()> {
        if self.store.delete_draft(id)? { Ok(()) } else { Err(Error::NoSuchDraft(id)) }
    }

    /// Deletes a note with its summaries; its ledger rows stay as anonymous counts.
    pub fn delete_note(&self, id: i64) -> Result<()> {
        if self.store.delete_note(id)? { Ok(()) } else { Err(Error::NoSuchNote(id)) }
    }

    /// Records what the user made of a summary (thumbs up = accepted, down = rejected…). A
    /// rejected, regenerated or edited summary is also forgotten by the cache, so the same
    /// note is never answered with it again.
    pub fn feedback(&self, request_id: &str, outcome: Outcome) -> Result<()> {
        if !self.store.set_outcome(request_id, outcome)? {
            return Err(Error::NoSuchRequest(request_id.into()));
        }
        if matches!(outcome, Outcome::Rejected | Outcome::Regenerated | Outcome::Edited) {
            self.store.cache_forget_request(request_id)?;
        }
        Ok(())
    }

    /// The technician corrected a summary: `text` replaces it in history, search and exports
    /// (the engine's own text is kept beside it), the request's outcome becomes `edited`, and
    /// the cache forgets the engine's version.
    pub fn edit_summary(&self, request_id: &str, text: &str) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::BadArgument(
                "an edited summary cannot be empty (rate it as poor instead)".into(),
            ));
        }
        if !self.store.edit_summary(request_id, text, &now())? {
            return Err(Error::NoSuchRequest(request_id.into()));
        }
        self.store.cache_forget_request(request_id)?;
        Ok(())
    }

    pub fn history(&self, limit: usize) -> Result<Vec<NoteListItem>> {
        Ok(self.store.list_notes(limit, 0)?)
    }

    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        Ok(self.store.search(query, limit.max(1))?)
    }

    pub fn note(&self, id: i64) -> Result<NoteRecord> {
        self.store.note(id)?.ok_or(Error::NoSuchNote(id))
    }
}
