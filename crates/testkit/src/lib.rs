//! Fixtures made by code, so every test input has a known origin: a small PDF writer, the bad
//! inputs the ingest tests feed the CLI, and the generator of the checked-in sample PDF.
//!
//! Used only by tests, benchmarks and `make-samples`; never by the product at run time.

pub mod bad_inputs;
pub mod fake_cloud;
pub mod file_server;
pub mod fuzz;
pub mod pdf;
pub mod pdf_cases;
pub mod samples;
