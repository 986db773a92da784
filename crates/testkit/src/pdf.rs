//! A minimal PDF 1.4 writer: text pages in Helvetica with WinAnsi encoding, laid out one line
//! per text line. Enough to produce real text-layer PDFs (what a report generator makes) and
//! text-less "scanned" ones, deterministically (no timestamps), without a dependency.

/// Page geometry for [`from_text`].
#[derive(Debug, Clone)]
pub struct Layout {
    pub lines_per_page: usize,
    /// Wrap prose at this many characters.
    pub wrap_at: usize,
    /// A running header printed at the top of every page.
    pub header: Option<String>,
    /// Print "Page N of M" at the bottom of every page.
    pub page_numbers: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout { lines_per_page: 54, wrap_at: 90, header: None, page_numbers: true }
    }
}

/// Lays `text` out in pages (wrapping long lines at spaces) and writes the PDF.
pub fn from_text(text: &str, layout: &Layout) -> Vec<u8> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        lines.extend(wrap(line, layout.wrap_at));
    }
    let body_lines = layout.lines_per_page.max(1);
    let chunks: Vec<&[String]> =
        if lines.is_empty() { vec![&[][..]] } else { lines.chunks(body_lines).collect() };
    let total = chunks.len();
    let pages: Vec<Vec<String>> = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut page = Vec::with_capacity(chunk.len() + 4);
            if let Some(h) = &layout.header {
                page.push(h.clone());
                page.push(String::new());
            }
            page.extend(chunk.iter().cloned());
            if layout.page_numbers {
                page.push(String::new());
                page.push(format!("Page {} of {}", i + 1, total));
            }
            page
        })
        .collect();
    from_pages(&pages)
}

/// Writes one PDF page per element, each line of text on its own baseline.
pub fn from_pages(pages: &[Vec<String>]) -> Vec<u8> {
    let contents: Vec<Vec<u8>> = pages.iter().map(|lines| text_stream(lines)).collect();
    write(&contents)
}

/// A PDF whose pages are an image and nothing else, like a scan with no OCR text layer (a
/// 2×2 grey inline image stretched over the page).
pub fn without_text(pages: usize) -> Vec<u8> {
    let mut stream = b"q 495 0 0 742 50 50 cm BI /W 2 /H 2 /CS /G /BPC 8 ID ".to_vec();
    stream.extend_from_slice(&[0x20, 0xE0, 0xE0, 0x20]);
    stream.extend_from_slice(b" EI Q");
    write(&vec![stream; pages.max(1)])
}

/// A scan of `text`: the text laid out as [`from_text`] does, rendered by poppler's `pdftoppm`
/// (installed by scripts/setup) at 150 dpi in grey, and put back as one image per page with no
/// text layer — what a scanner makes of a printed report. Panics without `pdftoppm`.
pub fn scanned(text: &str) -> Vec<u8> {
    use std::io::Write;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("fieldbrief-scan-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let layout = Layout { page_numbers: false, ..Layout::default() };
    std::fs::write(dir.join("text.pdf"), from_text(text, &layout)).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray"])
        .arg(dir.join("text.pdf"))
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm (poppler-utils, installed by scripts/setup)");
    assert!(status.success(), "pdftoppm failed");
    let mut images: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
        .collect();
    images.sort();
    let mut doc = Doc::new();
    for image in &images {
        let pgm = std::fs::read(image).unwrap();
        // "P5 WIDTH HEIGHT 255" and one whitespace byte, then the grey bytes.
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while pgm[i].is_ascii_whitespace() {
                i += 1;
            }
            let start = i;
            while !pgm[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&pgm[start..i]).into_owned());
        }
        assert_eq!(fields[0], "P5", "{} is not a binary PGM", image.display());
        let pixels = &pgm[i + 1..];
        let mut deflate =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(pixels).unwrap();
        let image = doc.stream(
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                fields[1], fields[2]
            ),
            &deflate.finish().unwrap(),
        );
        doc.page(
            &format!("<< /XObject << /Im1 {image} 0 R >> >>"),
            b"q 595 0 0 842 0 0 cm /Im1 Do Q",
            "",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!images.is_empty(), "pdftoppm made no pages");
    doc.bytes()
}

/// A PDF whose pages draw only lines and shapes: no text, no image.
pub fn drawings_only(pages: usize) -> Vec<u8> {
    let stream = b"0.5 g 50 50 495 742 re f 0 g 100 400 m 495 400 l S".to_vec();
    write(&vec![stream; pages.max(1)])
}

fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

fn text_stream(lines: &[String]) -> Vec<u8> {
    let mut s: Vec<u8> = b"BT\n/F1 10 Tf\n13 TL\n50 800 Td\n".to_vec();
    for line in lines {
        s.extend_from_slice(&literal(line));
        s.extend_from_slice(b" Tj T*\n");
    }
    s.extend_from_slice(b"ET\n");
    s
}

