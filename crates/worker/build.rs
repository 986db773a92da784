//! The `fieldbrief-engine` binary links llama.cpp: see `windows/link_mingw.rs` for what a
//! MinGW-w64 build of it needs.
include!("../../windows/link_mingw.rs");

fn main() {
    link_mingw();
}
