//! Summary styles and their default lengths.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the summary is laid out. The technician picks one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
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

    /// The word budget used when the request does not set one. A brief is meant to be read in
    /// a glance; a handover carries three sections and needs more room.
    pub fn default_max_words(self) -> usize {
        match self {
            Style::Bullets => 150,
            Style::Brief => 70,
            Style::Handover => 180,
        }
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
