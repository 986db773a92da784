//! Prints what Fieldbrief reads from a PDF, with its notices, or why it refuses it:
//! `cargo run -p fieldbrief-ingest --example pdftext -- FILE.pdf` (compare with `pdftotext`).

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: pdftext FILE.pdf");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", std::path::Path::new(&path).display());
            std::process::exit(2);
        }
    };
    match fieldbrief_ingest::pdf::extract_with(bytes, std::time::Duration::from_secs(60), None) {
        Ok(e) => {
            println!("{}", e.text);
            eprintln!("pages: {}", e.pages);
            for n in e.notices {
                eprintln!("notice: {n}");
            }
        }
        Err(p) => {
            eprintln!("error: {p}");
            std::process::exit(1);
        }
    }
}
