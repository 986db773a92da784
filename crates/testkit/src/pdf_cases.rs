//! Generated PDFs with known text that exercise what real-world reports do to a text
//! extractor: CID fonts with and without a ToUnicode map, Type 3 fonts, form fields and
//! annotations, incremental updates, a broken cross-reference table, text drawn in unusual
//! colour spaces, rotated pages, two-column pages and tables drawn column by column.
//!
//! Each [`Case`] says what a reader must get from it: its words ([`Expect::Text`]) or the
//! reason there are none.

use crate::pdf::{Doc, HELVETICA, literal};

/// What a reader must make of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Text with these words (in this order where the case is about order).
    Text(String),
    /// Text is drawn, but in a font with no mapping to characters.
    Unmapped,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

/// How many of `expected`'s words (case-folded, punctuation aside) `got` has, each found word
/// used once, and of how many: the measure of a text read back from a PDF.
pub fn words_found(expected: &str, got: &str) -> (usize, usize) {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let mut have = words(got);
    let want = words(expected);
    let mut found = 0;
    for w in &want {
        if let Some(i) = have.iter().position(|h| h == w) {
            have.swap_remove(i);
            found += 1;
        }
    }
    (found, want.len())
}

/// Every case.
pub fn all() -> Vec<Case> {
    vec![
        cid_font(true),
        cid_font(false),
        type3_font(),
        type3_with_to_unicode(),
        form_fields_and_annotations(),
        incremental_update(),
        broken_xref(),
        colour_spaces(),
        rotated(),
        two_columns(),
        table_by_columns(),
    ]
}

const REPORT: &str = "Transformer T2 inspection at substation Nord. Oil temperature 61 C, \
    load 74 percent, Buchholz relay tested and sealed. Insulation resistance HV to earth \
    1.8 GΩ at 5 kV. Replace the silica gel breather before 2027-03-01.";

fn text(words: &str) -> Expect {
    Expect::Text(words.to_string())
}

/// Lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split_whitespace() {
        let line = out.last_mut().unwrap();
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out
}

/// Text shown line by line from (x, y) with `font` at `size`, each line's string made by
/// `encode`.
fn lines_stream(
    lines: &[String],
    font: &str,
    size: f64,
    x: f64,
    y: f64,
    encode: impl Fn(&str) -> Vec<u8>,
) -> Vec<u8> {
    let mut s = format!("BT\n/{font} {size} Tf\n{} TL\n{x} {y} Td\n", size * 1.3).into_bytes();
    for line in lines {
        s.extend_from_slice(&encode(line));
        s.extend_from_slice(b" Tj T*\n");
    }
    s.extend_from_slice(b"ET\n");
    s
}

/// A composite (Type 0) font with two-byte codes (Identity-H) that are not Unicode, as PDF
/// producers embed TrueType subsets: readable only through its ToUnicode map.
fn cid_font(to_unicode: bool) -> Case {
    let mut alphabet: Vec<char> = REPORT.chars().collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    // Codes 1… in the order of a sorted alphabet: nothing like the characters' own values.
    let code = |c: char| alphabet.iter().position(|a| *a == c).unwrap() as u16 + 1;
    let mut doc = Doc::new();
    let descriptor = doc.object(
        "<< /Type /FontDescriptor /FontName /ABCDEF+ArialMT /Flags 32 /FontBBox [0 -210 1000 900] /ItalicAngle 0 /Ascent 900 /Descent -210 /CapHeight 716 /StemV 80 >>",
    );
    let descendant = doc.object(format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+ArialMT /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /DW 556 /CIDToGIDMap /Identity >>"
    ));
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in alphabet.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for c in chunk {
            let mut units = [0u16; 2];
            let hex: String =
                c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
            cmap.push_str(&format!("<{:04X}> <{hex}>\n", code(*c)));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let mut font = format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+ArialMT /Encoding /Identity-H /DescendantFonts [{descendant} 0 R]"
    );
    if to_unicode {
        let map = doc.stream("", cmap.as_bytes());
        font.push_str(&format!(" /ToUnicode {map} 0 R"));
    }
    font.push_str(" >>");
    let font = doc.object(font);
    let hex = |line: &str| -> Vec<u8> {
        let codes: String = line.chars().map(|c| format!("{:04X}", code(c))).collect();
        format!("<{codes}>").into_bytes()
    };
    let content = lines_stream(&wrap(REPORT, 70), "F1", 11.0, 50.0, 780.0, hex);
    doc.page(&format!("<< /Font << /F1 {font} 0 R >> >>"), &content, "");
    if to_unicode {
        Case { name: "cid-font-to-unicode", bytes: doc.bytes(), expect: text(REPORT) }
    } else {
        Case { name: "cid-font-without-to-unicode", bytes: doc.bytes(), expect: Expect::Unmapped }
    }
}

