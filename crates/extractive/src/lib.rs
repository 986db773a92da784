//! The extractive summarizer: always available, needs no model, and is the router's last
//! resort, so a technician with no model, a broken one or a flat battery still gets a summary.
//!
//! It picks whole units (sentences, list items, table rows) of the note and never rewrites
//! them, so every number, part number and code in the summary is exactly as the technician
//! wrote it. How units are chosen ([`rank`]):
//!
//! 1. **TextRank** over TF-IDF cosine similarity between units: a unit that many others echo
//!    is central to the note. Long notes are ranked map-reduce style (`graph.rs`): blocks of
//!    units are ranked on their own, their best units go up a level, until one block is left,
//!    so every unit is considered and the cost stays near-linear.
//! 2. **What technicians care about** is added on top: facts (measurements, part and serial
//!    numbers, error codes, dates), action language (done and still open), the note's own
//!    keywords, and a little position weight (notes state the problem first).
//! 3. **Selection** takes the best units that fit the word budget, skipping near-repeats, and
//!    lays them out in document order in the requested [`Style`]; the handover style sorts
//!    them into found / done / open first ([`handover`]).

mod graph;
pub mod handover;
mod terms;

use fieldbrief_core::engine::{Engine, EngineError, EngineEvent, EngineOutput, SummaryRequest};
use fieldbrief_core::facts::{self, FactKind};
use fieldbrief_core::segment::{self, Segmented, UnitKind, estimate_tokens};
use fieldbrief_core::{Document, Style};
use handover::Section;

/// Recorded in the ledger as the "prompt version" of extractive summaries; bump it whenever
/// the ranking or layout changes what a summary says.
pub const ALGORITHM_VERSION: &str = "textrank-1";

/// The extractive engine.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extractive;

impl Engine for Extractive {
    fn name(&self) -> &'static str {
        "extractive"
    }

    fn summarize(
        &self,
        doc: &Document,
        request: &SummaryRequest,
        _events: &mut dyn FnMut(EngineEvent),
    ) -> Result<EngineOutput, EngineError> {
        let summary = summarize(&doc.text, request)?;
        Ok(EngineOutput {
            chunks: 1,
            gpu_fallback: None,
            output_tokens: estimate_tokens(&summary.text),
            text: summary.text,
            input_tokens: estimate_tokens(&doc.text),
            model: None,
            prompt_version: ALGORITHM_VERSION.to_string(),
            trimmed: false,
            lines: None,
            decoding: None,
        })
    }
}

/// A unit with its score and handover section.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub unit: usize,
    pub score: f64,
    pub section: Section,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub text: String,
    /// Units chosen, in document order.
    pub selected: Vec<usize>,
    pub segmented: Segmented,
}

