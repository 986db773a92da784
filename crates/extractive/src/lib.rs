//! The extractive summarizer: always available, needs no model, and is the router's last
//! resort, so a technician with no model, a broken one or a flat battery still gets a summary.
//!
//! It picks whole units (sentences, list items, table rows) of the note and never rewrites
//! them, so every number, part number and code in the summary is exactly as the technician
//! wrote it. How units are chosen ([`rank`]):
//!
//! 1. **Salience** ([`salience`]): the probability that a unit holds a fact the technician
//!    acts on — the alarm code, the reading that was off, the part fitted or still to order,
//!    the ticket, the date something is due — from a logistic model over its facts in their
//!    context, its action language, its place in the note and its **TextRank** centrality
//!    (TF-IDF cosine similarity between units; long notes ranked map-reduce style in
//!    `graph.rs`, so the cost stays near-linear). The weights were fitted on the project's
//!    tuning sets and checked on the holdout set (`scripts/fit-salience`).
//! 2. **Rank** is that probability per square root of the unit's length: selection fills a
//!    word budget, so a long unit must be likelier to carry a key fact to earn its words.
//! 3. **Selection** takes the best units that fit the word budget, skipping near-repeats and
//!    fragments that dangle, and lays them out in document order in the requested [`Style`];
//!    the handover style sorts them into found / done / open first ([`handover`]).
//!
//! Measured (`examples/rank_eval.rs`, key-fact recall at the default length): 0.79 on the
//! tuning set (0.50 with hand-set weights, 0.66 with the first fit on whole lines, 0.75 on
//! clauses), 0.79 on the long notes (0.29, 0.56, 0.74), 0.85 on the holdout set (0.65, 0.80,
//! 0.825).

mod graph;
pub mod handover;
pub mod salience;
mod terms;

use fieldbrief_core::engine::{Engine, EngineError, EngineEvent, EngineOutput, SummaryRequest};
use fieldbrief_core::segment::{self, Segmented, estimate_tokens};
use fieldbrief_core::{Document, Style};
use handover::Section;

/// Recorded in the ledger as the "prompt version" of extractive summaries; bump it whenever
/// the ranking or layout changes what a summary says. (`salience-4`: clauses that only speak
/// of the one before stay with it; [`fit`] keeps lines in rank order while they fit.
/// `salience-6`: the facts read belt sizes, loop addresses and cleanliness codes, and no longer
/// take a fan's tag for an alarm code.)
pub const ALGORITHM_VERSION: &str = "salience-6";

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

/// The content units of a note (every unit, for a note made only of headings) with their
/// [`salience::features`].
pub fn unit_features(seg: &Segmented) -> Vec<(usize, [f64; salience::N])> {
    let content: Vec<usize> = {
        let c: Vec<usize> = seg.content_units().map(|(i, _)| i).collect();
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
    content
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let unit = &seg.units[i];
            let cx = salience::Context {
                index: k,
                count: content.len(),
                kind: unit.kind,
                heading: unit.heading.map(|h| seg.units[h].text.as_str()),
                centrality: centrality[k] / max_c,
                keywords: vectors[k].iter().filter(|(t, _)| keywords.contains(t)).count(),
            };
            (i, salience::features(&unit.text, &cx))
        })
        .collect()
}

