//! What a PDF reader does for files that are slightly broken, before `pdf-extract` reads them.
//!
//! - [`rebuild_xref`]: a cross-reference table that points at the wrong bytes (a file edited
//!   by a tool that did not rewrite it, re-saved with other line endings, cut at the end) is
//!   rebuilt by scanning the file for its objects — as poppler and MuPDF do — and appended as
//!   the file's last section, so `lopdf` reads the objects where they really are.
//! - [`without_colour`]: colour does not change what text says, but `pdf-extract` panics on
//!   colour spaces it does not know (Indexed, a named Pattern space, a Separation over ICC…)
//!   and loses the rest of the page. A page that failed is read again with its colour
//!   operators taken out of its content streams and forms.
//! - [`text_operators`]: `pdf-extract` skips the `'` and `"` operators (next line, then show
//!   text) and text shown outside `BT … ET`; a page that uses them is rewritten with their
//!   plain equivalents first.

use pdf_extract::content::{Content, Operation};
use pdf_extract::{Document, Object, ObjectId};

/// The largest object number a PDF may use (ISO 32000's limit).
const MAX_OBJECT: u32 = 8_388_607;

/// The file with a cross-reference section rebuilt from the objects found in it, or `None`
/// when it holds no objects or no document catalog.
pub fn rebuild_xref(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut objects: std::collections::BTreeMap<u32, (u16, usize)> = Default::default();
    let mut i = 0;
    while i < bytes.len() {
        let at_start = i == 0 || matches!(bytes[i - 1], b'\n' | b'\r' | b' ' | b'\t' | b'\x0c');
        if at_start
            && bytes[i].is_ascii_digit()
            && let Some((num, generation, end)) = object_header(bytes, i)
            // PDF's own limit; a larger "object number" is not one (and would size the table).
            && num <= MAX_OBJECT
        {
            // A later definition (an incremental update) replaces an earlier one.
            objects.insert(num, (generation, i));
            i = end;
            continue;
        }
        i += 1;
    }
    if objects.is_empty() {
        return None;
    }
    let root = last_reference(bytes, b"/Root").or_else(|| {
        // No trailer to say where the catalog is: the object that is one.
        objects.iter().rev().find_map(|(&num, &(generation, offset))| {
            let body = &bytes[offset..bytes.len().min(offset + 4096)];
            let end = find(body, b"endobj").unwrap_or(body.len());
            let body = &body[..end];
            (find(body, b"/Catalog").is_some() && find(body, b"/Pages").is_some())
                .then_some((num, generation))
        })
    })?;
    let size = objects.keys().next_back().map_or(1, |n| n + 1);
    let mut out = bytes.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let xref = out.len();
    // One subsection per object found: the table grows with the objects, not their numbers.
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
    for (n, (generation, offset)) in objects.iter().filter(|(n, _)| **n > 0) {
        out.extend_from_slice(format!("{n} 1\n{offset:010} {generation:05} n \n").as_bytes());
    }
    let mut trailer = format!("<< /Size {size} /Root {} {} R", root.0, root.1);
    for key in [&b"/Info"[..], b"/Encrypt"] {
        if let Some((n, g)) = last_reference(bytes, key) {
            trailer.push_str(&format!(" {} {n} {g} R", String::from_utf8_lossy(key)));
        }
    }
    if let Some(id) = last_id(bytes) {
        trailer.push_str(&format!(" /ID {id}"));
    }
    trailer.push_str(" >>");
    out.extend_from_slice(format!("trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    Some(out)
}

/// `N G obj` at `i`: the object's number, generation and the index after `obj`.
fn object_header(bytes: &[u8], i: usize) -> Option<(u32, u16, usize)> {
    let (num, j) = number(bytes, i)?;
    let j = spaces(bytes, j)?;
    let (generation, k) = number(bytes, j)?;
    let k = spaces(bytes, k)?;
    if !bytes[k..].starts_with(b"obj") {
        return None;
    }
    let end = k + 3;
    // `obj` as a keyword, not the start of another word.
    if bytes.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((u32::try_from(num).ok()?, u16::try_from(generation).ok()?, end))
}

fn number(bytes: &[u8], i: usize) -> Option<(u64, usize)> {
    let digits = bytes[i..].iter().take(11).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 10 {
        return None;
    }
    let n = std::str::from_utf8(&bytes[i..i + digits]).ok()?.parse().ok()?;
    Some((n, i + digits))
}

/// The index after at least one whitespace character at `i`.
fn spaces(bytes: &[u8], i: usize) -> Option<usize> {
    let n = bytes[i..].iter().take_while(|c| matches!(c, b' ' | b'\r' | b'\n' | b'\t')).count();
    (n > 0).then_some(i + n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The last `KEY N G R` in the file (in a trailer or a cross-reference stream's dictionary).
fn last_reference(bytes: &[u8], key: &[u8]) -> Option<(u32, u16)> {
    let mut end = bytes.len();
    while let Some(at) = rfind(&bytes[..end], key) {
        let mut i = at + key.len();
        i = spaces(bytes, i).unwrap_or(i);
        if let Some((n, j)) = number(bytes, i)
            && let Some(j) = spaces(bytes, j)
            && let Some((g, k)) = number(bytes, j)
            && let Some(k) = spaces(bytes, k)
            && bytes.get(k) == Some(&b'R')
        {
            return Some((u32::try_from(n).ok()?, u16::try_from(g).ok()?));
        }
        end = at;
    }
    None
}

/// The last `/ID [<…> <…>]` array, as written (encrypted files need it to be decrypted).
fn last_id(bytes: &[u8]) -> Option<String> {
    let at = rfind(bytes, b"/ID")?;
    let rest = &bytes[at + 3..bytes.len().min(at + 300)];
    let open = rest.iter().position(|c| !c.is_ascii_whitespace())?;
    if rest[open] != b'[' {
        return None;
    }
    let close = rest.iter().position(|c| *c == b']')?;
    let id = std::str::from_utf8(&rest[open..=close]).ok()?;
    id.chars().all(|c| c.is_ascii_hexdigit() || " \r\n\t<>[]".contains(c)).then(|| id.to_string())
}

/// The operators that set colours and colour spaces.
const COLOUR: [&str; 12] = ["CS", "cs", "SC", "SCN", "sc", "scn", "G", "g", "RG", "rg", "K", "k"];

/// Takes the colour operators out of a page's content and, with `forms`, out of every form in
/// the document. Streams that cannot be parsed are left as they are.
pub fn without_colour(doc: &mut Document, page: ObjectId, forms: bool) {
    if let Ok(data) = doc.get_page_content(page)
        && let Some(clean) = strip(&data)
    {
        let _ = doc.change_page_content(page, clean);
    }
    if !forms {
        return;
    }
    for object in doc.objects.values_mut() {
        if let Object::Stream(stream) = object
            && stream.dict.get(b"Subtype").and_then(Object::as_name).is_ok_and(|n| n == b"Form")
            && let Ok(data) =
                stream.decompressed_content().or_else(|_| Ok::<_, ()>(stream.content.clone()))
            && let Some(clean) = strip(&data)
        {
            stream.set_plain_content(clean);
        }
    }
}

/// Rewrites a page's `'` and `"` operators as `T*` and `Tj` (with `Tw` and `Tc` for `"`), and
/// opens a text object where text is positioned or shown outside one.
pub fn text_operators(doc: &mut Document, page: ObjectId) {
    let Ok(data) = doc.get_page_content(page) else { return };
    let quotes = data.iter().any(|c| matches!(c, b'\'' | b'"'));
    if !quotes && find(&data, b"BT").is_some() {
        return;
    }
    let Ok(content) = Content::decode(&data) else { return };
    let mut operations = Vec::with_capacity(content.operations.len() + 8);
    let (mut in_text, mut opened, mut changed) = (false, false, false);
    for op in content.operations {
        let operator = op.operator.as_str();
        let shows = matches!(operator, "'" | "\"" | "Tj" | "TJ" | "Td" | "TD" | "Tm" | "T*");
        if shows && !in_text {
            operations.push(Operation::new("BT", vec![]));
            (in_text, opened, changed) = (true, true, true);
        }
        match operator {
            "BT" => {
                // A text object this rewrite opened ends where the page's own begins.
                if opened {
                    operations.push(Operation::new("ET", vec![]));
                    opened = false;
                }
                in_text = true;
            }
            "ET" => {
                in_text = false;
                opened = false;
            }
            _ => {}
        }
        match (operator, op.operands.as_slice()) {
            ("'", [text]) => {
                operations.push(Operation::new("T*", vec![]));
                operations.push(Operation::new("Tj", vec![text.clone()]));
                changed = true;
            }
            ("\"", [word, character, text]) => {
                operations.push(Operation::new("Tw", vec![word.clone()]));
                operations.push(Operation::new("Tc", vec![character.clone()]));
                operations.push(Operation::new("T*", vec![]));
                operations.push(Operation::new("Tj", vec![text.clone()]));
                changed = true;
            }
            _ => operations.push(op),
        }
    }
    if opened {
        operations.push(Operation::new("ET", vec![]));
    }
    if changed && let Ok(data) = (Content { operations }).encode() {
        let _ = doc.change_page_content(page, data);
    }
}

fn strip(data: &[u8]) -> Option<Vec<u8>> {
    let mut content = Content::decode(data).ok()?;
    let before = content.operations.len();
    content.operations.retain(|op| !COLOUR.contains(&op.operator.as_str()));
    if content.operations.len() == before {
        return None;
    }
    content.encode().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_pointing_at_the_wrong_bytes_is_rebuilt_from_the_objects() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \n0000000099 00000 n \n0000000199 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R /ID [<ab12> <ab12>] >>\nstartxref\n5\n%%EOF\n";
        let fixed = rebuild_xref(pdf).unwrap();
        let text = String::from_utf8_lossy(&fixed);
        let tail = &text[pdf.len()..];
        assert!(tail.contains("1 1\n0000000009 00000 n"), "{tail}");
        assert!(tail.contains("/Root 1 0 R") && tail.contains("/ID [<ab12> <ab12>]"), "{tail}");
        let doc = Document::load_mem(&fixed).unwrap();
        assert_eq!(doc.catalog().unwrap().get(b"Type").unwrap().as_name().unwrap(), b"Catalog");
    }

    #[test]
    fn without_a_trailer_the_catalog_is_found_by_its_type_and_without_objects_nothing_is_made() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n7 0 obj\n<</Type/Catalog/Pages 1 0 R>>\nendobj\n";
        let fixed = String::from_utf8(rebuild_xref(pdf).unwrap()).unwrap();
        assert!(fixed.contains("/Size 8 /Root 7 0 R"), "{fixed}");
        assert_eq!(rebuild_xref(b"%PDF-1.4\nnothing here"), None);
        // "12 0 objection" is not an object.
        assert_eq!(rebuild_xref(b"%PDF-1.4\n12 0 objection\n"), None);
        // A huge object number is not one either: the table never grows with the numbers.
        let huge = b"%PDF-1.4\n4000000000 0 obj\n<</Type/Catalog/Pages 1 0 R>>\nendobj\n";
        assert_eq!(rebuild_xref(huge), None);
        let sparse = b"%PDF-1.4\n1 0 obj\n<</Type/Pages/Kids[]/Count 0>>\nendobj\n8000000 0 obj\n<</Type/Catalog/Pages 1 0 R>>\nendobj\n";
        let fixed = rebuild_xref(sparse).unwrap();
        assert!(fixed.len() < sparse.len() + 200, "{} bytes", fixed.len());
    }

    #[test]
    fn quote_operators_and_text_outside_a_text_object_are_made_plain() {
        use pdf_extract::dictionary;
        let mut doc = Document::with_version("1.4");
        let content = pdf_extract::Stream::new(
            dictionary! {},
            b"/F1 12 Tf 10 10 Td (stray) Tj BT (one) ' 1 2 (two) \" ET".to_vec(),
        );
        let content = doc.add_object(content);
        let page = doc.add_object(dictionary! { "Type" => "Page", "Contents" => content });
        text_operators(&mut doc, page);
        let got = String::from_utf8(doc.get_page_content(page).unwrap()).unwrap();
        let words: Vec<&str> = got.split_whitespace().collect();
        assert_eq!(
            words,
            [
                "/F1", "12", "Tf", "BT", "10", "10", "Td", "(stray)", "Tj", "ET", "BT", "T*",
                "(one)", "Tj", "1", "Tw", "2", "Tc", "T*", "(two)", "Tj", "ET"
            ],
            "{got}"
        );
    }

    #[test]
    fn colour_operators_go_and_the_text_stays() {
        let clean = strip(b"BT /F1 9 Tf /Cs1 cs 1 sc (Keep me) Tj 0 0 1 RG ET").unwrap();
        let clean = String::from_utf8(clean).unwrap();
        assert!(clean.contains("(Keep me) Tj") && clean.contains("/F1 9 Tf"), "{clean}");
        assert!(
            !clean.contains(" sc") && !clean.contains("RG") && !clean.contains("cs"),
            "{clean}"
        );
        assert_eq!(strip(b"BT (no colour) Tj ET"), None);
    }
}