/// Scores every content unit, best first.
pub fn rank(seg: &Segmented) -> Vec<Ranked> {
    let content: Vec<usize> = {
        let c: Vec<usize> = seg.content_units().map(|(i, _)| i).collect();
        // A note made only of headings ("PUMP OK") is still a note.
        if c.is_empty() { (0..seg.units.len()).collect() } else { c }
    };
    if content.is_empty() {
        return Vec::new();
    }
    let texts: Vec<&str> = content.iter().map(|&i| seg.units[i].text.as_str()).collect();
    let vectors = terms::tfidf(&texts);
    let centrality = graph::textrank(&vectors);
    let max_c = centrality.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let keywords = terms::keywords(&vectors, 10);
    let n = content.len() as f64;

    let mut ranked: Vec<Ranked> = content
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let unit = &seg.units[i];
            let words = unit.text.split_whitespace().count();
            let found = facts::extract(&unit.text);
            let fact_bonus: f64 = found
                .iter()
                .map(|f| match f.kind {
                    FactKind::ErrorCode | FactKind::PartNumber | FactKind::SerialNumber => 0.35,
                    FactKind::Measurement => 0.2,
                    FactKind::Identifier => 0.15,
                    // A date after the note's opening line is a deadline or a delivery
                    // ("ETA 2026-04-06", "fit by 2026-07-21"): something to act on.
                    FactKind::Date if k > 0 => 0.3,
                    FactKind::Date | FactKind::Time => 0.08,
                })
                .sum::<f64>()
                .min(0.9);
            let heading = unit.heading.map(|h| seg.units[h].text.as_str());
            let section = handover::classify(&unit.text, heading);
            let action_bonus = match section {
                Section::Open => 0.35,
                Section::Done => 0.25,
                Section::Found if handover::has_finding_cue(&unit.text) => 0.1,
                Section::Found => 0.0,
            };
            // A reading set against what it should be ("3.6 bar (normal 4.1 bar)", "FAIL") is
            // the finding itself.
            let off_spec_bonus =
                if !found.is_empty() && has_off_spec_cue(&unit.text) { 0.2 } else { 0.0 };
            let keyword_bonus =
                0.1 * vectors[k].iter().filter(|(t, _)| keywords.contains(t)).count().min(3) as f64;
            let position_bonus = 0.15 * (1.0 - k as f64 / n).powi(2);
            // Fragments ("Busy night.") say little; very long units eat the budget; table
            // rows carry readings but little of the story around them.
            let length_factor = match (words, unit.kind) {
                (0..=2, _) if found.is_empty() => 0.1,
                (0..=2, _) => 0.3,
                (3..=4, _) => 0.7,
                (w, _) if w > 60 => 0.7,
                (_, UnitKind::TableRow) => 0.7,
                _ => 1.0,
            };
            let score = (centrality[k] / max_c
                + fact_bonus
                + action_bonus
                + off_spec_bonus
                + keyword_bonus
                + position_bonus)
                * length_factor;
            Ranked { unit: i, score, section }
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    ranked
}

/// Words that set a reading against its expected value, or say it failed.
fn has_off_spec_cue(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "normal",
        "spec",
        "limit",
        "expected",
        "threshold",
        "nameplate",
        "setpoint",
        "set ",
        " vs",
        "target",
        "fail",
        "should be",
        "alarm",
    ]
    .iter()
    .any(|cue| lower.contains(cue))
}

/// Summarizes normalised text.
pub fn summarize(text: &str, request: &SummaryRequest) -> Result<Summary, EngineError> {
    let segmented = segment::segment(text);
    let ranked = rank(&segmented);
    if ranked.is_empty() {
        return Err(EngineError::Unsummarizable("the note has no sentences to summarize".into()));
    }
    let unit_text = |i: usize| segmented.units[i].text.as_str();
    let max_words = request.max_words.max(1);

    let (text, selected) = match request.style {
        Style::Handover => handover::layout(&ranked, &segmented, max_words),
        Style::Bullets | Style::Brief => {
            let mut chosen = select(&ranked, &segmented, max_words, |_| true);
            chosen.sort_unstable();
            let text = if request.style == Style::Bullets {
                chosen.iter().map(|&i| format!("- {}", unit_text(i))).collect::<Vec<_>>().join("\n")
            } else {
                chosen
                    .iter()
                    .map(|&i| as_prose_sentence(unit_text(i)))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            (text, chosen)
        }
    };
    if selected.is_empty() {
        // Not even one unit fits the budget: show the best one, visibly cut.
        let best = ranked[0].unit;
        return Ok(Summary {
            text: cut_to_words(unit_text(best), max_words),
            selected: vec![best],
            segmented,
        });
    }
    Ok(Summary { text, selected, segmented })
}

/// Greedy selection of the best units that fit `budget` words, skipping near-repeats of
/// units already chosen. Returns unit indices in rank order.
pub(crate) fn select(
    ranked: &[Ranked],
    seg: &Segmented,
    budget: usize,
    allow: impl Fn(&Ranked) -> bool,
) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::new();
    let mut chosen_terms: Vec<std::collections::HashSet<String>> = Vec::new();
    let mut used = 0usize;
    for r in ranked.iter().filter(|r| allow(r)) {
        if budget.saturating_sub(used) < 3 {
            break;
        }
        let text = &seg.units[r.unit].text;
        let words = text.split_whitespace().count();
        // A fragment that dangles ("…retest at next annual if over") is half a thought out of
        // its context: never a line of a summary.
        if used + words > budget || fieldbrief_core::ending::check(text).is_err() {
            continue;
        }
        let these = terms::term_set(text);
        if chosen_terms.iter().any(|t| terms::jaccard(t, &these) > 0.6) {
            continue;
        }
        used += words;
        chosen.push(r.unit);
        chosen_terms.push(these);
    }
    chosen
}