/// Scores every content unit, best first: the probability that it holds a fact the
/// technician acts on ([`salience`]), which weighs its facts in their context, its action
/// language, its centrality and its place in the note, over the square root of its length
/// (`density_divisor`). For a handover, the items of the technician's own short list of
/// what is still open (`listed_open`) count twice: on the tuning set, the air handler's
/// handover dropped "fire damper FD-4.12 inspection overdue" of "Open: BMS tuning V-03H, fire
/// damper FD-4.12 inspection overdue" for a filter reading (handovers 0.77 -> 0.81 of the key
/// facts, the other styles as they were).
pub fn rank(seg: &Segmented, style: Style) -> Vec<Ranked> {
    let sections = sections(seg);
    let mut ranked: Vec<Ranked> = unit_features(seg)
        .into_iter()
        .map(|(i, x)| Ranked {
            unit: i,
            score: salience::probability(&x) / density_divisor(&seg.units[i].text),
            section: sections[i],
        })
        .collect();
    if style == Style::Handover {
        // The technician's own short list of what is still open is the handover's point: an
        // item of it ranks as if twice as likely to hold a key fact. (A long list, as in a
        // week's log, is ranked as it is.)
        let listed: Vec<usize> =
            ranked.iter().map(|r| r.unit).filter(|&u| listed_open(seg, u)).collect();
        if listed.len() <= 4 {
            for r in ranked.iter_mut().filter(|r| listed.contains(&r.unit)) {
                r.score *= 2.0;
            }
        }
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    ranked
}

/// Whether unit `u` is on the technician's own list of what is still open: its line names the
/// open section ("Open: BMS tuning V-03H, fire damper FD-4.12 inspection overdue") or it is
/// under an open heading ("Follow up:", "To do").
fn listed_open(seg: &Segmented, u: usize) -> bool {
    let first = &seg.units[line_start(seg, u)];
    handover::inline_label(&first.text) == Some(Section::Open)
        || seg.units[u].heading.is_some_and(|h| {
            handover::contains_any(&seg.units[h].text.to_lowercase(), handover::OPEN_HEADINGS)
        })
}

/// Each unit's handover section ([`handover::classify`]); the later clauses of a line that
/// names its section ("Open: BMS tuning V-03H, fire damper FD-4.12 inspection overdue") are
/// in that section too, and so is a clause that goes on from the one before ([`goes_on`]),
/// which is shown only with it.
fn sections(seg: &Segmented) -> Vec<Section> {
    let mut named = None;
    let mut out: Vec<Section> = Vec::with_capacity(seg.units.len());
    for (i, unit) in seg.units.iter().enumerate() {
        if unit.lead.is_empty() {
            named = handover::inline_label(&unit.text);
        }
        let heading = unit.heading.map(|h| seg.units[h].text.as_str());
        let section = match (named, out.last()) {
            (Some(s), _) => s,
            (None, Some(&before)) if goes_on(seg, i) => before,
            (None, _) => handover::classify(&unit.text, heading),
        };
        out.push(section);
    }
    out
}

/// What a unit's probability is divided by for its rank: selection fills a word budget, so a
/// long unit must be likelier to hold a key fact to be worth its words. The square root of its
/// length (plus a little, so fragments gain nothing) scored best on the tuning sets against no
/// division (long units crowd out short ones) and division by the length (fragments win).
fn density_divisor(text: &str) -> f64 {
    (text.split_whitespace().count() as f64 + 4.0).sqrt()
}

/// The units a summary is chosen from: the note's sentences, list items and rows, long ones
/// split into their clauses ([`segment::clauses`]). Choosing clauses rather than whole lines
/// raised the extractive summary's key-fact recall on the tuning sets from 0.67 to 0.74 (set)
/// and 0.68 to 0.74 (long), with the salience weights refitted on clauses.
pub fn units(text: &str) -> Segmented {
    segment::clauses(&segment::segment(text))
}

/// The note line `unit` is part of: the index of that line's first unit (a clause continues
/// the line of the unit before it, [`segment::Unit::lead`]).
pub fn line_start(seg: &Segmented, unit: usize) -> usize {
    let mut u = unit;
    while u > 0 && !seg.units[u].lead.is_empty() {
        u -= 1;
    }
    u
}

/// Lines of a summary from `(line, lead, text, subject)` of units in document order (`line`
/// from [`line_start`], `subject` from [`subject`]): clauses of one line of the note are one
/// line again, joined by what joined each to the clause before it in the note (`lead`,
/// [`segment::Unit::lead`]), so "MCB Q22 tripped, reset, runs" and "current 2.8 A each fan"
/// read as the technician wrote them, and "Extract fan F-12" and "VSD asset VSD-F12" of one
/// header line are not two stubs. A line that starts with a later clause of its note line
/// names what that line is about: "Block 17: warm 38 °C vs 27 °C others", not "warm 38 °C vs
/// 27 °C others".
pub fn join_clauses<'a>(
    in_order: impl IntoIterator<Item = (usize, &'a str, &'a str, Option<&'a str>)>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<usize> = None;
    for (line_of, lead, text, subject) in in_order {
        match out.last_mut() {
            Some(line) if !lead.is_empty() && last == Some(line_of) => {
                // A model's rewrite of the clause before may end its sentence: "A-35." and
                // ", A-12" are "A-35, A-12".
                if lead.starts_with([',', ';']) && line.ends_with('.') && !line.ends_with("..") {
                    line.pop();
                }
                line.push_str(lead);
                line.push_str(text);
            }
            _ => match subject {
                Some(name) if !lead.is_empty() && !text.contains(name) => {
                    out.push(format!("{name}: {text}"))
                }
                _ => out.push(text.to_string()),
            },
        }
        last = Some(line_of);
    }
    out
}

/// What the note line of unit `u` is about, when `u` is a later clause of that line without
/// a name of its own: the first asset name ([`fieldbrief_core::quality::asset_names`]) among
/// the first words of the line's first clause ("Block 17" of "Block 17 case slightly swollen,
/// warm 38 °C vs 27 °C others"). `None` for a line's first clause, and for a line that names
/// nothing early.
pub fn subject(seg: &Segmented, u: usize) -> Option<String> {
    if seg.units[u].lead.is_empty() {
        return None;
    }
    if !fieldbrief_core::quality::asset_names(&seg.units[u].text).is_empty() {
        return None;
    }
    let first = &seg.units[line_start(seg, u)].text;
    let named = fieldbrief_core::quality::asset_names(first);
    let name = named.first()?;
    let at = first.find(name.as_str())?;
    // "Ops running CWP-1 and CWP-3 only, header pressure down to 3.1 bar": the header is
    // neither pump's.
    let kind = |n: &str| n.trim_end_matches(|c: char| c.is_ascii_digit()).to_lowercase();
    let siblings = named.iter().skip(1).any(|n| kind(n) == kind(name));
    (first[..at].split_whitespace().count() < SUBJECT_WITHIN && !siblings).then(|| name.clone())
}

/// How early in its line a name must come to be what the line is about (in words before it).
const SUBJECT_WITHIN: usize = 5;

/// Summarizes normalised text.
pub fn summarize(text: &str, request: &SummaryRequest) -> Result<Summary, EngineError> {
    let segmented = units(text);
    let ranked = rank(&segmented, request.style);
    if ranked.is_empty() {
        return Err(EngineError::Unsummarizable("the note has no sentences to summarize".into()));
    }
    let unit_text = |i: usize| segmented.units[i].text.as_str();
    let max_words = request.max_words.max(1);

    let (text, selected) = match request.style {
        Style::Handover => handover::layout(&ranked, &segmented, max_words),
        Style::Bullets | Style::Brief => {
            let chosen = select(&ranked, &segmented, max_words, |_| true);
            // Laid out as the model's lines are: the line a clause's subject pushes over the
            // length goes, the lowest-ranked first.
            let lines: Vec<Line> = chosen
                .iter()
                .filter_map(|&u| ranked.iter().find(|r| r.unit == u))
                .map(|r| Line::of(&segmented, r))
                .collect();
            if lines.is_empty() {
                (String::new(), Vec::new())
            } else {
                let (mut text, mut kept) = fit(request.style, lines.clone(), max_words);
                if fieldbrief_core::quality::summary_words(&text) > max_words {
                    // One line, and only its subject over the length: the line alone.
                    let bare = lines.into_iter().map(|l| Line { subject: None, ..l }).collect();
                    (text, kept) = fit(request.style, bare, max_words);
                }
                let mut units: Vec<usize> = kept.iter().map(|l| l.unit).collect();
                units.sort_unstable();
                (text, units)
            }
        }
    };
    if selected.is_empty() {
        // Not even one unit fits the budget: show the best one that is a whole thought,
        // visibly cut.
        let best = ranked
            .iter()
            .find(|r| fieldbrief_core::ending::check(unit_text(r.unit)).is_ok())
            .unwrap_or(&ranked[0])
            .unit;
        return Ok(Summary {
            text: cut_to_words(unit_text(best), max_words),
            selected: vec![best],
            segmented,
        });
    }
    Ok(Summary { text, selected, segmented })
}

/// What a model's summary of a note is held to: the facts of the units this summarizer selects
/// at the request's length, the summary a technician gets when the model's fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Salient {
    /// Their codes and part numbers, part numbers with their "P/N" label. On the tuning sets
    /// nearly nine in ten error codes and part numbers are key facts (against one in five
    /// measurements), so a model's summary that drops them has lost what the technician acts
    /// on; the quality gate holds it to them (`quality::salient_facts_kept`).
    pub codes: Vec<String>,
    /// Every figure of theirs a rewrite must keep (`condense::required_figures`): readings,
    /// codes, references, dates. A model's summary that carries fewer than half of them says
    /// less than the extract would (`quality::figures_kept`).
    pub figures: Vec<String>,
}

