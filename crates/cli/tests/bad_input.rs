//! Every bad input: exit code 2, nothing on stdout, exactly one `error:` line on stderr that
//! names the file and the problem, never a panic or a backtrace.

mod common;
use common::*;
use fieldbrief_testkit::{bad_inputs, pdf};
use std::process::Output;

fn assert_refused(out: &Output, names: &str, problem: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{names}: stderr {stderr}");
    assert!(out.stdout.is_empty(), "{names}: stdout {}", String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "{names}: want one line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(names), "{stderr} should name {names}");
    assert!(lines[0].contains(problem), "{stderr} should say {problem:?}");
    for forbidden in ["panicked", "backtrace", "RUST_BACKTRACE", "thread '"] {
        assert!(!stderr.contains(forbidden), "{stderr}");
    }
}

#[test]
fn table_of_bad_files() {
    let home = Home::new();
    let dir = home.dir.path().join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let huge = home.dir.path().join("huge.txt");
    // Sparse: 51 MiB on paper, nothing on disk; the limit is checked before reading.
    std::fs::File::create(&huge).unwrap().set_len(51 * 1024 * 1024).unwrap();

    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (home.write("cut.pdf", &bad_inputs::truncated_pdf()), "corrupt PDF"),
        (
            home.write("hostile.pdf", &bad_inputs::pdf_that_panics_the_parser()),
            "the PDF parser could not read it",
        ),
        (home.write("photo.pdf", &bad_inputs::jpeg()), "is not a PDF: it looks like a JPEG image"),
        (home.write("scanned.pdf", &pdf::without_text(2)), "no text layer on any of its 2 pages"),
        (home.write("empty.txt", b""), "the file is empty (0 bytes)"),
        (home.write("blank.md", b"  \n\n\t \r\n"), "only whitespace"),
        (dir.clone(), "it is a directory"),
        (home.write("bom.txt", &bad_inputs::invalid_utf8_with_bom()), "invalid UTF-8 at byte 42"),
        (home.write("odd16.txt", &[0xFF, 0xFE, b'a', 0x00, b'b']), "invalid UTF-16"),
        (home.write("program.txt", &bad_inputs::binary()), "not a text file"),
        (home.write("report.docx", b"PK\x03\x04zip"), "looks like a ZIP archive"),
        (huge.clone(), "over the 52428800-byte limit"),
        (home.dir.path().join("missing.md"), "no such file"),
    ];
    for (path, problem) in &cases {
        let out = home.run(&["summarize", "--json", s(path)]);
        assert_refused(&out, s(path), problem);
    }
    // Every refusal is in the ledger as a failed request, and no note was made.
    let db = home.sqlite();
    let failed: i64 = db
        .query_row("SELECT count(*) FROM ledger WHERE status = 'failed'", [], |r| r.get(0))
        .unwrap();
    let notes: i64 = db.query_row("SELECT count(*) FROM notes", [], |r| r.get(0)).unwrap();
    assert_eq!((failed as usize, notes), (cases.len(), 0));
}

#[test]
fn the_size_limit_comes_from_config() {
    let home = Home::new();
    std::fs::create_dir_all(home.path()).unwrap();
    std::fs::write(home.path().join("config.toml"), "[limits]\nmax_input_mib = 1\n").unwrap();
    let big = home.write("big.md", &"Pump inspected. ".repeat(80_000).into_bytes());
    assert_refused(&home.run(&["summarize", s(&big)]), s(&big), "1 MiB");
    let small = home.write("small.md", b"Pump inspected, seal replaced.");
    assert!(home.run(&["summarize", s(&small)]).status.success());
}

#[test]
fn bad_stdin_config_and_usage() {
    let home = Home::new();
    assert_refused(&home.run_with_stdin(&["summarize", "-"], b""), "stdin", "empty");
    assert_refused(&home.run(&["history", "show", "999"]), "999", "no note with id");
    assert_refused(
        &home.run(&["ledger", "report", "--since", "last week"]),
        "last week",
        "expected a date like 2026-05-14",
    );
    let usage = home.run(&["summarize", "--style", "fancy", "x.md"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("fancy"));

    std::fs::write(home.path().join("config.toml"), "[cloud]\nenabled = maybe\n").unwrap();
    let out = home.run(&["status"]);
    assert_refused(&out, "config.toml", "line 2");
}

/// A decompression bomb (8 MiB of spaces referenced 200 times: 1.6 GiB to read, 40 KB on
/// disk) is stopped by the extraction process's memory limit: the request fails with a clear
/// error and a ledger row, quickly, and the `fieldbrief` process itself never held the bytes.
#[test]
fn a_pdf_bomb_costs_the_request_not_the_process() {
    let home = Home::new();
    home.config("[limits]\npdf_memory_mib = 256\n");
    let bomb = bad_inputs::pdf_bomb(8, 200);
    assert!(bomb.len() < 200 * 1024, "{} bytes", bomb.len());
    let path = home.write("bomb.pdf", &bomb);
    let started = std::time::Instant::now();
    let out = home.run(&["summarize", "--json", s(&path)]);
    assert_refused(&out, s(&path), "needed more than 256 MiB of memory");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
    let code: String =
        home.sqlite().query_row("SELECT error_code FROM ledger", [], |r| r.get(0)).unwrap();
    assert_eq!(code, "pdf_too_costly");
    // A real report still reads through the same process.
    let good = home.write(
        "report.pdf",
        &pdf::from_text(
            "Pump P-101 bearing at 78 °C.\nSeal kit SK-22 to order.\n",
            &Default::default(),
        ),
    );
    let v = home.json(&["summarize", "--json", s(&good)]);
    assert_eq!(v["document"]["kind"], "pdf", "{v}");
}