/// Characters a Type 3 font below draws, with their standard glyph names.
fn glyph_name(c: char) -> String {
    match c {
        ' ' => "space".into(),
        '.' => "period".into(),
        ',' => "comma".into(),
        '-' => "hyphen".into(),
        '0' => "zero".into(),
        '1' => "one".into(),
        '2' => "two".into(),
        '3' => "three".into(),
        '4' => "four".into(),
        '5' => "five".into(),
        '6' => "six".into(),
        '7' => "seven".into(),
        '8' => "eight".into(),
        '9' => "nine".into(),
        c => c.to_string(),
    }
}

const TYPE3_TEXT: &str = "Valve V-12 stroked 3 times, seat leak 0.4 l per min, packing retightened. \
    Actuator torque switch set to 85 percent.";

/// A Type 3 font (glyphs drawn by content streams, as some report generators and TeX make
/// them): its codes are mapped to characters by standard glyph names, or only by `to_unicode`
/// when the names say nothing (`g1`, `g2`, …).
fn type3(named: bool, to_unicode: bool) -> Vec<u8> {
    let mut chars: Vec<char> = TYPE3_TEXT.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    let mut doc = Doc::new();
    let mut procs = String::from("<<");
    let mut differences = String::from("[33");
    for (i, c) in chars.iter().enumerate() {
        let name = if named { glyph_name(*c) } else { format!("g{}", i + 1) };
        let glyph = doc.stream("", b"500 0 0 0 450 700 d1 0 0 450 700 re f");
        procs.push_str(&format!(" /{name} {glyph} 0 R"));
        differences.push_str(&format!(" /{name}"));
    }
    procs.push_str(" >>");
    differences.push(']');
    let procs = doc.object(procs);
    // Codes 33… in sorted order, not the characters' own.
    let code = |c: char| chars.iter().position(|a| *a == c).unwrap() as u8 + 33;
    let widths: Vec<&str> = chars.iter().map(|_| "500").collect();
    let mut font = format!(
        "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs {procs} 0 R /Encoding << /Type /Encoding /Differences {differences} >> /FirstChar 33 /LastChar {} /Widths [{}] /Resources << >>",
        32 + chars.len(),
        widths.join(" ")
    );
    if to_unicode {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /T3-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\nendcodespacerange\n",
        );
        cmap.push_str(&format!("{} beginbfchar\n", chars.len()));
        for c in &chars {
            cmap.push_str(&format!("<{:02X}> <{:04X}>\n", code(*c), *c as u32));
        }
        cmap.push_str(
            "endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n",
        );
        let map = doc.stream("", cmap.as_bytes());
        font.push_str(&format!(" /ToUnicode {map} 0 R"));
    }
    font.push_str(" >>");
    let font = doc.object(font);
    let encode = |line: &str| -> Vec<u8> {
        let mut s = vec![b'<'];
        for c in line.chars() {
            s.extend_from_slice(format!("{:02X}", code(c)).as_bytes());
        }
        s.push(b'>');
        s
    };
    let content = lines_stream(&wrap(TYPE3_TEXT, 60), "T3", 12.0, 50.0, 760.0, encode);
    doc.page(&format!("<< /Font << /T3 {font} 0 R >> >>"), &content, "");
    doc.bytes()
}

