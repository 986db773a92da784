//! The local engine, supervisor side: the protocol to the worker process, the supervisor that
//! runs it, prompts, and the chunking that keeps long notes whole.
//!
//! Nothing here links llama.cpp: the worker (`fieldbrief-worker`) is the only crate that does,
//! and it runs in its own process.

pub mod architectures;
pub mod chunk;
pub mod local;
pub mod prompt;
pub mod protocol;
pub mod supervisor;
