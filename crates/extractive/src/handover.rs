//! The handover style: what was found, what was done, what is still open.
//!
//! A unit's section comes from the heading it sits under when that heading says so ("Work
//! done", "Open actions"), otherwise from its own verbs. Open-action language wins over
//! done-language because "seal needs replacing" is open even though it says "replac".

use crate::{Ranked, select};
use fieldbrief_core::quality;
use fieldbrief_core::segment::Segmented;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Found,
    Done,
    Open,
}

impl Section {
    /// The section's title line ([`HANDOVER_SECTIONS`](fieldbrief_core::style::HANDOVER_SECTIONS), in
    /// the order of the variants).
    pub fn title(self) -> &'static str {
        fieldbrief_core::style::HANDOVER_SECTIONS[self as usize]
    }
}

pub(crate) const OPEN_HEADINGS: &[&str] = &[
    "open",
    "outstanding",
    "to do",
    "todo",
    "follow",
    "next",
    "recommend",
    "required",
    "pending",
    "action items",
    "actions required",
    "further work",
    "remaining",
];
const DONE_HEADINGS: &[&str] = &[
    "work done",
    "work carried out",
    "actions taken",
    "work performed",
    "repairs",
    "completed",
    "done",
    "carried out",
];
const FOUND_HEADINGS: &[&str] = &[
    "finding",
    "observation",
    "as found",
    "readings",
    "inspection",
    "symptom",
    "fault found",
    "diagnos",
];

const OPEN_CUES: &[&str] = &[
    "need",
    "require",
    "recommend",
    "to be ",
    "awaiting",
    "pending",
    "outstanding",
    "follow up",
    "follow-up",
    "next visit",
    "monitor",
    "quote",
    "not yet",
    "todo",
    "to do",
    "must ",
    "should ",
    "due ",
    "schedule",
    "return to",
    "order ",
    "to order",
    "still ",
    "remains",
    "open action",
    "action:",
    "please ",
    "chase",
    "book ",
    "plan to",
    "will need",
    "arrange",
];
const DONE_CUES: &[&str] = &[
    "replaced",
    "repaired",
    "fitted",
    "installed",
    "tightened",
    "cleaned",
    "reset",
    "tested",
    "adjusted",
    "changed",
    "topped up",
    "greased",
    "lubricated",
    "calibrated",
    "restored",
    "commissioned",
    "isolated",
    "re-terminated",
    "removed",
    "refitted",
    "completed",
    "serviced",
    "flushed",
    "recharged",
    "swapped",
    "rewired",
    "re-torqued",
    "realigned",
    "aligned",
    "renewed",
    "sealed",
    "secured",
    "updated",
    "set to",
    "ran the",
    "carried out",
    "fixed",
    "cleared",
    "terminated",
    "bled",
    "purged",
    "re-gassed",
    "welded",
    "drained",
    "filled",
];
const FINDING_CUES: &[&str] = &[
    "found",
    "noted",
    "observed",
    "measured",
    "reading",
    "recorded",
    "showed",
    "indicated",
    "detected",
    "leak",
    "worn",
    "damaged",
    "fault",
    "alarm",
    "tripped",
    "failed",
    "noise",
    "vibration",
    "corroded",
    "cracked",
    "overheat",
    "high",
    "low",
    "loose",
];

pub(crate) fn contains_any(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack.contains(n))
}

pub fn has_finding_cue(text: &str) -> bool {
    contains_any(&text.to_lowercase(), FINDING_CUES)
}

/// The section a line names itself with a short label before a colon ("Open: BMS tuning",
/// "To do: order seal", "Work done: …"), if it does.
pub fn inline_label(text: &str) -> Option<Section> {
    let (label, rest) = text.split_once(':')?;
    let label = label.trim().to_lowercase();
    if rest.trim().is_empty() || label.is_empty() || label.split_whitespace().count() > 3 {
        return None;
    }
    if contains_any(&label, OPEN_HEADINGS) {
        Some(Section::Open)
    } else if contains_any(&label, DONE_HEADINGS) {
        Some(Section::Done)
    } else if contains_any(&label, FOUND_HEADINGS) {
        Some(Section::Found)
    } else {
        None
    }
}

/// `line` without the label that names `section`, under that section's own title ("Open: BMS
/// tuning" under "Open:" is "BMS tuning").
pub fn without_label(line: &str, section: Section) -> &str {
    match line.split_once(':') {
        Some((_, rest)) if inline_label(line) == Some(section) => rest.trim_start(),
        _ => line,
    }
}

/// The section of a unit: the one its line names ([`inline_label`]), else the heading's when it
/// says, else its own verbs'.
pub fn classify(text: &str, heading: Option<&str>) -> Section {
    if let Some(section) = inline_label(text) {
        return section;
    }
    if let Some(h) = heading.map(str::to_lowercase) {
        if contains_any(&h, OPEN_HEADINGS) {
            return Section::Open;
        }
        if contains_any(&h, DONE_HEADINGS) {
            return Section::Done;
        }
        if contains_any(&h, FOUND_HEADINGS) {
            return Section::Found;
        }
    }
    let lower = format!("{} ", text.to_lowercase());
    if contains_any(&lower, OPEN_CUES) {
        Section::Open
    } else if contains_any(&lower, DONE_CUES) {
        Section::Done
    } else {
        Section::Found
    }
}

