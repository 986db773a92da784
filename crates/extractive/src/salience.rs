//! How likely a unit of a note is to carry a key fact: the figures a technician acts on (the
//! alarm code, the reading that was off, the part fitted or still to order, the ticket, the
//! date something is due), as opposed to the figures that only describe (the asset tag and
//! serial number of the header, the readings that were fine).
//!
//! A logistic model over [`features`] of the unit, its facts in their context and its
//! position. The weights ([`WEIGHTS`]) were fitted on the project's tuning sets
//! (`assets/eval/set.jsonl` and `long.jsonl`: each unit labelled by whether it holds one of its
//! case's key facts) with `examples/rank_eval.rs --features` and `scripts/fit-salience`, and
//! checked on `holdout.jsonl`, which was never fitted on. Refit after changing a feature:
//!
//! ```sh
//! cargo run -p fieldbrief-extractive --example rank_eval -- assets/eval/set.jsonl \
//!     assets/eval/long.jsonl --features | scripts/fit-salience --l2 0.05
//! ```
//!
//! (with [`WEIGHTS`] set to `[0.0; N]` first when the number of features changed).

use crate::handover::{self, Section, contains_any};
use fieldbrief_core::facts::{self, FactKind};
use fieldbrief_core::segment::UnitKind;

/// Names of the features, in [`features`]' order (the fitting script prints them with the
/// weights).
pub const NAMES: [&str; N] = [
    "bias",
    "error_codes",
    "part_numbers",
    "serials_in_header",
    "serials_later",
    "dates_in_header",
    "dates_later",
    "tickets",
    "identifiers_later",
    "identifiers_in_header",
    "measurements",
    "measurement_off_spec",
    "measurement_result",
    "open_section",
    "done_section",
    "finding_cue",
    "header_line",
    "header_words",
    "log_words",
    "centrality",
    "keywords",
    "position",
    "table_row",
    "fragment",
    "unchecked_box",
    "fault_words",
    "fitted_words",
    "to_do_words",
    "facts_none",
    "fine_words",
    "comparison",
    "figure_density",
];

pub const N: usize = 32;

/// Fitted weights, in [`NAMES`]' order: 1,671 units (clauses, [`crate::units`]) of `set.jsonl`
/// and `long.jsonl`, L2 0.05 (log loss 0.242 on them, 0.319 on the holdout set; 0.01, 0.02,
/// 0.1 and 0.2 kept fewer key facts of the tuning sets). Refitted after the facts learned
/// alarm codes after "tripping on" and in lists, year-month dates, milliohms, microsiemens and
/// the like, and "quote"/"label"/"logged"/"certificate" as reference labels.
pub const WEIGHTS: [f64; N] = [
    -3.332, 2.202, 2.002, 0.196, 0.219, 0.354, 0.617, 1.828, -0.294, -0.230, 0.085, -0.062, 0.418,
    -0.013, 0.091, 0.255, -0.379, -0.186, 0.159, 0.330, 0.400, 0.321, 0.000, -0.364, -1.134, 0.733,
    0.707, 0.529, -1.013, -0.647, 1.017, 0.598,
];

/// What [`features`] needs to know of a unit besides its text.
pub struct Context<'a> {
    /// The unit's place among the note's content units (0 = first) and their number.
    pub index: usize,
    pub count: usize,
    pub kind: UnitKind,
    pub heading: Option<&'a str>,
    /// TextRank centrality, 0–1 (1 = the most central unit).
    pub centrality: f64,
    /// How many of the note's keywords the unit has.
    pub keywords: usize,
}

const TICKET_CUES: &[&str] = &[
    "ticket",
    "ref",
    "job",
    "wo ",
    "work order",
    "rma",
    "inc-",
    "req-",
    "case",
    "permit",
    "sample",
    "record",
    "report",
    "change",
    "batch",
    "order no",
    "quote",
    "label",
    "logged",
    "certificate",
    "fleet",
];
const OFF_SPEC_CUES: &[&str] = &[
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
    "should",
    "alarm",
    " was ",
    "high",
    "low",
    "design",
    "<",
    ">",
];
const RESULT_CUES: &[&str] =
    &["after", "now ", "retest", "result", "back to", "restored", "cleared", "ok after"];
const HEADER_WORDS: &[&str] =
    &["asset", "site", "s/n", "technician", "crew", "date", "location", "model", "serial"];
const FAULT_WORDS: &[&str] = &[
    "alarm", "alm", "fault", "trip", "fail", "leak", "damaged", "worn", "broken", "seized",
    "cracked", "lockout", "lock out", "error", "code",
];
const FITTED_WORDS: &[&str] =
    &["replaced", "fitted", "installed", "new ", "changed", "swapped", "renewed"];
