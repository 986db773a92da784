//! What a PDF holds besides the text `pdf-extract` reads from its pages: whether it is
//! encrypted, which pages draw images or show text, and the text of its form fields and
//! annotations. Used to say truthfully why a PDF gave no text (encrypted, blank, a scan, or
//! text in fonts that cannot be mapped to characters) and to keep what a technician typed into
//! a form. Runs where the extraction runs (its own process, under the same limits).

use lopdf::{Dictionary, Document, Object};
use serde::{Deserialize, Serialize};

/// At most this many form fields and annotations are read (a hostile file may hold millions).
const MAX_ITEMS: usize = 2000;
/// At most this many characters of one field or annotation.
const MAX_ITEM_CHARS: usize = 4000;
/// Content operators looked at in the whole file, form XObjects included.
const MAX_OPERATORS: usize = 2_000_000;
/// Form field dictionaries visited (a field tree that shares its kids is visited once each).
const MAX_FIELD_NODES: usize = 20_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inspection {
    /// The file could be parsed at all.
    pub parsed: bool,
    pub encrypted: bool,
    pub pages: usize,
    /// Pages that draw an image (an image XObject or an inline image).
    pub image_pages: usize,
    /// Pages whose content shows text (`Tj`, `TJ`, `'`, `"`).
    pub text_pages: usize,
    /// Filled-in form fields: (name, value).
    pub fields: Vec<(String, String)>,
    /// Text of comments and notes (annotations other than links and form widgets).
    pub annotations: Vec<String>,
}

impl Inspection {
    /// The form fields and annotations as text to add after the pages, each part marked.
    pub fn extra_text(&self) -> String {
        let mut out = String::new();
        if !self.fields.is_empty() {
            out.push_str("Form fields:\n");
            for (name, value) in &self.fields {
                out.push_str(&format!("- {name}: {value}\n"));
            }
        }
        if !self.annotations.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str("Annotations:\n");
            for a in &self.annotations {
                out.push_str(&format!("- {a}\n"));
            }
        }
        out
    }
}

/// Inspects `bytes`; a file that cannot be parsed gives `parsed: false` and nothing else.
pub fn inspect(bytes: &[u8]) -> Inspection {
    let Ok(doc) = Document::load_mem(bytes) else {
        // lopdf refuses encrypted files it cannot open: say so if the trailer says so.
        return Inspection { encrypted: mentions_encrypt(bytes), ..Inspection::default() };
    };
    let mut out = Inspection {
        parsed: true,
        // Still encrypted after loading: lopdf could not open it with the empty password (a
        // file with only an owner password, "copy-protected", is read and is not encrypted
        // for us).
        encrypted: doc.is_encrypted(),
        ..Inspection::default()
    };
    let pages = doc.get_pages();
    out.pages = pages.len();
    // One budget of content operators for the whole file: a hostile file that paints the same
    // form a million times costs a bounded amount of work.
    let mut budget = MAX_OPERATORS;
    for (_, page) in pages.iter().take(10_000) {
        let mut marks = Marks::default();
        if let Ok(content) = doc.get_page_content(*page) {
            let resources = page_resources(&doc, *page);
            let mut seen = std::collections::HashSet::new();
            scan(&doc, &content, resources, 0, &mut marks, &mut seen, &mut budget);
        }
        out.image_pages += usize::from(marks.image);
        out.text_pages += usize::from(marks.text);
        if let Ok(annotations) = doc.get_page_annotations(*page) {
            for a in annotations {
                if out.annotations.len() >= MAX_ITEMS {
                    break;
                }
                let kind = a.get(b"Subtype").and_then(Object::as_name).unwrap_or(b"");
                if matches!(kind, b"Link" | b"Widget" | b"Popup") {
                    continue;
                }
                if let Some(text) = string(&doc, a, b"Contents") {
                    out.annotations.push(text);
                }
            }
        }
    }
    if let Ok(catalog) = doc.catalog()
        && let Some(form) =
            resolve(&doc, catalog.get(b"AcroForm").ok()).and_then(|o| o.as_dict().ok())
        && let Some(fields) =
            resolve(&doc, form.get(b"Fields").ok()).and_then(|o| o.as_array().ok())
    {
        let mut visited = std::collections::HashSet::new();
        for f in fields {
            collect_fields(&doc, f, "", 0, &mut visited, &mut out.fields);
        }
    }
    out
}

