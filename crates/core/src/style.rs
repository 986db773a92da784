//! Summary styles and their default lengths.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the summary is laid out. The technician picks one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// A short list of the points that matter, in document order.
    #[default]
    Bullets,
    /// One short paragraph.
    Brief,
    /// A shift handover: what was found, what was done, what is still open.
    Handover,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::Bullets, Style::Brief, Style::Handover];

    pub fn as_str(self) -> &'static str {
        match self {
            Style::Bullets => "bullets",
            Style::Brief => "brief",
            Style::Handover => "handover",
        }
    }

    /// The most words a default-length summary in this style gets from a note of ordinary
    /// length. A brief is meant to be read in a glance; a handover carries three sections and
    /// needs more room. Longer notes get more ([`Style::target_words`]).
    pub fn max_target_words(self) -> usize {
        match self {
            Style::Bullets => 150,
            Style::Brief => 70,
            Style::Handover => 180,
        }
    }

    fn percent(self) -> usize {
        match self {
            Style::Bullets => 40,
            Style::Brief => 25,
            Style::Handover => 40,
        }
    }

    /// The ceiling for a `note_words`-word note: [`Style::max_target_words`] up to the length
    /// whose share reaches it (375 words for bullets), then growing with the square root of the
    /// note's length, to at most three times as much. A week's 2,000-word log told in 150 words
    /// kept about half the key facts of the long tuning notes (0.56 with the extractive
    /// ranking); with the ceiling growing (346 words, a sixth of the note) 0.68. A summary
    /// still condenses: its share of the note falls as the note grows.
    pub fn ceiling_words(self, note_words: usize) -> usize {
        let cap = self.max_target_words();
        let knee = cap * 100 / self.percent();
        if note_words <= knee {
            return cap;
        }
        let grown = cap as f64 * (note_words as f64 / knee as f64).sqrt();
        (grown.round() as usize).min(cap * 3)
    }

    /// The fewest words a default-length summary gets: below this a summary stops being
    /// useful, whatever the note's length.
    pub fn min_target_words(self) -> usize {
        match self {
            Style::Bullets => 25,
            Style::Brief => 20,
            Style::Handover => 40,
        }
    }

    /// The default length of a summary of a `note_words`-word note: a share of the note
    /// (bullets 40 %, brief 25 %, handover 40 %: a summary condenses), at least
    /// [`Style::min_target_words`] and at most [`Style::ceiling_words`], and never more
    /// words than the note itself has (a ten-word note is not padded to 25).
    pub fn target_words(self, note_words: usize) -> usize {
        let share = (note_words * self.percent()).div_ceil(100);
        share.clamp(self.min_target_words(), self.ceiling_words(note_words)).min(note_words.max(10))
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown style {0:?} (expected bullets, brief or handover)")]
pub struct UnknownStyle(pub String);

impl FromStr for Style {
    type Err = UnknownStyle;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bullets" => Ok(Style::Bullets),
            "brief" => Ok(Style::Brief),
            "handover" => Ok(Style::Handover),
            other => Err(UnknownStyle(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_length_scales_with_the_note_between_a_floor_and_the_styles_ceiling() {
        // The share of the note falls as the note grows past the ceiling.
        for style in Style::ALL {
            let share = |n: usize| style.target_words(n) as f64 / n as f64;
            assert!(
                share(500) > share(1000)
                    && share(1000) > share(2000)
                    && share(2000) > share(20_000)
            );
        }
        // (style, note words, target)
        let table = [
            (Style::Bullets, 5, 10),
            (Style::Bullets, 20, 20),
            (Style::Bullets, 60, 25),
            (Style::Bullets, 150, 60),
            (Style::Bullets, 250, 100),
            (Style::Bullets, 375, 150),
            (Style::Bullets, 500, 173),
            (Style::Bullets, 2000, 346),
            (Style::Bullets, 50_000, 450),
            (Style::Brief, 150, 38),
            (Style::Brief, 80, 20),
            (Style::Brief, 280, 70),
            (Style::Brief, 1000, 132),
            (Style::Handover, 150, 60),
            (Style::Handover, 90, 40),
            (Style::Handover, 450, 180),
            (Style::Handover, 5000, 540),
        ];
        for (style, words, want) in table {
            assert_eq!(style.target_words(words), want, "{style} for {words} words");
        }
        for style in Style::ALL {
            for words in [40, 100, 150, 250, 400, 1000, 2000, 10_000] {
                let t = style.target_words(words);
                assert!(
                    t * 100 <= words * 45 || t == style.min_target_words(),
                    "{style}: {t} of {words} does not condense"
                );
            }
        }
    }
}
