//! Inputs that must be refused with a clear error: each is built here from first principles so
//! a test can say exactly what it feeds the program.

use crate::pdf;

/// A valid text PDF cut off in the middle of its first content stream, so no page survives.
pub fn truncated_pdf() -> Vec<u8> {
    let full = pdf::from_text(
        &"The pump was inspected and the seal replaced.\n".repeat(200),
        &pdf::Layout::default(),
    );
    full[..full.len() / 3].to_vec()
}

/// The start of a JPEG/JFIF image (what a phone "scan" saved as .pdf often is).
pub fn jpeg() -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x48,
    ];
    b.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

/// Bytes with NULs and no text structure: an executable or archive renamed to .txt.
pub fn binary() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01\x00".to_vec();
    b.extend((0..8192u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8));
    b
}

/// A UTF-8 byte-order mark followed by bytes that are not UTF-8: the file claims an encoding
/// it does not have.
pub fn invalid_utf8_with_bom() -> Vec<u8> {
    let mut b = b"\xEF\xBB\xBFPump inspected, pressure 4.2 bar.\n".to_vec();
    b.extend_from_slice(b"Seal \xC3\x28 replaced \xFF\xFE on site.\n");
    b
}

/// `text` as UTF-16 with a byte-order mark.
pub fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut b = if little_endian { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
    for unit in text.encode_utf16() {
        let bytes = if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() };
        b.extend_from_slice(&bytes);
    }
    b
}

/// `text` in ISO-8859-1; characters outside it become '?'.
pub fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| if (c as u32) <= 0xFF { c as u32 as u8 } else { b'?' }).collect()
}

/// A well-formed PDF whose font names an encoding that does not exist. `pdf-extract` panics
/// on it ("unexpected encoding"), which is what the ingest isolation must survive. The name
/// keeps its length so every cross-reference offset stays valid.
pub fn pdf_that_panics_the_parser() -> Vec<u8> {
    let pdf = pdf::from_text("Pump P-101 inspected.", &pdf::Layout::default());
    let (from, to) = (b"/WinAnsiEncoding", b"/XxxAnsiEncoding");
    let at =
        pdf.windows(from.len()).position(|w| w == from).expect("the writer names its encoding");
    let mut out = pdf;
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// A decompression bomb: one page whose contents are the same small FlateDecode stream
/// (`mib` MiB of spaces once inflated) referenced `times` times, so reading its text needs
/// `mib × times` MiB of memory. A few hundred kilobytes on disk.
pub fn pdf_bomb(mib: usize, times: usize) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![b' '; mib << 20]).expect("compress");
    let stream = z.finish().expect("compress");
    let contents: Vec<String> = (0..times).map(|_| "4 0 R".to_string()).collect();
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    object(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    object(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    object(
        &mut out,
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [{}] >>",
            contents.join(" ")
        )
        .as_bytes(),
    );
    let mut body =
        format!("<< /Length {} /Filter /FlateDecode >>\nstream\n", stream.len()).into_bytes();
    body.extend_from_slice(&stream);
    body.extend_from_slice(b"\nendstream");
    object(&mut out, &body);
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    out
}
