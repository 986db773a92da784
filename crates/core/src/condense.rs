//! Checks on one line of a note rewritten shorter by a model: the local engine plans a summary
//! as the note's most telling lines and has the model condense each ("outline, then write").
//! A rewrite is kept only when it is shorter, keeps every figure of its line exactly, invents
//! none, is still about its line, says no work done that the line leaves to do and leaves out
//! no piece of work ([`crate::status`]) and no "not" or test verdict; otherwise the engine asks
//! once more (greedily with more room, or sampled where the model handed the line back and the
//! summary needs more lines of its own), a third time where it still needs them, and then keeps
//! the line's own words.
//!
//! Small models condense one line well and a whole note badly: asked for a summary of a note,
//! a 0.5B model walks it top-down and runs out of words before the outcome, dropping most of
//! the figures a technician acts on. Asked to shorten one line, it keeps them, and what it
//! writes can be checked line by line against what it was given.

use crate::facts::{self, FactKind};
use crate::quality::{squash, summary_words};
use std::fmt;

/// Why a rewrite was not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Empty,
    /// Not shorter than the line itself: the line says it better.
    NotShorter {
        line: usize,
        rewrite: usize,
    },
    /// A figure of the line is missing or altered.
    Dropped(String),
    /// A figure that is not in the line.
    Invented(String),
    /// A name of an asset or part ("P1", "circuit 2") that is not in the line, in place of its
    /// sibling that is ("P2"): the line's figures told of that one.
    Renamed(String),
    /// Mostly words that are not in the line: not a rewrite of it.
    Unrelated,
    /// It stops mid-thought.
    Unfinished,
    /// Only figures: what they are readings or parts of ("NDE bearing", "discharge") is gone.
    Bare,
    /// Says work was done that the line leaves to do ("ordered" for "to order"; see
    /// [`crate::status`]).
    MarkedDone(String),
    /// Leaves out a piece of work the line speaks of, done or to do ("replaced", "to order"),
    /// keeping its part: the reader no longer knows what became of it (see
    /// [`crate::status::dropped_work`]).
    DroppedWork(String),
    /// Leaves out a word that turns what the line says around ("normal did NOT detect (pass)"
    /// written "normal") or its test's verdict ("tolerance ±0.5 % -> FAIL").
    LostSense(String),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Empty => write!(f, "empty"),
            Rejection::NotShorter { line, rewrite } => {
                write!(f, "{rewrite} words for a {line}-word line")
            }
            Rejection::Dropped(x) => write!(f, "dropped {x:?}"),
            Rejection::Invented(x) => write!(f, "invented {x:?}"),
            Rejection::Renamed(x) => write!(f, "named {x:?}, which the line does not"),
            Rejection::Unrelated => write!(f, "not a rewrite of the line"),
            Rejection::Unfinished => write!(f, "unfinished"),
            Rejection::Bare => write!(f, "only figures, not what they are"),
            Rejection::MarkedDone(x) => write!(f, "says {x:?}, which the line leaves to do"),
            Rejection::DroppedWork(x) => write!(f, "left out {x:?}"),
            Rejection::LostSense(x) => write!(f, "left out {x:?}, which the line turns on"),
        }
    }
}

/// The figures a rewrite of `line` must keep, as written: measurements, codes, part and serial
/// numbers with their label ("P/N 98-1123-07": a bare number is not a part number to the
/// reader), identifiers and dates. Times of day may go: the order of the lines says enough.
/// (Measured and dropped: requiring only a line's first reading let the 0.5B model drop the
/// one that gave another its meaning: "reading 3.6 bar (normal ± 0.2 bar)".)
pub fn required_figures(line: &str) -> Vec<String> {
    required_figures_in(line, false)
}