const FINE_WORDS: &[&str] = &[
    " ok",
    "fine",
    "good",
    "no leak",
    "within spec",
    "all normal",
    "normal at",
    "as normal",
    "no change",
    "no fault",
    "no issue",
    "clean ",
    "in date",
    "correct",
];
const COMPARISON_CUES: &[&str] = &[
    "(normal",
    "(spec",
    "(limit",
    "(alarm",
    "(set",
    "(sp ",
    "(nameplate",
    "(design",
    "(was",
    "(expected",
    " vs ",
    " against ",
    "should be",
    "spec ",
    "limit ",
    "(min",
    "(max",
    "(target",
    "(change at",
    ", design ",
];
const TO_DO_WORDS: &[&str] = &[
    "order",
    "need",
    "quote",
    "to be",
    "eta",
    "due",
    "follow",
    "recommend",
    "return",
    "book",
    "raise",
    "next visit",
    "awaiting",
    "to do",
    "todo",
];

/// Whether the unit's text before byte `at` (where the identifier starts) names a reference
/// ("ticket INC-558203", "sample ref DGA-N02-0506") or the identifier itself looks like one.
fn is_ticket(text: &str, fact: &str, at: usize) -> bool {
    // The 16 bytes before, widened to a character boundary ("°", "Ω" and "₂" are several).
    let start = text.floor_char_boundary(at.saturating_sub(16));
    let before = text.get(start..at).unwrap_or_default().to_lowercase();
    let upper = fact.to_ascii_uppercase();
    contains_any(&before, TICKET_CUES)
        || ["INC-", "WO-", "RMA-", "REQ-", "PO-", "JOB-", "CHG-", "CAL-", "SR-", "FLT-", "LR-"]
            .iter()
            .any(|p| upper.starts_with(p))
}

/// The feature vector of one unit.
pub fn features(text: &str, cx: &Context) -> [f64; N] {
    let lower = format!("{} ", text.to_lowercase());
    let found = facts::extract(text);
    let header = cx.index <= 1;
    let mut x = [0.0f64; N];
    x[0] = 1.0;
    let mut measurements = 0usize;
    for f in &found {
        match f.kind {
            FactKind::ErrorCode => x[1] += 1.0,
            FactKind::PartNumber => x[2] += 1.0,
            FactKind::SerialNumber if header => x[3] += 1.0,
            FactKind::SerialNumber => x[4] += 1.0,
            FactKind::Date if header => x[5] += 1.0,
            FactKind::Date => x[6] += 1.0,
            FactKind::Identifier if is_ticket(text, &f.text, f.start) => x[7] += 1.0,
            FactKind::Identifier if header => x[9] += 1.0,
            FactKind::Identifier => x[8] += 1.0,
            FactKind::Measurement => measurements += 1,
            FactKind::Time => {}
        }
    }
    for v in &mut x[1..10] {
        *v = (*v).min(3.0);
    }
    x[10] = (measurements as f64).min(4.0);
    if measurements > 0 {
        x[11] = contains_any(&lower, OFF_SPEC_CUES) as u8 as f64;
        x[12] = contains_any(&lower, RESULT_CUES) as u8 as f64;
    }
    match handover::classify(text, cx.heading) {
        Section::Open => x[13] = 1.0,
        Section::Done => x[14] = 1.0,
        Section::Found => x[15] = handover::has_finding_cue(text) as u8 as f64,
    }
    x[16] = header as u8 as f64;
    x[17] = contains_any(&lower, HEADER_WORDS) as u8 as f64;
    let words = text.split_whitespace().count();
    x[18] = (words as f64 + 1.0).ln();
    x[19] = cx.centrality;
    x[20] = cx.keywords.min(3) as f64;
    x[21] = cx.index as f64 / cx.count.max(1) as f64;
    x[22] = (cx.kind == UnitKind::TableRow) as u8 as f64;
    x[23] = (words <= 4) as u8 as f64;
    x[24] = lower.trim_start().starts_with("[ ]") as u8 as f64;
    x[25] = contains_any(&lower, FAULT_WORDS) as u8 as f64;
    x[26] = contains_any(&lower, FITTED_WORDS) as u8 as f64;
    x[27] = contains_any(&lower, TO_DO_WORDS) as u8 as f64;
    x[28] = found.iter().all(|f| f.kind == FactKind::Time) as u8 as f64;
    x[29] = FINE_WORDS.iter().filter(|c| lower.contains(*c)).count().min(2) as f64;
    x[30] = contains_any(&lower, COMPARISON_CUES) as u8 as f64;
    x[31] = found.len() as f64 / words.max(1) as f64;
    x
}

/// The probability that a unit with features `x` holds a key fact.
pub fn probability(x: &[f64; N]) -> f64 {
    let z: f64 = x.iter().zip(WEIGHTS.iter()).map(|(a, b)| a * b).sum();
    1.0 / (1.0 + (-z).exp())
}
