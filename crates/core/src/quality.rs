//! The quality gate: checks a summary against its note before it is stored and shown.
//!
//! Pure and cheap, so it runs on every request whatever the route. Extractive output passes
//! these checks by construction unless something upstream broke (which is what they catch);
//! model output can fail them, and the router (issue 5) escalates or flags on failure.

use crate::facts;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub checks: Vec<Check>,
}

/// Words in a summary as a reader counts them: list bullets are not words.
pub fn summary_words(summary: &str) -> usize {
    summary.split_whitespace().filter(|w| !matches!(*w, "-" | "*" | "•")).count()
}

pub fn assess(note: &str, summary: &str, max_words: usize) -> Verdict {
    let mut checks = Vec::new();
    let words = summary_words(summary);

    checks.push(Check {
        name: "non_empty".into(),
        passed: words > 0,
        detail: format!("{words} words"),
    });
    checks.push(Check {
        name: "within_length".into(),
        passed: words <= max_words,
        detail: format!("{words} of at most {max_words} words"),
    });

    // Summaries quote units, whose whitespace and Markdown emphasis are flattened.
    let flat_note = crate::segment::flatten(note);
    let invented: Vec<String> = facts::extract(summary)
        .into_iter()
        .filter(|f| !note.contains(&f.text) && !flat_note.contains(&f.text))
        .map(|f| f.text)
        .collect();
    checks.push(Check {
        name: "no_invented_facts".into(),
        passed: invented.is_empty(),
        detail: if invented.is_empty() {
            "every number, code and date in the summary is in the note".into()
        } else {
            format!("not in the note: {}", invented.join(", "))
        },
    });

    let unreadable = summary.chars().filter(|&c| c == '\u{FFFD}' || (c.is_control() && c != '\n' && c != '\t')).count();
    checks.push(Check {
        name: "readable".into(),
        passed: unreadable == 0,
        detail: if unreadable == 0 {
            "plain text".into()
        } else {
            format!("{unreadable} control or undecodable characters")
        },
    });

    let (grounded, content) = grounding(note, summary);
    let share = if content == 0 { 1.0 } else { grounded as f64 / content as f64 };
    checks.push(Check {
        name: "grounded".into(),
        passed: share >= MIN_GROUNDED_SHARE,
        detail: format!("{grounded} of {content} content words occur in the note"),
    });

    let repeated = repeated_line(summary);
    checks.push(Check {
        name: "no_repetition".into(),
        passed: repeated.is_none(),
        detail: match repeated {
            Some(line) => format!("repeated: {line:?}"),
            None => "no line or phrase loops".into(),
        },
    });

    Verdict { passed: checks.iter().all(|c| c.passed), checks }
}

/// Share of a summary's content words that must occur in the note. A faithful summary reuses
/// the note's words (abstractive ones rephrase some); a model that produces noise does not.
const MIN_GROUNDED_SHARE: f64 = 0.4;

/// (content words of `summary` found in `note`, content words of `summary`). Content words are
/// alphabetic runs of four letters or more, compared case-blind; section titles and the
/// handover placeholder do not count.
fn grounding(note: &str, summary: &str) -> (usize, usize) {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 4).map(str::to_lowercase).collect()
    };
    let in_note: std::collections::HashSet<String> = words(note).into_iter().collect();
    let skip = ["found", "done", "open", "none", "recorded"];
    let content: Vec<String> = words(summary).into_iter().filter(|w| !skip.contains(&w.as_str())).collect();
    (content.iter().filter(|w| in_note.contains(*w)).count(), content.len())
}

/// A line that occurs twice, or a 6-word phrase that occurs three times: the shapes a
/// generation loop takes.
fn repeated_line(summary: &str) -> Option<String> {
    let mut lines: HashMap<&str, usize> = HashMap::new();
    for line in summary.lines().map(str::trim).filter(|l| summary_words(l) >= 3) {
        let n = lines.entry(line).or_default();
        *n += 1;
        if *n == 2 {
            return Some(line.to_string());
        }
    }
    let words: Vec<&str> = summary.split_whitespace().collect();
    let mut grams: HashMap<&[&str], usize> = HashMap::new();
    for gram in words.windows(6) {
        let n = grams.entry(gram).or_default();
        *n += 1;
        if *n == 3 {
            return Some(gram.join(" "));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "Pump P-101 ran at 4.2\nbar. Fault **E104** cleared. Seal replaced.";

    fn failed(v: &Verdict) -> Vec<&str> {
        v.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn table_of_verdicts() {
        let looping = "the pump is fine and ok. ".repeat(4);
        let cases: &[(&str, usize, &[&str])] = &[
            ("- Pump ran at 4.2 bar.\n- Fault E104 cleared.", 50, &[]),
            ("", 50, &["non_empty"]),
            ("- Pump ran at 4.2 bar.\n- Fault E104 cleared.", 5, &["within_length"]),
            ("Pump ran at 5.5 bar with fault E999.", 50, &["no_invented_facts"]),
            ("Seal replaced on site.\nSeal replaced on site.", 50, &["no_repetition"]),
            ("Found:\n- Pump ran at\n4.2 bar.\nDone:\n- none recorded\nOpen:\n- none recorded", 50, &[]),
            (&looping, 100, &["no_repetition"]),
            ("- ofo b\u{5} w9\u{FFFD} w31 found o t", 50, &["readable"]),
            ("- Gearbox oiled thoroughly yesterday afternoon, customer satisfied.", 50, &["grounded"]),
            ("- The pump's seal was replaced and it ran at 4.2 bar.", 50, &[]),
        ];
        for (summary, max, want) in cases {
            let v = assess(NOTE, summary, *max);
            assert_eq!(failed(&v), *want, "summary {summary:?}");
            assert_eq!(v.passed, want.is_empty());
        }
    }

    #[test]
    fn bullets_are_not_words() {
        assert_eq!(summary_words("- one two\n- three"), 3);
    }
}