/// WinAnsiEncoding: Latin-1 plus the typographic characters in 0x80..0x9F.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

fn write(page_streams: &[Vec<u8>]) -> Vec<u8> {
    let mut doc = Doc::new();
    let font = doc.object(HELVETICA);
    for stream in page_streams {
        doc.page(&format!("<< /Font << /F1 {font} 0 R >> >>"), stream, "");
    }
    doc.bytes()
}

/// Helvetica (one of the 14 fonts every reader knows) with WinAnsiEncoding.
pub const HELVETICA: &str =
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// A PDF assembled object by object, for tests that need a particular structure: object 1 is
/// the catalog, 2 the page tree; [`Doc::bytes`] writes the file with its cross-reference table.
#[derive(Debug, Clone)]
pub struct Doc {
    objects: Vec<Vec<u8>>,
    pages: Vec<usize>,
    catalog: String,
}

impl Default for Doc {
    fn default() -> Self {
        Doc::new()
    }
}

impl Doc {
    pub fn new() -> Doc {
        Doc { objects: vec![Vec::new(), Vec::new()], pages: Vec::new(), catalog: String::new() }
    }

    /// How many objects there are (the last one's number).
    pub fn objects_len(&self) -> usize {
        self.objects.len()
    }

    /// Adds an object (its body, e.g. a dictionary) and returns its number.
    pub fn object(&mut self, body: impl AsRef<[u8]>) -> usize {
        self.objects.push(body.as_ref().to_vec());
        self.objects.len()
    }

    /// Adds a stream with `dict` entries besides its length.
    pub fn stream(&mut self, dict: &str, data: &[u8]) -> usize {
        let mut obj = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        obj.extend_from_slice(data);
        obj.extend_from_slice(b"\nendstream");
        self.object(obj)
    }

    /// Adds an A4 page drawing `content` with `resources` (a dictionary), `extra` entries in
    /// its dictionary (e.g. `/Rotate 90`, `/Annots [...]`).
    pub fn page(&mut self, resources: &str, content: &[u8], extra: &str) -> usize {
        let contents = self.stream("", content);
        let n = self.objects.len() + 1;
        self.object(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {resources} /Contents {contents} 0 R {extra} >>"
        ));
        self.pages.push(n);
        n
    }

    /// Entries added to the catalog (e.g. `/AcroForm 9 0 R`).
    pub fn catalog(&mut self, extra: &str) {
        self.catalog = extra.to_string();
    }

    /// Replaces an object's body (before [`Doc::bytes`]).
    pub fn replace(&mut self, n: usize, body: impl AsRef<[u8]>) {
        self.objects[n - 1] = body.as_ref().to_vec();
    }

    /// The file, and the offset of each object (object n at `offsets[n - 1]`).
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_with_offsets().0
    }

    pub fn bytes_with_offsets(&self) -> (Vec<u8>, Vec<usize>) {
        let mut objects = self.objects.clone();
        objects[0] = format!("<< /Type /Catalog /Pages 2 0 R {} >>", self.catalog).into_bytes();
        let kids: Vec<String> = self.pages.iter().map(|n| format!("{n} 0 R")).collect();
        objects[1] = format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), kids.len())
            .into_bytes();
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref_at = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for off in &offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        (out, offsets)
    }
}

/// A PDF string literal of `text` in WinAnsiEncoding, parentheses and backslashes escaped.
pub fn literal(text: &str) -> Vec<u8> {
    let mut s = vec![b'('];
    for byte in win_ansi(text) {
        if matches!(byte, b'(' | b')' | b'\\') {
            s.push(b'\\');
        }
        s.push(byte);
    }
    s.push(b')');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_and_xref_offsets_are_consistent() {
        let pdf = from_text("Hello (world) \\ é\nsecond line", &Layout::default());
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        let startxref: usize =
            text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(pdf[startxref..].starts_with(b"xref"));
        // Every xref entry points at "N 0 obj".
        let xref = &text[startxref..];
        for (i, line) in xref.lines().skip(3).take_while(|l| l.ends_with(" n ")).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()));
        }
        let escaped: &[u8] = b"(Hello \\(world\\) \\\\ \xE9) Tj";
        assert!(pdf.windows(escaped.len()).any(|w| w == escaped), "escaped, WinAnsi-encoded line");
    }

    #[test]
    fn long_lines_wrap_and_pages_split() {
        let long = "word ".repeat(100);
        let layout =
            Layout { lines_per_page: 3, wrap_at: 40, header: Some("H".into()), page_numbers: true };
        let pdf = String::from_utf8_lossy(&from_text(&long, &layout)).into_owned();
        let pages = pdf.matches("/Type /Page ").count();
        assert!(pages >= 4, "{pages} pages");
        assert!(pdf.contains(&format!("(Page {pages} of {pages})")));
    }
}
