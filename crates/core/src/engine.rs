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
}

impl SummaryRequest {
    pub fn new(style: Style, max_words: Option<usize>) -> Self {
        SummaryRequest { style, max_words: max_words.unwrap_or_else(|| style.default_max_words()) }
    }
}

/// The model behind a summary, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub id: String,
    pub version: String,
}

/// What an engine reports while it works, for streaming to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// Text of the summary as it is generated.
    Token { text: String },
    /// Long notes are summarized in parts: part `done` of `total` of `stage` is finished.
    Progress { stage: String, done: usize, total: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