fn type3_font() -> Case {
    Case { name: "type3-font", bytes: type3(true, false), expect: text(TYPE3_TEXT) }
}

fn type3_with_to_unicode() -> Case {
    Case { name: "type3-font-to-unicode", bytes: type3(false, true), expect: text(TYPE3_TEXT) }
}

/// A Helvetica page with these lines.
fn page_of(doc: &mut Doc, lines: &[String], extra: &str) -> usize {
    let font = doc.object(HELVETICA);
    let content = lines_stream(lines, "F1", 11.0, 50.0, 780.0, literal);
    doc.page(&format!("<< /Font << /F1 {font} 0 R >> >>"), &content, extra)
}

fn form_fields_and_annotations() -> Case {
    let mut doc = Doc::new();
    let printed = "Work order form. Fill in the fields below and sign.";
    let site = doc.object("<< /FT /Tx /T (site) /V (Pumping station Lindenweg) /Rect [50 700 300 720] /Subtype /Widget >>");
    let reading = doc.object("<< /FT /Tx /T (reading) /V (Flow 42.5 cubic metres per hour) /Rect [50 670 300 690] /Subtype /Widget >>");
    let note = doc.object("<< /Type /Annot /Subtype /Text /Rect [400 700 420 720] /Contents (Check the flow meter calibration certificate, expired 2026-10.) >>");
    let form = doc.object(format!("<< /Fields [{site} 0 R {reading} 0 R] >>"));
    doc.catalog(&format!("/AcroForm {form} 0 R"));
    page_of(
        &mut doc,
        &[printed.to_string()],
        &format!("/Annots [{site} 0 R {reading} 0 R {note} 0 R]"),
    );
    Case {
        name: "form-fields-and-annotations",
        bytes: doc.bytes(),
        expect: text(&format!(
            "{printed} Pumping station Lindenweg Flow 42.5 cubic metres per hour Check the flow meter calibration certificate, expired 2026-10."
        )),
    }
}

/// A file saved, then changed by appending an update (as a signature or an edit in a viewer
/// does): the reader must see the updated page, not the first version.
fn incremental_update() -> Case {
    let mut doc = Doc::new();
    let page = page_of(&mut doc, &["Draft: pressure reading pending.".to_string()], "");
    let (mut bytes, _) = doc.bytes_with_offsets();
    let first_xref = startxref(&bytes);
    // The page's content stream is the object just before the page.
    let contents = page - 1;
    let update = "Final: pressure 4.7 bar at the manifold, relief valve lifts at 6.0 bar.";
    let mut stream = b"BT /F1 11 Tf 50 780 Td ".to_vec();
    stream.extend_from_slice(&literal(update));
    stream.extend_from_slice(b" Tj ET");
    let at = bytes.len();
    bytes.extend_from_slice(
        format!("{contents} 0 obj\n<< /Length {} >>\nstream\n", stream.len()).as_bytes(),
    );
    bytes.extend_from_slice(&stream);
    bytes.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = bytes.len();
    bytes.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{contents} 1\n{at:010} 00000 n \ntrailer\n<< /Size {} /Root 1 0 R /Prev {first_xref} >>\nstartxref\n{xref}\n%%EOF\n",
            doc.objects_len() + 1
        )
        .as_bytes(),
    );
    Case { name: "incremental-update", bytes, expect: text(update) }
}

fn startxref(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().trim().parse().unwrap()
}

