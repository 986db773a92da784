//! The `Engine` trait: what every summarizer (extractive, local llama.cpp, cloud) offers the
//! pipeline. Engines get a normalised [`Document`] and a [`SummaryRequest`] and return text
//! plus the accounting the ledger needs; they never touch the store.

use crate::{Document, Style};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRequest {
    pub style: Style,
    /// Upper bound on the summary's words (see [`crate::quality::summary_words`]).
    pub max_words: usize,
    /// A first try, or the one retry under tighter constraints after a local summary failed
    /// the quality gate.
    #[serde(default)]
    pub attempt: Attempt,
}

/// Which try at a summary this is. A small model that copies or overruns on the first try is
/// asked once more, with a shorter budget, fewer bullets and greedy decoding, before the
/// pipeline falls back to the extractive summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Attempt {
    #[default]
    First,
    Retry,
}

/// Where a request's length target came from: the technician (per request, or in the
/// settings), or the default for a note of this length ([`Style::target_words`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LengthFrom {
    Request,
    Settings,
    Note,
}

/// A request's length target, as reported in the JSON, the ledger and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthTarget {
    pub words: usize,
    pub from: LengthFrom,
}

impl LengthFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            LengthFrom::Request => "request",
            LengthFrom::Settings => "settings",
            LengthFrom::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<LengthFrom> {
        [LengthFrom::Request, LengthFrom::Settings, LengthFrom::Note]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

impl LengthTarget {
    /// The length asked for per request wins, then the settings' length, then the default for
    /// the note `note` ([`Style::target_words_for`]).
    pub fn choose(
        style: Style,
        asked: Option<usize>,
        settings: Option<usize>,
        note: &str,
    ) -> LengthTarget {
        match (asked, settings) {
            (Some(words), _) => LengthTarget { words, from: LengthFrom::Request },
            (None, Some(words)) => LengthTarget { words, from: LengthFrom::Settings },
            (None, None) => {
                LengthTarget { words: style.target_words_for(note), from: LengthFrom::Note }
            }
        }
    }
}

impl SummaryRequest {
    /// A first try at `max_words` words, or at the style's ceiling when `None` (tests and
    /// benchmarks; the pipeline sizes requests with [`LengthTarget::choose`]).
    pub fn new(style: Style, max_words: Option<usize>) -> Self {
        SummaryRequest {
            style,
            max_words: max_words.unwrap_or_else(|| style.max_target_words()),
            attempt: Attempt::First,
        }
    }
}

/// The model behind a summary, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelRef {
    pub id: String,
    pub version: String,
}

/// What an engine reports while it works, for streaming to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// Text of the summary as it is generated.
    Token { text: String },
    /// Long notes are summarized in parts: part `done` of `total` of `stage` is finished.
    Progress { stage: String, done: usize, total: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineOutput {
    pub text: String,
    pub input_tokens: usize,
    pub output_tokens: usize,
    /// `None` for engines that use no model (extractive).
    pub model: Option<ModelRef>,
    /// Version of the prompt template or algorithm that produced the text.
    pub prompt_version: String,
    /// How many parts the note was summarized in (1 when it fitted whole).
    pub chunks: usize,
    /// Set when the model was meant to run on the GPU and ran on the CPU instead, and why.
    pub gpu_fallback: Option<String>,
    /// The generation ran out of its token budget and the text was cut back to its last
    /// complete bullet or sentence (see [`crate::ending`]).
    #[serde(default)]
    pub trimmed: bool,
    /// For a summary outlined from the note's lines and written line by line: how many lines
    /// the model rewrote and how many kept the note's own words because its rewrites failed
    /// the checks (`crate::condense`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Lines>,
    /// How the model's tokens came (`None` for engines that use no model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding: Option<Decoding>,
}

/// How a local model's text was decoded, over all its generations for one summary.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Decoding {
    /// From the first generation's start to its first token, ms.
    pub first_token_ms: f64,
    /// Speculative decoding: tokens guessed from the note, and how many of them were right.
    pub drafted: usize,
    pub accepted: usize,
    /// The first generation's prompt began from a saved state (a warm start).
    #[serde(default)]
    pub warm_start: bool,
    /// Time spent writing, after each generation's prompt was read, over all generations (ms):
    /// output tokens over this is the decode speed, whatever the prompts cost.
    #[serde(default)]
    pub decode_ms: f64,
}

impl Decoding {
    /// Over two attempts, the earlier first: guesses and writing time add up; the time to the
    /// first token and the warm start are the earlier attempt's (what the user waited for
    /// first).
    pub fn combine(earlier: Option<Decoding>, later: Option<Decoding>) -> Option<Decoding> {
        match (earlier, later) {
            (Some(a), Some(b)) => Some(Decoding {
                drafted: a.drafted + b.drafted,
                accepted: a.accepted + b.accepted,
                decode_ms: a.decode_ms + b.decode_ms,
                ..a
            }),
            (a, b) => a.or(b),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Lines {
    pub written: usize,
    pub kept: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The document cannot be summarized by this engine (e.g. it holds no sentences).
    #[error("{0}")]
    Unsummarizable(String),
    /// The model file is not usable (bad input: the message says exactly why).
    #[error("{0}")]
    InvalidModel(String),
    /// The engine's process died mid-request (llama.cpp aborted, was killed…).
    #[error("{0}")]
    Crashed(String),
    #[error("cancelled")]
    Cancelled,
    #[error("engine failed: {0}")]
    Failed(String),
}

pub trait Engine: Send + Sync {
    /// Short stable name recorded in the ledger, e.g. `"extractive"`.
    fn name(&self) -> &'static str;
    /// Summarizes `doc`, reporting tokens and progress to `events` as it goes.
    fn summarize(
        &self,
        doc: &Document,
        request: &SummaryRequest,
        events: &mut dyn FnMut(EngineEvent),
    ) -> Result<EngineOutput, EngineError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_attempts_add_up_their_guesses_and_writing_time_and_keep_the_first_ones_start() {
        let first = Decoding {
            first_token_ms: 120.0,
            drafted: 10,
            accepted: 6,
            warm_start: true,
            decode_ms: 900.0,
        };
        let retry = Decoding {
            first_token_ms: 80.0,
            drafted: 4,
            accepted: 1,
            warm_start: false,
            decode_ms: 300.0,
        };
        let both = Decoding::combine(Some(first), Some(retry)).unwrap();
        assert_eq!((both.drafted, both.accepted), (14, 7));
        assert_eq!(both.decode_ms, 1200.0);
        assert_eq!((both.first_token_ms, both.warm_start), (120.0, true));
        assert_eq!(Decoding::combine(None, Some(retry)), Some(retry));
        assert_eq!(Decoding::combine(Some(first), None), Some(first));
    }
}
