//! A summary as a printable PDF (`fieldbrief export ID --pdf`, the app's "Save as PDF"): the
//! note's title, date, site, source and style, the summary as it stands (the technician's edit
//! if there is one), and in the footer the route, model version and quality flags.

use crate::{Error, Fieldbrief, Result};
use fieldbrief_print::{Font, Sheet};
use fieldbrief_store::{NoteRecord, SummaryRecord};
use serde::Serialize;
use std::path::PathBuf;

/// A rendered PDF and what the user should know about it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PdfExport {
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub bytes: Vec<u8>,
    pub note_id: i64,
    pub request_id: String,
    pub pages: usize,
    /// Characters the font could not draw (they print as boxes), e.g. "漢".
    pub missing: Vec<String>,
    /// The font embedded.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub font: PathBuf,
    /// A file name for the save dialog, e.g. "pump-p-101-handover-note-12.pdf".
    pub suggested_name: String,
}

impl Fieldbrief {
    /// The page for note `note_id`'s summary `request_id` (its latest when `None`).
    pub fn printable(&self, note_id: i64, request_id: Option<&str>) -> Result<(Sheet, String)> {
        let note = self.store.note(note_id)?.ok_or(Error::NoSuchNote(note_id))?;
        let summary = match request_id {
            Some(id) => note
                .summaries
                .iter()
                .find(|s| s.request_id == id)
                .ok_or_else(|| Error::NoSuchRequest(format!("{id} (for note {note_id})")))?,
            None => note.summaries.last().ok_or_else(|| {
                Error::BadArgument(format!(
                    "note {note_id} has no summary yet: summarize it first (fieldbrief history show {note_id})"
                ))
            })?,
        };
        let quality = self.store.ledger_entry(&summary.request_id)?.and_then(|e| e.quality);
        Ok((sheet(&note, summary, quality.as_ref()), summary.request_id.clone()))
    }

    /// [`Fieldbrief::printable`] rendered as a PDF with the system's font.
    pub fn export_pdf(&self, note_id: i64, request_id: Option<&str>) -> Result<PdfExport> {
        let (sheet, request_id) = self.printable(note_id, request_id)?;
        let font = Font::find().map_err(|e| Error::BadArgument(e.to_string()))?;
        let out = fieldbrief_print::render(&sheet, &font)
            .map_err(|e| Error::BadArgument(e.to_string()))?;
        let style = sheet.fields.iter().find(|(k, _)| k == "Style").map_or("", |(_, v)| v);
        Ok(PdfExport {
            bytes: out.bytes,
            note_id,
            request_id,
            pages: out.pages,
            missing: out.missing.iter().map(char::to_string).collect(),
            font: out.font,
            suggested_name: format!("{}-{}-note-{note_id}.pdf", slug(&sheet.title), slug(style)),
        })
    }
}

fn sheet(
    note: &NoteRecord,
    summary: &SummaryRecord,
    quality: Option<&fieldbrief_core::quality::Verdict>,
) -> Sheet {
    let mut fields = vec![("Note".to_string(), when(&note.created_at))];
    if let Some(site) = fieldbrief_core::document::site_of(&note.text) {
        fields.push(("Site".into(), site));
    }
    let source = match note.pages {
        Some(p) => format!("{} ({p} pages)", note.source_name),
        None => note.source_name.clone(),
    };
    fields.push(("Source".into(), source));
    fields.push(("Style".into(), summary.style.clone()));
    let mut summarized = when(&summary.created_at);
    if let Some(at) = &summary.edited_at {
        summarized.push_str(&format!("; edited by the technician {}", when(at)));
    }
    fields.push(("Summarized".into(), summarized));

    let model = match &summary.model {
        Some(m) => format!("{} {}", m.id, m.version),
        None => summary.engine.clone(),
    };
    // The checks ran on the engine's text; an edited summary says so.
    let of = if summary.original_text.is_some() { " of the engine's text" } else { "" };
    let quality = match quality {
        None => "Quality: not recorded".to_string(),
        Some(v) if v.passed => format!("Quality{of}: all {} checks passed", v.checks.len()),
        Some(v) => {
            let failed: Vec<&str> =
                v.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
            format!("Quality flags{of}: {} (of {} checks)", failed.join(", "), v.checks.len())
        }
    };
    let mut footer = vec![
        format!(
            "Route: {} · Model: {model} · Prompt {}",
            route_words(&summary.route),
            summary.prompt_version
        ),
        quality,
    ];
    if summary.original_text.is_some() {
        footer.push("Edited by the technician; the engine's own text is kept in history.".into());
    }
    footer.push(format!(
        "Request {} · Fieldbrief {} · note {}",
        summary.request_id,
        env!("CARGO_PKG_VERSION"),
        note.id
    ));
    Sheet {
        title: note.title.clone(),
        fields,
        heading: heading(&summary.style).into(),
        body: summary.text.clone(),
        footer,
        creator: format!("Fieldbrief {}", env!("CARGO_PKG_VERSION")),
    }
}

fn heading(style: &str) -> &'static str {
    match style {
        "handover" => "Handover",
        "bullets" => "Key points",
        _ => "Summary",
    }
}

fn route_words(route: &str) -> &str {
    match route {
        "local" => "local model on this laptop",
        "local-chunked" => "local model on this laptop, in parts",
        "extractive" => "extractive (the note's own sentences)",
        "cloud" => "cloud model",
        "cache" => "offline cache",
        other => other,
    }
}

/// "2026-11-21T09:00:00.000000Z" → "2026-11-21 09:00 UTC" (anything else as it is).
fn when(stamp: &str) -> String {
    match (stamp.get(..10), stamp.get(11..16)) {
        (Some(date), Some(time)) if stamp.ends_with('Z') => format!("{date} {time} UTC"),
        _ => stamp.to_string(),
    }
}

/// A file-name part: lower case letters and digits joined by dashes, at most 48 characters.
fn slug(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut out = String::new();
    for w in words {
        if out.chars().count() + w.chars().count() > 48 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w);
    }
    if out.is_empty() { "summary".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_times_for_the_page() {
        assert_eq!(when("2026-11-21T09:00:00.000000Z"), "2026-11-21 09:00 UTC");
        assert_eq!(when("yesterday"), "yesterday");
        assert_eq!(slug("Pump P-101: seal replaced (4.2 bar)"), "pump-p-101-seal-replaced-4-2-bar");
        assert_eq!(slug("—"), "summary");
        assert_eq!(heading("handover"), "Handover");
    }
}