/// Every offset in the cross-reference table is wrong (a file edited by a tool that did not
/// rewrite it, or re-saved with other line endings): readers rebuild it by scanning.
fn broken_xref() -> Case {
    let mut doc = Doc::new();
    let body = "Generator G1 ran 2.5 hours under load, coolant 88 C, no alarms. Next service at 500 hours.";
    page_of(&mut doc, &wrap(body, 60), "");
    let (bytes, offsets) = doc.bytes_with_offsets();
    let mut file = String::from_utf8_lossy(&bytes).into_owned();
    for off in offsets {
        file =
            file.replacen(&format!("{off:010} 00000 n"), &format!("{:010} 00000 n", off + 17), 1);
    }
    Case { name: "broken-xref", bytes: file.into_bytes(), expect: text(body) }
}

/// Text filled (and stroked) in every colour space a page may use.
fn colour_spaces() -> Case {
    let mut doc = Doc::new();
    let font = doc.object(HELVETICA);
    let icc = doc.stream("/N 3 /Alternate /DeviceRGB", b"not really an ICC profile");
    let tint = doc.object("<< /FunctionType 2 /Domain [0 1] /C0 [0 0 0 0] /C1 [1 0 0 0] /N 1 >>");
    let shading = doc.object(
        "<< /ShadingType 2 /ColorSpace /DeviceRGB /Coords [0 0 500 0] /Function << /FunctionType 2 /Domain [0 1] /C0 [1 0 0] /C1 [0 0 1] /N 1 >> >>",
    );
    let pattern = doc.object(format!("<< /PatternType 2 /Shading {shading} 0 R >>"));
    let spaces = format!(
        "<< /CalRGB [/CalRGB << /WhitePoint [0.9505 1 1.089] /Gamma [1.8 1.8 1.8] >>] /CalGray [/CalGray << /WhitePoint [0.9505 1 1.089] >>] /Lab [/Lab << /WhitePoint [0.9505 1 1.089] /Range [-100 100 -100 100] >>] /ICC [/ICCBased {icc} 0 R] /Sep [/Separation /Spot1 /DeviceCMYK {tint} 0 R] /DevN [/DeviceN [/Cyan /Spot2] /DeviceCMYK {tint} 0 R] /Idx [/Indexed /DeviceRGB 1 <FF000000FF00>] /Pat [/Pattern] >>"
    );
    let lines: [(&str, &str); 10] = [
        ("/CalRGB cs 0.2 0.4 0.6 sc", "Line one in CalRGB reads voltage 231 V."),
        ("/CalGray cs 0.5 sc", "Line two in CalGray reads current 12.4 A."),
        ("/Lab cs 50 20 -30 sc", "Line three in Lab reads frequency 50.02 Hz."),
        ("/ICC cs 0.1 0.2 0.3 sc", "Line four in ICCBased reads power factor 0.93."),
        ("/Sep cs 0.7 sc", "Line five in Separation reads earth loop 0.35 Ohm."),
        ("/DevN cs 0.3 0.6 scn", "Line six in DeviceN reads RCD trip 18 ms."),
        ("/Idx cs 1 sc", "Line seven in Indexed reads phase rotation correct."),
        ("/Pat cs /P1 scn", "Line eight in a shading pattern reads THD 3.1 percent."),
        ("0.1 0.2 0.3 0.4 k", "Line nine in DeviceCMYK reads neutral current 0.8 A."),
        ("1 Tr 0 0 1 RG", "Line ten stroked only reads insulation 550 MOhm."),
    ];
    let mut content = b"BT\n/F1 11 Tf\n50 780 Td\n14 TL\n".to_vec();
    for (colour, line) in lines {
        content.extend_from_slice(colour.as_bytes());
        content.push(b' ');
        content.extend_from_slice(&literal(line));
        content.extend_from_slice(b" Tj T*\n");
    }
    content.extend_from_slice(b"ET\n");
    doc.page(
        &format!(
            "<< /Font << /F1 {font} 0 R >> /ColorSpace {spaces} /Pattern << /P1 {pattern} 0 R >> >>"
        ),
        &content,
        "",
    );
    let all: Vec<&str> = lines.iter().map(|l| l.1).collect();
    Case { name: "colour-spaces", bytes: doc.bytes(), expect: text(&all.join(" ")) }
}

