//! Content sniffing: what a file really is, whatever its name says.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Text,
    /// Not text; the string names what it looks like, for the error message.
    Binary(&'static str),
}

const MAGIC: &[(&[u8], &str)] = &[
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"\x89PNG\r\n\x1A\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (e.g. .docx, .xlsx, .zip)"),
    (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "an old Microsoft Office document (.doc, .xls)"),
    (b"\x7FELF", "an ELF executable"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"GGUF", "a GGUF model file"),
    (b"{\\rtf", "an RTF document"),
];

/// What `bytes` are. `named_pdf`: the file name ends in .pdf, so a PDF header anywhere in the
/// first 1024 bytes counts (as PDF readers allow); otherwise only at the very start, so a
/// text note that mentions "%PDF-" stays a text note.
pub fn sniff(bytes: &[u8], named_pdf: bool) -> Format {
    let head = &bytes[..bytes.len().min(1024)];
    let at_start =
        head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head).trim_ascii_start().starts_with(b"%PDF-");
    if at_start || (named_pdf && head.windows(5).any(|w| w == b"%PDF-")) {
        return Format::Pdf;
    }
    for (magic, what) in MAGIC {
        if bytes.starts_with(magic) {
            return Format::Binary(what);
        }
    }
    let is_utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    let sample = &bytes[..bytes.len().min(8192)];
    if !is_utf16 {
        if sample.contains(&0) {
            return Format::Binary("binary data (it contains NUL bytes)");
        }
        // Control characters other than whitespace are rare in text in any encoding.
        let controls = sample
            .iter()
            .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
            .count();
        if controls * 20 > sample.len() {
            return Format::Binary("binary data (it is mostly control characters)");
        }
    }
    Format::Text
}

/// Extensions of formats Fieldbrief cannot read even when the bytes happen to look like text.
pub fn known_binary_extension(ext: &str) -> bool {
    matches!(
        ext,
        "doc"
            | "docx"
            | "xls"
            | "xlsx"
            | "ppt"
            | "pptx"
            | "odt"
            | "ods"
            | "rtf"
            | "jpg"
            | "jpeg"
            | "png"
            | "gif"
            | "tif"
            | "tiff"
            | "heic"
            | "zip"
            | "gz"
            | "7z"
            | "rar"
            | "exe"
            | "dll"
            | "so"
            | "gguf"
            | "db"
            | "sqlite"
            | "epub"
            | "pages"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_table() {
        let cases: &[(&[u8], Format)] = &[
            (b"%PDF-1.7\n...", Format::Pdf),
            (b"\xEF\xBB\xBF%PDF-1.4", Format::Pdf),
            (b"notes about %PDF-1.4 headers", Format::Text),
            (b"MZ-04 mixer serviced", Format::Text),
            (b"\xFF\xD8\xFF\xE0", Format::Binary("a JPEG image")),
            (b"PK\x03\x04", Format::Binary("a ZIP archive (e.g. .docx, .xlsx, .zip)")),
            (b"plain text\n", Format::Text),
            (b"\xFF\xFEa\x00b\x00", Format::Text),
            (b"abc\x00def", Format::Binary("binary data (it contains NUL bytes)")),
            (
                b"\x01\x02\x03\x04\x05abc",
                Format::Binary("binary data (it is mostly control characters)"),
            ),
            (b"caf\xE9 au lait", Format::Text),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff(bytes, false), *want, "{bytes:?}");
        }
        assert_eq!(sniff(b"junk\n%PDF-1.4", true), Format::Pdf);
    }
}
