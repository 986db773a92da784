//! The `fieldbrief` binary links llama.cpp (through the engine worker, `fieldbrief-worker`).
//! Nothing to do here except for Windows built with MinGW-w64 (`scripts/windows`):
//!
//! - ggml names its static libraries without the `lib` prefix on Windows (`ggml-base.a`),
//!   which `llama-cpp-sys-2` only expects of MSVC, so it links `libllama.a` without ggml. They
//!   are named here, at the end of the linker's command line (GNU ld reads archives in order,
//!   and llama needs ggml), followed by the runtime libraries they use. Their folder is on the
//!   search path already (`llama-cpp-sys-2` adds it).
//! - `llama-cpp-sys-2` asks for the C++ runtime as a DLL (`libstdc++-6.dll`), which is not on
//!   a Windows machine; a folder holding only MinGW's static `libstdc++.a` goes first on the
//!   search path, so the `.exe` carries its C++ runtime and needs no MinGW DLL beside it.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.ends_with("-windows-gnu") {
        return;
    }
    let cxx_var = format!("CXX_{}", target.replace('-', "_"));
    println!("cargo:rerun-if-env-changed={cxx_var}");
    let cxx = std::env::var(&cxx_var).unwrap_or_else(|_| "x86_64-w64-mingw32-g++-posix".into());
    let out = Command::new(&cxx)
        .arg("-print-file-name=libstdc++.a")
        .output()
        .unwrap_or_else(|e| panic!("{cxx} (MinGW-w64's C++ compiler) could not run: {e}"));
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(archive.is_absolute(), "{cxx} does not know where its libstdc++.a is");
    let dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("static-cxx");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/static-cxx");
    let link = dir.join("libstdc++.a");
    let _ = std::fs::remove_file(&link);
    std::fs::copy(&archive, &link).expect("copy libstdc++.a");
    println!("cargo:rustc-link-search=native={}", dir.display());

    let ggml = ["-l:ggml.a", "-l:ggml-cpu.a", "-l:ggml-base.a"];
    // What ggml needs in turn, after it: C++, threads, MinGW's C99 maths, the C runtime,
    // Windows.
    let runtime =
        ["-lstdc++", "-l:libwinpthread.a", "-lmingwex", "-lmsvcrt", "-ladvapi32", "-lkernel32"];
    for arg in ggml.iter().chain(&runtime) {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