/// The [`Salient`] facts of a summary of `text` at `request`'s length.
pub fn salient_facts(text: &str, request: &SummaryRequest) -> Salient {
    let Ok(summary) = summarize(text, request) else { return Salient::default() };
    let mut out = Salient::default();
    for &u in &summary.selected {
        let unit = &summary.segmented.units[u].text;
        let wanted: Vec<String> = fieldbrief_core::facts::extract(unit)
            .into_iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    fieldbrief_core::facts::FactKind::ErrorCode
                        | fieldbrief_core::facts::FactKind::PartNumber
                )
            })
            .map(|f| f.text)
            .collect();
        for figure in fieldbrief_core::condense::required_figures(unit) {
            // The code itself, or the part number after its label: "E1" is not "E12".
            let is_wanted = |w: &String| {
                figure == *w
                    || figure.strip_suffix(w.as_str()).is_some_and(|label| {
                        label.ends_with(|c: char| !c.is_alphanumeric() && c != '-')
                    })
            };
            if wanted.iter().any(is_wanted) && !out.codes.contains(&figure) {
                out.codes.push(figure.clone());
            }
            if !out.figures.contains(&figure) {
                out.figures.push(figure);
            }
        }
    }
    out
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
        if chosen.contains(&r.unit) {
            // Chosen already, as the clause a later one goes on from.
            continue;
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
        // A clause that goes on from the one before ("then stopped on E-411", "but the timer
        // is set at 3 min") comes with it, or not at all. The clause before is in already when
        // chosen here or left out of this choice by `allow` (an earlier round of the local
        // engine wrote it).
        let before_in =
            |u: usize| chosen.contains(&u) || ranked.iter().any(|x| x.unit == u && !allow(x));
        if goes_on(seg, r.unit) && !before_in(r.unit - 1) {
            let before = &seg.units[r.unit - 1].text;
            let both = words + before.split_whitespace().count();
            if used + both > budget
                || goes_on(seg, r.unit - 1)
                || fieldbrief_core::ending::check(before).is_err()
            {
                continue;
            }
            used += both;
            chosen.push(r.unit - 1);
            chosen.push(r.unit);
            chosen_terms.push(terms::term_set(before));
            chosen_terms.push(these);
            continue;
        }
        used += words;
        chosen.push(r.unit);
        chosen_terms.push(these);
    }
    chosen
}

