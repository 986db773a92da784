//! Versioned prompts per style. The version goes into the ledger with every summary, so a
//! change in wording is visible when summaries change; bump [`VERSION`] with any edit.

use crate::protocol::Message;
use fieldbrief_core::Style;

pub const VERSION: &str = "prompts-1";

/// The ledger's prompt version for a style, e.g. `"prompts-1/handover"`.
pub fn version(style: Style) -> String {
    format!("{VERSION}/{}", style.as_str())
}

const SYSTEM: &str = "You summarize field technicians' notes for other technicians. Be faithful: \
copy measurements with their units, part and serial numbers, error codes and dates exactly as written. \
Never add facts that are not in the note. Reply with the summary only.";

fn shape(style: Style, max_words: usize) -> String {
    match style {
        Style::Bullets => format!("Write at most {max_words} words as '- ' bullet points, most important first."),
        Style::Brief => format!("Write one short paragraph of at most {max_words} words."),
        Style::Handover => format!(
            "Write a shift handover of at most {max_words} words with three sections headed 'Found:', \
             'Done:' and 'Open:', each a list of '- ' bullets; write '- none recorded' under an empty section."
        ),
    }
}

fn messages(user: String) -> Vec<Message> {
    vec![Message { role: "system".into(), content: SYSTEM.into() }, Message { role: "user".into(), content: user }]
}

/// The whole note in one prompt.
pub fn single(style: Style, max_words: usize, note: &str) -> Vec<Message> {
    messages(format!("{}\n\nNote:\n{note}", shape(style, max_words)))
}

/// One part of a long note (the map step).
pub fn part(part: usize, parts: usize, max_words: usize, text: &str) -> Vec<Message> {
    messages(format!(
        "This is part {part} of {parts} of a long note. List its key facts, findings, work done and open \
         actions in at most {max_words} words as '- ' bullet points.\n\nPart {part}:\n{text}"
    ))
}

/// Partial summaries combined into one (the reduce step).
pub fn combine(style: Style, max_words: usize, partials: &[String]) -> Vec<Message> {
    let joined: Vec<String> = partials.iter().enumerate().map(|(i, p)| format!("Part {}:\n{p}", i + 1)).collect();
    messages(format!(
        "These are summaries of consecutive parts of one long note. Combine them into one summary of the \
         whole note. {}\n\n{}",
        shape(style, max_words),
        joined.join("\n\n")
    ))
}
