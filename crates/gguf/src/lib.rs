//! GGUF, the model file format of llama.cpp: a strict reader and a writer.
//!
//! **Why a reader of our own:** llama.cpp answers a bad file with a null pointer, or aborts
//! the process on some malformed ones. Before a file reaches it, [`inspect`] walks the header,
//! the metadata and the tensor table with every length checked against the file's size, and
//! says exactly what is wrong ("truncated: header says 291 tensors, tensor 'blk.3.ffn_up.weight'
//! needs bytes … but the file ends at byte …"). It never reads tensor data, so it is cheap
//! even for a multi-gigabyte model.
//!
//! **Why a writer:** no model hub is reachable from the build and test machines, so tests and
//! `fieldbrief bench` generate their own models: tiny random-weight Llamas for tests (with all
//! 256 byte tokens, without which llama.cpp aborts on unknown bytes), corrupt variants, and a
//! synthetic model shaped like a 1.1B-parameter Llama for speed measurements.

mod format;
mod read;
pub mod write;

pub use format::{TensorType, Value};
pub use read::{ChatFormat, Error, Gguf, ModelInfo, TensorInfo, inspect, read, read_bytes};

#[cfg(test)]
mod tests;