const ROTATED: &str = "Cable route C4 runs along the east wall, tray 300 mm, fill 40 percent.";

/// A landscape page (`/Rotate 90`) whose text runs up the portrait page.
fn rotated() -> Case {
    let mut doc = Doc::new();
    let font = doc.object(HELVETICA);
    let mut content = b"BT\n/F1 11 Tf\n".to_vec();
    for (i, line) in wrap(ROTATED, 40).iter().enumerate() {
        // Text direction straight up; lines further right are further down the reading.
        content.extend_from_slice(format!("0 1 -1 0 {} 100 Tm ", 80 + i * 15).as_bytes());
        content.extend_from_slice(&literal(line));
        content.extend_from_slice(b" Tj\n");
    }
    content.extend_from_slice(b"ET\n");
    doc.page(&format!("<< /Font << /F1 {font} 0 R >> >>"), &content, "/Rotate 90");
    Case { name: "rotated-page", bytes: doc.bytes(), expect: text(ROTATED) }
}

const LEFT: &str = "The left column describes the inspection of the north pump house. The \
    impeller was worn at the leading edges and the mechanical seal wept slightly at start. \
    Both were noted for the next planned outage.";
const RIGHT: &str = "The right column lists the follow-up work in the south pump house. Bearing \
    temperatures were normal, vibration 2.1 mm per s, and the coupling guard was refitted \
    after the alignment check.";

/// Two columns of prose, drawn row by row across both (as some generators do): read, they
/// must come one column after the other.
fn two_columns() -> Case {
    let mut doc = Doc::new();
    let font = doc.object(HELVETICA);
    let (left, right) = (wrap(LEFT, 42), wrap(RIGHT, 42));
    let mut content = b"BT\n/F1 10 Tf\n".to_vec();
    for row in 0..left.len().max(right.len()) {
        let y = 760 - row * 13;
        for (x, column) in [(50, &left), (310, &right)] {
            if let Some(line) = column.get(row) {
                content.extend_from_slice(format!("1 0 0 1 {x} {y} Tm ").as_bytes());
                content.extend_from_slice(&literal(line));
                content.extend_from_slice(b" Tj\n");
            }
        }
    }
    content.extend_from_slice(b"ET\n");
    doc.page(&format!("<< /Font << /F1 {font} 0 R >> >>"), &content, "");
    Case { name: "two-columns", bytes: doc.bytes(), expect: text(&format!("{LEFT} {RIGHT}")) }
}

/// The rows of the table in the `table-by-columns` case.
pub const TABLE: [[&str; 3]; 4] = [
    ["Insulation", "L1", "1.8 GOhm"],
    ["Insulation", "L2", "2.1 GOhm"],
    ["Insulation", "L3", "0.9 GOhm"],
    ["Earth continuity", "PE", "0.12 Ohm"],
];

/// A measurement table drawn column by column (every label, then every phase, then every
/// value): read, each row must stay on one line.
fn table_by_columns() -> Case {
    let mut doc = Doc::new();
    let font = doc.object(HELVETICA);
    let mut content =
        b"BT\n/F1 10 Tf\n1 0 0 1 50 780 Tm (Test results, distribution board DB-3) Tj\n".to_vec();
    for (col, x) in [50, 220, 300].into_iter().enumerate() {
        for (row, cells) in TABLE.iter().enumerate() {
            let y = 750 - row * 16;
            content.extend_from_slice(format!("1 0 0 1 {x} {y} Tm ").as_bytes());
            content.extend_from_slice(&literal(cells[col]));
            content.extend_from_slice(b" Tj\n");
        }
    }
    content.extend_from_slice(b"ET\n");
    doc.page(&format!("<< /Font << /F1 {font} 0 R >> >>"), &content, "");
    let rows: Vec<String> = TABLE.iter().map(|r| r.join(" ")).collect();
    Case {
        name: "table-by-columns",
        bytes: doc.bytes(),
        expect: text(&format!("Test results, distribution board DB-3 {}", rows.join(" "))),
    }
}
