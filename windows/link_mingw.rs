// Included by the build scripts of the crates whose binaries link llama.cpp (`fieldbrief-cli`,
// `fieldbrief-worker`). Nothing to do except for Windows built with MinGW-w64 (scripts/windows):
//
// - ggml names its static libraries without the `lib` prefix on Windows (`ggml-base.a`), which
//   `llama-cpp-sys-2` only expects of MSVC, so it links `libllama.a` without ggml. They are
//   named here, at the end of the linker's command line (GNU ld reads archives in order, and
//   llama needs ggml), followed by the runtime libraries they use. Their folder is on the
//   search path already (`llama-cpp-sys-2` adds it).
// - `llama-cpp-sys-2` asks for the C++ runtime as a DLL (`libstdc++-6.dll`), which is not on a
//   Windows machine; a folder holding only MinGW's static `libstdc++.a` goes first on the
//   search path, so the `.exe` carries its C++ runtime and needs no MinGW DLL beside it. (A
//   compiler that cannot say where its `libstdc++.a` is, leaves the C++ runtime as it was.)

fn link_mingw() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../windows/link_mingw.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.ends_with("-windows-gnu") {
        return;
    }
    let target_cxx = format!("CXX_{}", target.replace('-', "_"));
    println!("cargo:rerun-if-env-changed={target_cxx}");
    println!("cargo:rerun-if-env-changed=CXX");
    let candidates = [std::env::var(&target_cxx).ok(), std::env::var("CXX").ok()]
        .into_iter()
        .flatten()
        .chain(["x86_64-w64-mingw32-g++-posix".to_string(), "g++".to_string()]);
    let archive = candidates
        .filter_map(|cxx| {
            let out = std::process::Command::new(&cxx)
                .arg("-print-file-name=libstdc++.a")
                .output()
                .ok()?;
            let path = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            (out.status.success() && path.is_absolute()).then_some(path)
        })
        .next();
    match archive {
        Some(archive) => {
            let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"))
                .join("static-cxx");
            std::fs::create_dir_all(&dir).expect("create OUT_DIR/static-cxx");
            std::fs::copy(&archive, dir.join("libstdc++.a")).expect("copy libstdc++.a");
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
        None => println!(
            "cargo:warning=no MinGW C++ compiler says where libstdc++.a is: the C++ runtime stays a DLL"
        ),
    }

    let ggml = ["-l:ggml.a", "-l:ggml-cpu.a", "-l:ggml-base.a"];
    // What ggml needs in turn, after it: C++, threads, MinGW's C99 maths, the C runtime,
    // Windows.
    let runtime =
        ["-lstdc++", "-l:libwinpthread.a", "-lmingwex", "-lmsvcrt", "-ladvapi32", "-lkernel32"];
    for arg in ggml.iter().chain(&runtime) {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
