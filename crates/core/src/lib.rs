//! The core of Fieldbrief: everything about a note and a summary that can be decided without
//! touching a disk, a model or a network.
//!
//! Every request takes one path (see `ARCHITECTURE.md`): ingest → cache → router → engine →
//! quality gate → store. This crate owns the plain-data parts of that path so they can be
//! table-tested: the [`document::Document`] a note becomes, its [`normalize`]d text and
//! [`segment`]ation into sentences, the [`facts`] a summary must keep, the [`route`] decision,
//! the [`quality`] gate, the [`engine::Engine`] trait every summarizer implements, and the
//! user's [`config::Settings`].
//!
//! Invariant: no dependency on llama.cpp, Tauri, SQLite or a network stack. I/O lives in the
//! crates around this one.

pub mod cache;
pub mod condense;
pub mod config;
pub mod cost;
pub mod document;
pub mod ending;
pub mod engine;
pub mod eval;
pub mod facts;
pub mod ledger;
pub mod normalize;
pub mod power;
pub mod quality;
pub mod redact;
pub mod route;
pub mod segment;
pub mod status;
pub mod style;

pub use document::{Document, OCR_ENCODING, SourceKind};
pub use engine::{
    Attempt, Engine, EngineError, EngineOutput, LengthFrom, LengthTarget, SummaryRequest,
};
pub use style::Style;
