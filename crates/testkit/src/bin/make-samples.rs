//! Regenerates the sample PDF in assets/samples/ from its Markdown source.

fn main() -> std::io::Result<()> {
    use fieldbrief_testkit::samples;
    let dir = samples::samples_dir();
    let markdown = std::fs::read_to_string(dir.join(samples::PDF_SOURCE))?;
    let target = dir.join(samples::PDF_TARGET);
    std::fs::write(&target, samples::sample_pdf(&markdown))?;
    println!("wrote {}", target.display());
    Ok(())
}
