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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineOutput {
    pub text: String,
    pub input_tokens: usize,
    pub output_tokens: usize,
    /// `None` for engines that use no model (extractive).
    pub model: Option<ModelRef>,
    /// Version of the prompt template or algorithm that produced the text.
    pub prompt_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The document cannot be summarized by this engine (e.g. it holds no sentences).
    #[error("{0}")]
    Unsummarizable(String),
    #[error("engine failed: {0}")]
    Failed(String),
}

pub trait Engine: Send + Sync {
    /// Short stable name recorded in the ledger, e.g. `"extractive"`.
    fn name(&self) -> &'static str;
    fn summarize(&self, doc: &Document, request: &SummaryRequest) -> Result<EngineOutput, EngineError>;
}