/// Whether unit `u` is a clause that goes on from the clause before it: "then …", "but …",
/// "so …", "and …".
fn goes_on(seg: &Segmented, u: usize) -> bool {
    let unit = &seg.units[u];
    let first = unit.text.split_whitespace().next().unwrap_or_default();
    u > 0 && !unit.lead.is_empty() && ["then", "but", "so", "and"].contains(&first)
}

/// One line of a summary being written: a unit of the note, where it ranks, its handover
/// section, and its text (the unit's own words, or a model's shorter rewrite of them).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub unit: usize,
    pub score: f64,
    pub section: Section,
    pub text: String,
    /// The unit's [`segment::Unit::lead`]: a clause continuing the line of the unit before.
    pub lead: String,
    /// The note line the unit is part of ([`line_start`]).
    pub line: usize,
    /// The unit of the clause this one goes on from ("…, then stopped on E-411"): a summary
    /// shows it only with that clause.
    pub needs: Option<usize>,
    /// What the note line is about, shown before the unit when it starts a summary line
    /// ([`subject`]).
    pub subject: Option<String>,
}

impl Line {
    /// The line of `r`'s unit in its own words.
    pub fn of(seg: &Segmented, r: &Ranked) -> Line {
        Line {
            unit: r.unit,
            score: r.score,
            section: r.section,
            text: seg.units[r.unit].text.clone(),
            lead: seg.units[r.unit].lead.clone(),
            line: line_start(seg, r.unit),
            needs: goes_on(seg, r.unit).then(|| r.unit - 1),
            subject: subject(seg, r.unit),
        }
    }
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
        .map(|r| Line::of(seg, r))
        .collect()
}