/// One line of a summary being written: a unit of the note, where it ranks, its handover
/// section, and its text (the unit's own words, or a model's shorter rewrite of them).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub unit: usize,
    pub score: f64,
    pub section: Section,
    pub text: String,
}

/// The outline of a summary: the best units of the note, in rank order, whose own words come
/// to at most `budget`, leaving out units in `taken`. The handover style starts with the best
/// unit of each section so no section with content comes out empty. The local engine has a
/// model rewrite each shorter, then lays them out with [`fit`].
pub fn outline(
    seg: &Segmented,
    ranked: &[Ranked],
    style: Style,
    budget: usize,
    taken: &[usize],
) -> Vec<Line> {
    let order: Vec<Ranked> = if style == Style::Handover {
        handover::sections_first(ranked, taken)
    } else {
        ranked.to_vec()
    };
    let chosen = select(&order, seg, budget, |r| !taken.contains(&r.unit));
    chosen
        .into_iter()
        .filter_map(|unit| order.iter().find(|r| r.unit == unit))
        .map(|r| Line {
            unit: r.unit,
            score: r.score,
            section: r.section,
            text: seg.units[r.unit].text.clone(),
        })
        .collect()
}

/// Lays out `lines` in document order in `style`.
pub fn render(style: Style, lines: &[Line]) -> String {
    let mut in_order: Vec<&Line> = lines.iter().collect();
    in_order.sort_by_key(|l| l.unit);
    match style {
        Style::Bullets => {
            in_order.iter().map(|l| format!("- {}", l.text)).collect::<Vec<_>>().join("\n")
        }
        Style::Brief => {
            in_order.iter().map(|l| as_prose_sentence(&l.text)).collect::<Vec<_>>().join(" ")
        }
        Style::Handover => {
            let mut out = Vec::new();
            for s in [Section::Found, Section::Done, Section::Open] {
                out.push(s.title().to_string());
                let before = out.len();
                out.extend(
                    in_order.iter().filter(|l| l.section == s).map(|l| format!("- {}", l.text)),
                );
                if out.len() == before {
                    out.push(handover::NONE_LINE.to_string());
                }
            }
            out.join("\n")
        }
    }
}

/// [`render`], dropping the lowest-ranked lines until the text is within `max_words`. Returns
/// the text and the lines kept.
pub fn fit(style: Style, mut lines: Vec<Line>, max_words: usize) -> (String, Vec<Line>) {
    lines.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    loop {
        let text = render(style, &lines);
        if lines.len() <= 1 || fieldbrief_core::quality::summary_words(&text) <= max_words {
            return (text, lines);
        }
        lines.pop();
    }
}

/// A list item read as prose ends with a full stop.
fn as_prose_sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) { text.to_string() } else { format!("{text}.") }
}

/// The first `max_words` words of `text`, marked as cut when anything was dropped.
fn cut_to_words(text: &str, max_words: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max_words {
        return text.to_string();
    }
    format!("{}…", words[..max_words].join(" "))
}

#[cfg(test)]
mod tests;