/// What a content stream draws.
#[derive(Default)]
struct Marks {
    text: bool,
    image: bool,
}

/// A page's resources: its own `/Resources` (inline or a reference), else the nearest
/// ancestor's in the page tree.
fn page_resources(doc: &Document, page: lopdf::ObjectId) -> Option<&Dictionary> {
    let mut node = doc.get_dictionary(page).ok()?;
    for _ in 0..32 {
        if let Some(r) = resolve(doc, node.get(b"Resources").ok()).and_then(|o| o.as_dict().ok()) {
            return Some(r);
        }
        node = resolve(doc, node.get(b"Parent").ok()).and_then(|o| o.as_dict().ok())?;
    }
    None
}

/// Scans a content stream's operators, and those of the form XObjects it paints (text and
/// images are often inside them), each form once per page, a few levels deep, within the
/// file's operator budget.
fn scan(
    doc: &Document,
    content: &[u8],
    resources: Option<&Dictionary>,
    depth: usize,
    marks: &mut Marks,
    seen: &mut std::collections::HashSet<lopdf::ObjectId>,
    budget: &mut usize,
) {
    let Ok(ops) = lopdf::content::Content::decode(content) else { return };
    for op in &ops.operations {
        if *budget == 0 || (marks.text && marks.image) {
            return;
        }
        *budget -= 1;
        match op.operator.as_str() {
            "Tj" | "TJ" | "'" | "\"" => marks.text = true,
            "BI" | "ID" => marks.image = true,
            "Do" if depth < 4 => {
                let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                    continue;
                };
                let Some(xobjects) = resources
                    .and_then(|r| resolve(doc, r.get(b"XObject").ok()))
                    .and_then(|o| o.as_dict().ok())
                else {
                    continue;
                };
                let Ok(entry) = xobjects.get(name) else { continue };
                if let Object::Reference(id) = entry
                    && !seen.insert(*id)
                {
                    continue;
                }
                let Some(Object::Stream(stream)) = resolve(doc, Some(entry)) else { continue };
                match stream.dict.get(b"Subtype").and_then(Object::as_name).unwrap_or(b"") {
                    b"Image" => marks.image = true,
                    b"Form" => {
                        let inner = resolve(doc, stream.dict.get(b"Resources").ok())
                            .and_then(|o| o.as_dict().ok())
                            .or(resources);
                        let data = stream
                            .decompressed_content()
                            .unwrap_or_else(|_| stream.content.clone());
                        scan(doc, &data, inner, depth + 1, marks, seen, budget);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Follows a reference (or takes the object as it is).
fn resolve<'a>(doc: &'a Document, o: Option<&'a Object>) -> Option<&'a Object> {
    doc.dereference(o?).ok().map(|(_, o)| o)
}

/// A field and its kids, named as PDF viewers name them ("parent.child").
fn collect_fields(
    doc: &Document,
    field: &Object,
    parent: &str,
    depth: usize,
    visited: &mut std::collections::HashSet<lopdf::ObjectId>,
    out: &mut Vec<(String, String)>,
) {
    if depth > 16 || out.len() >= MAX_ITEMS || visited.len() >= MAX_FIELD_NODES {
        return;
    }
    if let Object::Reference(id) = field
        && !visited.insert(*id)
    {
        return;
    }
    let Some(dict) = resolve(doc, Some(field)).and_then(|o| o.as_dict().ok()) else { return };
    let own = string(doc, dict, b"T").unwrap_or_default();
    let name = match (parent.is_empty(), own.is_empty()) {
        (true, _) => own,
        (false, true) => parent.to_string(),
        (false, false) => format!("{parent}.{own}"),
    };
    if let Some(value) = field_value(doc, dict) {
        // The label a person sees (the tooltip), else the field's full name.
        let label = string(doc, dict, b"TU").unwrap_or_else(|| name.clone());
        out.push((if label.is_empty() { "(unnamed)".into() } else { label }, value));
    }
    if let Some(kids) = resolve(doc, dict.get(b"Kids").ok()).and_then(|o| o.as_array().ok()) {
        for kid in kids {
            collect_fields(doc, kid, &name, depth + 1, visited, out);
        }
    }
}

/// A field's value as text: typed text, a chosen option, a ticked box ("Yes"); `None` when
/// empty or off.
fn field_value(doc: &Document, dict: &Dictionary) -> Option<String> {
    let value = resolve(doc, dict.get(b"V").ok())?;
    let text = match value {
        Object::String(..) => string(doc, dict, b"V")?,
        Object::Name(n) => {
            let n = String::from_utf8_lossy(n).to_string();
            if n == "Off" {
                return None;
            }
            n
        }
        Object::Array(items) => items
            .iter()
            .take(64)
            .filter_map(|i| match i {
                Object::String(b, _) => Some(pdf_string(b)),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", ")
            .chars()
            .take(MAX_ITEM_CHARS)
            .collect(),
        _ => return None,
    };
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn string(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<String> {
    match resolve(doc, dict.get(key).ok())? {
        Object::String(bytes, _) => {
            let s = pdf_string(bytes);
            let s = s.trim();
            (!s.is_empty()).then(|| s.chars().take(MAX_ITEM_CHARS).collect())
        }
        _ => None,
    }
}

/// A PDF text string: UTF-16BE after its byte-order mark, UTF-8 after its own, else
/// PDFDocEncoding (Latin-1 for the characters that matter here).
fn pdf_string(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> =
            utf16.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else if let Some(utf8) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(utf8).into_owned()
    } else {
        bytes.iter().map(|&b| pdf_doc_char(b)).collect()
    }
}

/// PDFDocEncoding: Latin-1, except 0x18–0x1F and 0x80–0x9F (typographic marks).
fn pdf_doc_char(b: u8) -> char {
    const HIGH: [char; 32] = [
        '•', '†', '‡', '…', '—', '–', 'ƒ', '⁄', '‹', '›', '−', '‰', '„', '“', '”', '‘', '’', '‚',
        '™', 'ﬁ', 'ﬂ', 'Ł', 'Œ', 'Š', 'Ÿ', 'Ž', 'ı', 'ł', 'œ', 'š', 'ž', '\u{FFFD}',
    ];
    const LOW: [char; 8] = ['˘', 'ˇ', 'ˆ', '˙', '˝', '˛', '˚', '˜'];
    match b {
        0x18..=0x1F => LOW[(b - 0x18) as usize],
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// Whether the file's trailer names an encryption dictionary (for files lopdf cannot open).
fn mentions_encrypt(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
    tail.windows(8).any(|w| w == b"/Encrypt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_decode_as_pdf_writes_them() {
        assert_eq!(pdf_string(&[0xFE, 0xFF, 0x00, b'G', 0x03, 0xA9]), "GΩ");
        assert_eq!(pdf_string(b"caf\xe9"), "café");
        assert_eq!(pdf_string(b"\x8dOK\x8e \x84 \x80"), "“OK” — •");
        assert_eq!(pdf_string(&[0xEF, 0xBB, 0xBF, 0xC2, 0xB5]), "µ");
    }

    #[test]
    fn garbage_is_unparsed_and_an_encrypt_entry_is_seen() {
        assert_eq!(inspect(b"not a pdf"), Inspection::default());
        assert!(inspect(b"%PDF-1.7\ntrailer << /Encrypt 5 0 R >>").encrypted);
    }
}