/// Lays out `lines` in document order in `style`.
pub fn render(style: Style, lines: &[Line]) -> String {
    let mut in_order: Vec<&Line> = lines.iter().collect();
    in_order.sort_by_key(|l| l.unit);
    let joined = |these: &mut dyn Iterator<Item = &&Line>| {
        join_clauses(
            these.map(|l| (l.line, l.lead.as_str(), l.text.as_str(), l.subject.as_deref())),
        )
    };
    match style {
        Style::Bullets => joined(&mut in_order.iter())
            .iter()
            .map(|l| format!("- {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Style::Brief => joined(&mut in_order.iter())
            .iter()
            .map(|l| as_prose_sentence(l))
            .collect::<Vec<_>>()
            .join(" "),
        Style::Handover => {
            let mut out = Vec::new();
            for s in [Section::Found, Section::Done, Section::Open] {
                out.push(s.title().to_string());
                let lines = joined(&mut in_order.iter().filter(|l| l.section == s));
                if lines.is_empty() {
                    out.push(handover::NONE_LINE.to_string());
                }
                out.extend(lines.iter().map(|l| format!("- {}", handover::without_label(l, s))));
            }
            out.join("\n")
        }
    }
}

/// [`render`] of the best of `lines` within `max_words`: lines are taken in rank order, each
/// kept when the text still fits, so a long line that does not fit leaves its words to the
/// shorter lines below it; a line that goes on from another ([`Line::needs`]) only after it.
/// A handover takes the best line of each section first, as [`outline`] chose them: an open
/// item dropped for a reading would leave "Open: none recorded" over work still to do.
/// Returns the text and the lines kept; the best line is kept even alone over the length.
pub fn fit(style: Style, mut lines: Vec<Line>, max_words: usize) -> (String, Vec<Line>) {
    // A clause and the one it goes on from rank together: the one before first, then it.
    for i in 0..lines.len() {
        if let Some(j) = lines.iter().position(|l| Some(l.unit) == lines[i].needs) {
            let score = lines[i].score.max(lines[j].score);
            lines[i].score = score;
            lines[j].score = score;
        }
    }
    lines.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.unit.cmp(&b.unit)));
    if style == Style::Handover {
        // Stable: each section's best line first, in rank order, then the rest in rank order.
        let mut seen = Vec::new();
        let firsts: Vec<bool> = lines
            .iter()
            .map(|l| {
                let first = !seen.contains(&l.section);
                seen.push(l.section);
                first
            })
            .collect();
        let mut keyed: Vec<(bool, Line)> = firsts.into_iter().zip(lines).collect();
        keyed.sort_by_key(|(first, _)| !first);
        lines = keyed.into_iter().map(|(_, l)| l).collect();
    }
    let best = lines.first().cloned();
    let mut kept: Vec<Line> = Vec::with_capacity(lines.len());
    for line in lines {
        if line.needs.is_some_and(|u| !kept.iter().any(|k| k.unit == u)) {
            continue;
        }
        kept.push(line);
        if kept.len() > 1
            && fieldbrief_core::quality::summary_words(&render(style, &kept)) > max_words
        {
            kept.pop();
        }
    }
    if kept.is_empty() {
        // Only lines without the clause they go on from: the best of them, not nothing.
        kept.extend(best);
    }
    (render(style, &kept), kept)
}

/// [`fit`], then the room it leaves (the model's rewrites came out shorter than expected, or a
/// long line did not fit) filled with the next lines of the note in rank order and their own
/// words, as [`summarize`] fills its length: a summary does not stop short of its length while
/// a line that fits is left out. Lines of `lines` that [`fit`] dropped are not offered again.
pub fn fit_and_fill(
    seg: &Segmented,
    ranked: &[Ranked],
    style: Style,
    lines: Vec<Line>,
    max_words: usize,
) -> (String, Vec<Line>) {
    let taken: Vec<usize> = lines.iter().map(|l| l.unit).collect();
    let (text, mut kept) = fit(style, lines, max_words);
    let room = max_words.saturating_sub(fieldbrief_core::quality::summary_words(&text));
    // In rank order: a handover's sections were seeded when the lines were outlined.
    let fill = outline(seg, ranked, Style::Bullets, room, &taken);
    if fill.is_empty() {
        return (text, kept);
    }
    kept.extend(fill);
    fit(style, kept, max_words)
}

/// A list item read as prose ends with a full stop.
fn as_prose_sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) { text.to_string() } else { format!("{text}.") }
}

/// The first `max_words` words of `text`, marked as cut when anything was dropped; a cut is
/// not left inside a bracket ("ALM-12 (low suction…" becomes "ALM-12…").
fn cut_to_words(text: &str, max_words: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max_words {
        return text.to_string();
    }
    let mut kept = &words[..max_words];
    let open = |ws: &[&str]| {
        let joined = ws.join(" ");
        joined.matches(['(', '[']).count() > joined.matches([')', ']']).count()
    };
    while kept.len() > 1 && open(kept) {
        kept = &kept[..kept.len() - 1];
    }
    format!("{}…", kept.join(" "))
}

#[cfg(test)]
mod tests;