pub const NONE_LINE: &str = "- none recorded";

/// `ranked` with the best unit of each section first, so no section with content comes out
/// empty, leaving out units in `taken`.
pub(crate) fn sections_first(ranked: &[Ranked], taken: &[usize]) -> Vec<Ranked> {
    let mut seeded: Vec<Ranked> = Vec::with_capacity(ranked.len());
    for s in [Section::Found, Section::Done, Section::Open] {
        if let Some(best) = ranked.iter().find(|r| r.section == s && !taken.contains(&r.unit)) {
            seeded.push(best.clone());
        }
    }
    let seeds: Vec<usize> = seeded.iter().map(|r| r.unit).collect();
    seeded.extend(ranked.iter().filter(|r| !seeds.contains(&r.unit)).cloned());
    seeded
}

/// Lays out a handover within `max_words` (section titles and "none recorded" lines count).
pub fn layout(ranked: &[Ranked], seg: &Segmented, max_words: usize) -> (String, Vec<usize>) {
    let sections = [Section::Found, Section::Done, Section::Open];
    let present: Vec<Section> =
        sections.into_iter().filter(|s| ranked.iter().any(|r| r.section == *s)).collect();
    let reserved = sections.len() + 2 * (sections.len() - present.len());
    let budget = max_words.saturating_sub(reserved);

    let seeded = sections_first(ranked, &[]);
    let mut chosen = select(&seeded, seg, budget, |_| true);
    let section_of = |unit: usize| ranked.iter().find(|r| r.unit == unit).map(|r| r.section);
    // Once, not for every try of the layout below.
    let subjects: Vec<(usize, Option<String>)> =
        chosen.iter().map(|&u| (u, crate::subject(seg, u))).collect();
    let subject_of = |unit: usize| {
        subjects.iter().find(|(u, _)| *u == unit).and_then(|(_, name)| name.as_deref())
    };
    loop {
        let text = render(&chosen, seg, &section_of, &subject_of);
        // A section whose units did not fit shows "none recorded", which costs words too:
        // drop the lowest-ranked unit until the whole layout fits.
        if quality::summary_words(&text) <= max_words || chosen.is_empty() {
            let mut in_order = chosen.clone();
            in_order.sort_unstable();
            return (text, in_order);
        }
        chosen.pop();
    }
}

fn render<'a>(
    chosen: &[usize],
    seg: &Segmented,
    section_of: &dyn Fn(usize) -> Option<Section>,
    subject_of: &dyn Fn(usize) -> Option<&'a str>,
) -> String {
    let mut in_order = chosen.to_vec();
    in_order.sort_unstable();
    let mut out = Vec::new();
    for s in [Section::Found, Section::Done, Section::Open] {
        out.push(s.title().to_string());
        let lines: Vec<String> =
            crate::join_clauses(in_order.iter().filter(|&&u| section_of(u) == Some(s)).map(|&u| {
                let unit = &seg.units[u];
                (crate::line_start(seg, u), unit.lead.as_str(), unit.text.as_str(), subject_of(u))
            }))
            .into_iter()
            .map(|l| format!("- {}", without_label(&l, s)))
            .collect();
        if lines.is_empty() {
            out.push(NONE_LINE.to_string());
        } else {
            out.extend(lines);
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let cases: &[(&str, Option<&str>, Section)] = &[
            ("Mechanical seal replaced with P/N 4471-22B.", None, Section::Done),
            ("Seal needs replacing at next visit.", None, Section::Open),
            ("Bearing noise on the drive end, 7.1 mm/s.", None, Section::Found),
            ("Customer to order a spare impeller.", None, Section::Open),
            ("Impeller", Some("Open actions"), Section::Open),
            ("Impeller swapped", Some("Work done"), Section::Done),
            ("Impeller swapped", Some("Findings"), Section::Found),
            ("Reset fault E104 and tested on load.", None, Section::Done),
            // A line's own label wins over its verbs and its heading.
            ("Open: BMS tuning V-03H", None, Section::Open),
            ("Next: seal kit replaced at the next visit", Some("Work done"), Section::Open),
            ("Work done: flushed the loop", Some("Findings"), Section::Done),
            ("Readings: suction 0.8 bar, replaced gauge", None, Section::Found),
            // Not a label: too long, or not a section's name.
            ("Pump 2: seal replaced", None, Section::Done),
            ("Found on arrival that the seal was replaced: leak", None, Section::Done),
        ];
        for (text, heading, want) in cases {
            assert_eq!(classify(text, *heading), *want, "{text:?} under {heading:?}");
        }
    }
}