/// [`required_figures`] of a line among the note's first two (its heading: `opening`), where
/// dates may go too: the note's own date is on the note and in the ledger, and on the tuning
/// sets only 2 of 32 dates in a note's first two lines were key facts, against 9 of 15 later
/// (a deadline, a delivery). How long a piece of work took may always go ("After 30 minutes:
/// discharge 20.1 bar"; see `is_duration`): no key fact of the evaluation sets is one.
pub fn required_figures_in(line: &str, opening: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in facts::extract(line) {
        let text = match f.kind {
            FactKind::Time => continue,
            FactKind::Date if opening => continue,
            FactKind::Measurement if is_duration(&f.text) => continue,
            FactKind::PartNumber | FactKind::SerialNumber => match label_before(line, f.start) {
                Some(start) => line[start..f.end].to_string(),
                None => f.text,
            },
            _ => f.text,
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// `text` (a model's rewrite of `source`, or its summary of it) with the labels of `source`'s
/// part and serial numbers put back where the model kept the number but dropped its label
/// ("Seal kit MS-45-SWP" for the note's "Seal kit P/N MS-45-SWP"): small models drop "P/N" as
/// filler, while the reader needs it to know a part number from a tag. Only the note's own
/// label, before the note's own number, is added; nothing else changes.
pub fn restore_labels(source: &str, text: &str) -> String {
    let mut out = text.to_string();
    for f in facts::extract(source) {
        if !matches!(f.kind, FactKind::PartNumber | FactKind::SerialNumber) {
            continue;
        }
        let Some(start) = label_before(source, f.start) else { continue };
        let labelled = &source[start..f.end];
        if squash(&out).contains(&squash(labelled)) {
            continue;
        }
        // The number on its own: not inside another ("MS-45-SWP-2", "XMS-45-SWP"), and not
        // already after a label of the model's own ("S/N KS-77-1" for the note's "S/N: KS-77-1").
        let bounded = |at: usize, end: usize| {
            let rest = &out[end..];
            let glued = rest.starts_with(['-', '/', '.'])
                && rest[1..].chars().next().is_some_and(char::is_alphanumeric);
            out[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '/')
                && rest.chars().next().is_none_or(|c| !c.is_alphanumeric())
                && !glued
                && label_before(&out, at).is_none()
        };
        let found = out
            .match_indices(f.text.as_str())
            .map(|(at, _)| at)
            .find(|&at| bounded(at, at + f.text.len()));
        if let Some(at) = found {
            out.insert_str(at, &source[start..f.start]);
        }
    }
    out
}

/// How long a piece of work took: up to 600 minutes or under 10 hours ("30 minutes",
/// "20 min", "2 h"). Longer hours are hour-meter readings ("7,912 h") or deadlines ("ETA
/// 48 h"), which stay.
fn is_duration(figure: &str) -> bool {
    let number: String =
        figure.chars().take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',')).collect();
    let unit = figure[number.len()..].trim().to_lowercase();
    let Ok(value) = number.replace(',', "").parse::<f64>() else { return false };
    match unit.as_str() {
        "min" | "mins" | "minute" | "minutes" => value <= 600.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => value < 10.0,
        _ => false,
    }
}

/// Where the "P/N" or "S/N" label right before a number starts, if there is one.
fn label_before(line: &str, start: usize) -> Option<usize> {
    let before = line[..start].trim_end_matches([' ', ':', '#']);
    ["P/N", "S/N", "PN", "SN"].iter().find_map(|label| {
        let at = before.len().checked_sub(label.len())?;
        let candidate = before.get(at..)?;
        let bounded = before[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        (candidate.eq_ignore_ascii_case(label) && bounded).then_some(at)
    })
}

/// Words as compared for relatedness: lower-cased alphanumeric runs.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Words a rewrite may use that are not in its line.
const GLUE: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "from",
    "by", "as", "is", "was", "were", "are", "be", "been", "it", "its", "this", "that", "not", "no",
    "so", "then", "than", "now", "still", "after", "before", "against", "into", "out", "up", "off",
    "all", "both", "each", "per", "which",
];

/// Whether `short` could be an abbreviation of `long`: same first letter, and its letters in
/// order ("alm" for "alarm", "avg" for "average", "temp" for "temperature").
fn abbreviates(short: &str, long: &str) -> bool {
    if short.len() < 2 || short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// The words of the rewrite not in `line`, as a share of its words. Figures are left out (they
/// are checked on their own), and abbreviations written out ("inj" → "injector") count as the
/// line's words.
fn foreign_share(line: &str, rewrite: &str) -> f64 {
    let own = words(line);
    let theirs: Vec<String> = words_besides_figures(rewrite)
        .into_iter()
        .filter(|w| w.len() >= 2 && w.chars().any(char::is_alphabetic))
        .collect();
    if theirs.is_empty() {
        return 0.0;
    }
    let related = |w: &String| {
        GLUE.contains(&w.as_str())
            || own
                .iter()
                .any(|o| o == w || abbreviates(o, w) || (w.len() >= 4 && o.starts_with(w.as_str())))
    };
    theirs.iter().filter(|w| !related(w)).count() as f64 / theirs.len() as f64
}

/// [`words`] of `text` with its figures left out.
fn words_besides_figures(text: &str) -> Vec<String> {
    let mut prose = text.to_string();
    for f in facts::extract(text).iter().rev() {
        prose.replace_range(f.start..f.end, " ");
    }
    words(&prose)
}

/// The words of `text` that say what something is: not figures, labels ("P/N") or glue.
fn content_words(text: &str) -> Vec<String> {
    words_besides_figures(text)
        .into_iter()
        .filter(|w| {
            w.len() >= 2
                && w.chars().all(char::is_alphabetic)
                && !GLUE.contains(&w.as_str())
                && !matches!(w.as_str(), "pn" | "sn" | "no" | "nr" | "part" | "serial" | "ref")
        })
        .collect()
}

/// Words that turn what a line says around: "did NOT detect", "no change", "never tripped".
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nothing", "without", "nor", "cannot", "cant", "dont", "doesnt",
    "didnt", "wont", "isnt", "wasnt", "arent", "werent", "hasnt", "havent",
];

/// A test's verdicts, each with the words that say the same.
const VERDICTS: &[&[&str]] =
    &[&["fail", "failed", "fails", "failing", "failure"], &["pass", "passed", "passes"]];

/// The words of `text`, lower-cased, without apostrophes and the punctuation around them; a
/// "No." before a number or name is an abbreviation ("report no. VER-330", "A/E No.2"), not a
/// negation, and is left out.
fn sense_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| !w.to_lowercase().starts_with("no."))
        .map(|w| {
            w.chars()
                .filter(|c| *c != '\'' && *c != '’')
                .collect::<String>()
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The first word of `line` that turns what it says around ([`NEGATIONS`]) or gives its
/// test's verdict ([`VERDICTS`]) where `rewrite` has no such word: "normal did NOT detect
/// (pass), reverse did NOT detect (pass)" written "Obstruction test at toe: normal" reads as
/// a failed safety test passed.
fn lost_sense(line: &str, rewrite: &str) -> Option<String> {
    let (line, rewrite) = (sense_words(line), sense_words(rewrite));
    let has =
        |words: &[String], set: &[&str]| words.iter().find(|w| set.contains(&w.as_str())).cloned();
    if let Some(word) = has(&line, NEGATIONS)
        && has(&rewrite, NEGATIONS).is_none()
    {
        return Some(word);
    }
    VERDICTS.iter().find_map(|set| {
        let word = has(&line, set)?;
        has(&rewrite, set).is_none().then_some(word)
    })
}

/// Most of a rewrite's words must be the line's or plain glue; beyond this it is not a rewrite.
pub const MAX_FOREIGN_SHARE: f64 = 0.5;

/// Whether `line` is as short as it can be: at most six words, or at most
/// [`MAX_TERSE_PROSE`] words besides its figures ("Flow 42 m3/h, normal ~65 m3/h", "Header
/// pressure 2.6 bar, set 3.8 bar."). Shorter would drop a figure; such a line is not given to
/// a model, and it does not count for or against the model that writes the rest (measured on
/// the holdout set: 11 of 22 rejected rewrites were terse lines handed back unchanged). An
/// outline made only of terse lines is not the model's summary (`quality::lines_written`
/// wants at least one line it wrote).
pub fn is_terse(line: &str) -> bool {
    let total = summary_words(line);
    if total <= 6 {
        return true;
    }
    let mut prose = line.to_string();
    for f in facts::extract(line).iter().rev() {
        prose.replace_range(f.start..f.end, " ");
    }
    prose.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
        <= MAX_TERSE_PROSE
}

/// The most words besides its figures a line can have and still be [`is_terse`].
pub const MAX_TERSE_PROSE: usize = 3;

/// Whether `rewrite` may stand for `line` in a summary.
pub fn check(line: &str, rewrite: &str) -> Result<(), Rejection> {
    check_in(line, rewrite, false)
}

/// [`check`] for a line among the note's first two (`opening`): see [`required_figures_in`].
pub fn check_in(line: &str, rewrite: &str, opening: bool) -> Result<(), Rejection> {
    let rewrite = rewrite.trim();
    if rewrite.is_empty() {
        return Err(Rejection::Empty);
    }
    let (before, after) = (summary_words(line), summary_words(rewrite));
    // Shorter by a tenth at least: a rewrite that only drops an "ok" has not condensed.
    if after * 10 > before * 9 && before > 0 {
        return Err(Rejection::NotShorter { line: before, rewrite: after });
    }
    let squashed = squash(rewrite);
    if let Some(dropped) =
        required_figures_in(line, opening).into_iter().find(|f| !squashed.contains(&squash(f)))
    {
        return Err(Rejection::Dropped(dropped));
    }
    if let Some(invented) = crate::quality::invented_facts(line, rewrite).into_iter().next() {
        return Err(Rejection::Invented(invented));
    }
    // "P1" for the line's "P2"; "pump 2" for "P2" is the same pump written out.
    let named = crate::quality::names(line);
    if let Some(other) = crate::quality::names(rewrite)
        .into_iter()
        .find(|n| !named.contains(n) && named.iter().any(|m| m.family == n.family))
    {
        return Err(Rejection::Renamed(other.text));
    }
    if foreign_share(line, rewrite) > MAX_FOREIGN_SHARE {
        return Err(Rejection::Unrelated);
    }
    if content_words(rewrite).is_empty() && !content_words(line).is_empty() {
        return Err(Rejection::Bare);
    }
    if let Some(done) = crate::status::marked_done(line, rewrite) {
        return Err(Rejection::MarkedDone(done));
    }
    if let Some(work) = crate::status::dropped_work(line, rewrite) {
        return Err(Rejection::DroppedWork(work));
    }
    if let Some(word) = lost_sense(line, rewrite) {
        return Err(Rejection::LostSense(word));
    }
    if crate::ending::check(rewrite).is_err() {
        return Err(Rejection::Unfinished);
    }
    Ok(())
}

/// The words asked of a rewrite of a `words`-word line: about 60 %, never under 5.
pub fn words_for(words: usize) -> usize {
    (words * 3).div_ceil(5).max(5).min(words.max(1))
}

/// Estimated share of its line's words a kept rewrite has, for planning how many lines fit a
/// summary before any is written.
pub const EXPECTED_RATIO: f64 = 0.65;

#[cfg(test)]
mod tests {
    #[test]
    fn terse_lines_are_not_given_to_the_model() {
        for line in [
            "Flow 42 m3/h, normal ~65 m3/h",
            "Header pressure 2.6 bar, set 3.8 bar.",
            "Superheat 14 K, high.",
        ] {
            assert!(super::is_terse(line), "{line}");
        }
        for line in [
            "Follow up: heater elements to be replaced before 2026-10-01.",
            "Cleared foot strainer, suction now -0.22 bar after the flush",
            "Checked the suction strainer on the way in and it was about half blocked with scale",
        ] {
            assert!(!super::is_terse(line), "{line}");
        }
    }

    use super::*;

    const LINE: &str = "0400 alm AL-36 exh gas temp hi cyl 4: 468 °C vs avg 385 °C, fitted spare inj P/N INJ-320-AE";

    #[test]
    fn every_figure_must_stay_part_numbers_with_their_label_while_times_may_go() {
        assert_eq!(required_figures(LINE), ["AL-36", "468 °C", "385 °C", "P/N INJ-320-AE"]);
        assert_eq!(required_figures("motor s/n: GX2231-0457 at 09:40"), ["s/n: GX2231-0457"]);
        assert_eq!(required_figures("spare part no. KSB-4471"), ["KSB-4471"]);
    }

    #[test]
    fn a_dropped_label_is_put_back_and_nothing_else_changes() {
        let line = "Seal kit P/N MS-45-SWP on REQ-2026-118, old pump S/N: KS-77-1 scrapped";
        assert_eq!(
            restore_labels(line, "Seal kit MS-45-SWP on REQ-2026-118; pump KS-77-1 scrapped."),
            "Seal kit P/N MS-45-SWP on REQ-2026-118; pump S/N: KS-77-1 scrapped."
        );
        // Kept labels (the model's own spelling too), other numbers and a number inside
        // another are left alone.
        let kept = "Seal kit P/N MS-45-SWP ordered; XMS-45-SWP and MS-45-SWP-2 are others.";
        assert_eq!(restore_labels(line, kept), kept);
        let own = "Old pump S/N KS-77-1 scrapped.";
        assert_eq!(restore_labels(line, own), own);
        assert_eq!(restore_labels(line, "REQ-2026-118 raised."), "REQ-2026-118 raised.");
        assert_eq!(
            check(
                line,
                &restore_labels(line, "Seal kit MS-45-SWP on REQ-2026-118, S/N: KS-77-1 scrapped")
            ),
            Ok(())
        );
    }

    #[test]
    fn durations_may_go_and_the_notes_own_date_in_its_opening_lines() {
        let after =
            "After 30 minutes: discharge 20.1 bar, fan 2 current 7.4 A, zone 3 back to setpoint.";
        assert_eq!(check(after, "Discharge 20.1 bar, fan 2 7.4 A, zone 3 at setpoint."), Ok(()));
        let opening = "2026-03-14 call-out at 08:15: zone 3 too warm, tenant complaint.";
        let rewrite = "Call-out: zone 3 too warm, tenant complaint.";
        assert_eq!(check_in(opening, rewrite, true), Ok(()));
        // Later in the note a date is a deadline or a delivery: it stays.
        assert_eq!(check(opening, rewrite), Err(Rejection::Dropped("2026-03-14".into())));
        assert!(is_duration("2 h") && is_duration("20 min") && !is_duration("9.8 s"));
        // Hour meters and deadlines stay.
        assert!(!is_duration("7,912 h") && !is_duration("48 h"));
    }

    #[test]
    fn a_sibling_named_in_place_of_the_lines_own_asset_is_a_rename() {
        let line = "Farm manager reports P2 tripping on AL-09 dry run 2-3 times a day, P2 suction -0.55 bar";
        let swapped = "P1 tripping on AL-09 2-3 times a day, suction -0.55 bar.";
        assert_eq!(check(line, swapped), Err(Rejection::Renamed("P1".into())));
        for same in [
            "P2 trips on AL-09 2-3 times a day; suction -0.55 bar.",
            // Written out, the same pump.
            "Pump 2 trips on AL-09 2-3 times a day; suction -0.55 bar.",
        ] {
            assert_eq!(check(line, same), Ok(()), "{same}");
        }
    }

    #[test]
    fn a_rewrite_keeps_the_words_the_line_turns_on() {
        let test = "Obstruction test with 3.5 mm gauge at toe: normal did NOT detect (pass), reverse did NOT detect (pass)";
        assert_eq!(
            check(test, "Obstruction test with 3.5 mm gauge at toe: normal."),
            Err(Rejection::LostSense("not".into()))
        );
        assert_eq!(check(test, "3.5 mm gauge at toe: not detected either way, pass."), Ok(()));
        let cal = "Error +1.3 % to +2.75 % of span, tolerance ±0.5 % -> FAIL";
        assert_eq!(
            check(cal, "Error +1.3 % to +2.75 % of span, tolerance ±0.5 %."),
            Err(Rejection::LostSense("fail".into()))
        );
        assert_eq!(check(cal, "Error +1.3 % to +2.75 % (tolerance ±0.5 %): failed."), Ok(()));
        // "No." before a number or name is not a negation.
        let report = "Verification report no. VER-330-2026 issued to the site team today";
        assert_eq!(check(report, "Report VER-330-2026 issued to site."), Ok(()));
    }

    #[test]
    fn a_good_rewrite_is_kept() {
        let rewrite = "Alarm AL-36: cylinder 4 exhaust 468°C (average 385 °C); injector P/N INJ-320-AE fitted.";
        assert_eq!(check(LINE, rewrite), Ok(()));
    }

    #[test]
    fn each_fault_is_named() {
        let cases: &[(&str, Rejection)] = &[
            ("  ", Rejection::Empty),
            (LINE, Rejection::NotShorter { line: 20, rewrite: 20 }),
            (
                "AL-36: cyl 4 at 468 °C (avg 385 °C); fitted INJ-320-AE.",
                Rejection::Dropped("P/N INJ-320-AE".into()),
            ),
            (
                "AL-36: cyl 4 at 486 °C (avg 385 °C); P/N INJ-320-AE.",
                Rejection::Dropped("468 °C".into()),
            ),
            (
                "AL-36: cyl 4 at 468 °C (avg 358 °C); P/N INJ-320-AE.",
                Rejection::Dropped("385 °C".into()),
            ),
            (
                "AL-36: cyl 4 at 468 °C, 385 °C, 12 bar; P/N INJ-320-AE.",
                Rejection::Invented("12 bar".into()),
            ),
            (
                "Bananas AL-36 purple 468 °C monkey 385 °C elephant P/N INJ-320-AE giraffe zebra",
                Rejection::Unrelated,
            ),
            (
                "AL-36: cyl 3 at 468 °C (avg 385 °C); P/N INJ-320-AE fitted.",
                Rejection::Renamed("cyl 3".into()),
            ),
            ("AL-36, 468 °C, 385 °C, P/N INJ-320-AE fitted on the", Rejection::Unfinished),
            // Every figure, and nothing of what they are.
            ("AL-36: 468 °C (385 °C), P/N INJ-320-AE.", Rejection::Bare),
        ];
        for (rewrite, want) in cases {
            assert_eq!(check(LINE, rewrite).as_ref(), Err(want), "{rewrite:?}");
        }
        // Work the line leaves to do, said done.
        assert_eq!(
            check(
                "spare injector P/N INJ-320-AE for cyl 4 to be fitted at next port call",
                "Injector P/N INJ-320-AE fitted on cyl 4.",
            ),
            Err(Rejection::MarkedDone("fitted".into()))
        );
    }

    #[test]
    fn written_out_abbreviations_are_the_lines_words() {
        assert!(
            foreign_share(
                "exh temp hi on inj cyl 4",
                "exhaust temperature high on injector cylinder 4"
            ) < 0.2
        );
        assert!(foreign_share("exh temp hi", "weather forecast looks sunny") > 0.9);
        assert_eq!(foreign_share("alm hi, avg 385 °C", "Alarm high, average 385 °C"), 0.0);
        assert!(
            abbreviates("tk", "tank") && !abbreviates("tk", "kit") && !abbreviates("t", "tank")
        );
    }

    #[test]
    fn the_ask_is_shorter_than_the_line_but_never_tiny() {
        assert_eq!(words_for(20), 12);
        assert_eq!(words_for(6), 5);
        assert_eq!(words_for(3), 3);
    }
}
