//! Printable summaries: a [`Sheet`] (a note's title, its details, the summary and a footer of
//! how the summary was made) laid out on A4 pages as a PDF that a work order or a customer gets.
//!
//! - Text is drawn with a TrueType font found on the system ([`Font::find`]: DejaVu Sans,
//!   Liberation Sans, Noto Sans, Arial or Segoe UI, or `FIELDBRIEF_PDF_FONT`), embedded as a
//!   subset (only the glyphs used) with a ToUnicode map, so the PDF shows "1.8 GΩ", "µF" and
//!   "°C" as typed, prints anywhere, and its text can be searched and copied.
//! - Lines are wrapped to the page by the font's own widths; a word longer than a line is
//!   broken, never cut off; pages are added as needed and every page carries the footer and
//!   "page N of M".
//! - A character the font has no glyph for is drawn as the font's blank box and reported in
//!   [`Rendered::missing`], so the caller can say so (nothing is dropped silently).
//!
//! Invariant: this crate knows nothing of notes, stores or routes; the pipeline fills a
//! [`Sheet`] and gets bytes back.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no TrueType font for the PDF was found (looked for {looked}); install DejaVu Sans (Debian/Ubuntu: fonts-dejavu-core) or set FIELDBRIEF_PDF_FONT to a .ttf file"
    )]
    NoFont { looked: String },
    #[error("the font {path} cannot be used: {why}")]
    BadFont { path: String, why: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// What goes on the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    /// The note's title, at the top.
    pub title: String,
    /// Labelled details under the title: date, site, style, source…
    pub fields: Vec<(String, String)>,
    /// The heading over the summary, e.g. "Handover".
    pub heading: String,
    /// The summary: paragraphs, `- ` bullets, `1. ` numbered items, `#` headings; `**` marks
    /// are dropped.
    pub body: String,
    /// Small print at the foot of every page: route, model, quality.
    pub footer: Vec<String>,
    /// The PDF's creator, e.g. "Fieldbrief 0.1.0".
    pub creator: String,
}

impl Sheet {
    /// The same page as Markdown (`fieldbrief export ID` without `--pdf`).
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for (label, value) in &self.fields {
            out.push_str(&format!("- **{label}:** {value}\n"));
        }
        out.push_str(&format!("\n## {}\n\n{}\n\n---\n\n", self.heading, self.body.trim_end()));
        for line in &self.footer {
            out.push_str(&format!("_{line}_  \n"));
        }
        out
    }
}

/// The PDF and what a reader should know about it.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Characters the font could not draw (shown as boxes).
    pub missing: Vec<char>,
    /// The font's file.
    pub font: PathBuf,
}

/// A TrueType font file and, where there is one, its bold face.
#[derive(Debug, Clone)]
pub struct Font {
    regular: (PathBuf, Vec<u8>),
    bold: Option<(PathBuf, Vec<u8>)>,
}

/// Regular and bold faces looked for, in order.
const CANDIDATES: &[(&str, &str)] = &[
    // Debian, Ubuntu (fonts-dejavu-core), Arch, Fedora.
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
    // macOS.
    (
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    ),
    ("/Library/Fonts/Arial.ttf", "/Library/Fonts/Arial Bold.ttf"),
    // Windows (under %WINDIR%, see `Font::find`).
    ("Fonts\\arial.ttf", "Fonts\\arialbd.ttf"),
    ("Fonts\\segoeui.ttf", "Fonts\\segoeuib.ttf"),
];

impl Font {
    /// `FIELDBRIEF_PDF_FONT` (a .ttf file) when set, else the first of the usual system fonts
    /// found (with its bold face when present).
    pub fn find() -> Result<Font> {
        if let Some(path) = std::env::var_os("FIELDBRIEF_PDF_FONT").filter(|p| !p.is_empty()) {
            return Font::load(Path::new(&path), None);
        }
        let windir = std::env::var_os("WINDIR").map(PathBuf::from);
        let resolve = |p: &str| -> Option<PathBuf> {
            if p.starts_with('/') {
                Some(PathBuf::from(p))
            } else {
                windir.as_ref().map(|w| w.join(p))
            }
        };
        let mut looked = Vec::new();
        for (regular, bold) in CANDIDATES {
            let Some(regular) = resolve(regular) else { continue };
            if regular.is_file() {
                let bold = resolve(bold).filter(|b| b.is_file());
                return Font::load(&regular, bold.as_deref());
            }
            looked.push(regular.display().to_string());
        }
        Err(Error::NoFont { looked: looked.join(", ") })
    }

    /// A font from files (the bold face optional: without it, headings use the regular one).
    pub fn load(regular: &Path, bold: Option<&Path>) -> Result<Font> {
        let read = |path: &Path| -> Result<(PathBuf, Vec<u8>)> {
            let bad = |why: String| Error::BadFont { path: path.display().to_string(), why };
            let data = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let face = ttf_parser::Face::parse(&data, 0).map_err(|e| bad(e.to_string()))?;
            if face.glyph_index('a').is_none() {
                return Err(bad("it has no Latin letters".into()));
            }
            // Embedded as a CID TrueType font: PostScript (CFF) outlines would make a PDF
            // that readers refuse.
            if face.tables().glyf.is_none() {
                return Err(bad(
                    "it has PostScript (CFF) outlines; use a TrueType font (.ttf with glyf outlines)"
                        .into(),
                ));
            }
            Ok((path.to_path_buf(), data))
        };
        let regular = read(regular)?;
        // A bold face that cannot be read only costs the headings their weight.
        let bold = bold.and_then(|b| read(b).ok());
        Ok(Font { regular, bold })
    }

    /// The regular face's file.
    pub fn path(&self) -> &Path {
        &self.regular.0
    }
}

/// A4 in points, and the page's margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 56.0;
const RIGHT: f32 = PAGE_W - 56.0;
const TOP: f32 = PAGE_H - 60.0;
/// The footer's last line sits here; its lines stack upwards, and the text stops above them.
const FOOT: f32 = 40.0;
const FOOTER_LEADING: f32 = 10.0;
const MAX_FOOTER_LINES: usize = 12;
const LABEL_W: f32 = 86.0;

/// One face in the PDF: measures text, and maps characters to the subset's glyph ids.
struct Face<'a> {
    face: ttf_parser::Face<'a>,
    data: &'a [u8],
    remap: subsetter::GlyphRemapper,
    /// New glyph id → the character it draws (for the ToUnicode map).
    unicode: BTreeMap<u16, char>,
    /// In the order met.
    missing: Vec<char>,
    resource: Name<'static>,
    units: f32,
}

impl<'a> Face<'a> {
    fn new(data: &'a [u8], resource: Name<'static>) -> Face<'a> {
        let face = ttf_parser::Face::parse(data, 0).expect("checked when the font was loaded");
        let units = face.units_per_em() as f32;
        Face {
            face,
            data,
            remap: subsetter::GlyphRemapper::new(),
            unicode: BTreeMap::new(),
            missing: Vec::new(),
            resource,
            units,
        }
    }

    fn advance(&self, c: char) -> f32 {
        let glyph = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        self.face.glyph_hor_advance(glyph).unwrap_or(0) as f32 / self.units
    }

    /// Width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// Wraps `text` into lines no wider than `width` points at `size`.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate =
                if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if self.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line (a long URL or serial) is broken, not cut off.
            let mut piece = String::new();
            let mut piece_width = 0.0;
            for c in word.chars() {
                let w = self.advance(c) * size;
                if piece_width + w > width && !piece.is_empty() {
                    lines.push(std::mem::take(&mut piece));
                    piece_width = 0.0;
                }
                piece.push(c);
                piece_width += w;
            }
            line = piece;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// `text` as two-byte glyph ids of the subset (Identity-H).
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let old = match self.face.glyph_index(c) {
                Some(g) => g.0,
                None => {
                    if !self.missing.contains(&c) {
                        self.missing.push(c);
                    }
                    0
                }
            };
            let new = self.remap.remap(old);
            if old != 0 {
                self.unicode.entry(new).or_insert(c);
            }
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

/// Text runs placed on a page, before the glyphs are known to the font subset.
#[derive(Debug, Clone)]
enum Op {
    Text { x: f32, y: f32, size: f32, bold: bool, grey: bool, text: String },
    Rule { y: f32 },
}

/// A run of text in one style.
#[derive(Clone, Copy)]
struct Style {
    size: f32,
    bold: bool,
    leading: f32,
}

const TITLE: Style = Style { size: 18.0, bold: true, leading: 23.0 };
const FIELD: Style = Style { size: 10.0, bold: false, leading: 14.0 };
const HEADING: Style = Style { size: 13.0, bold: true, leading: 18.0 };
const SUBHEADING: Style = Style { size: 11.5, bold: true, leading: 16.0 };
const BODY: Style = Style { size: 11.0, bold: false, leading: 15.5 };
const FOOTER: f32 = 8.0;

/// Lays the sheet out page by page.
struct Layout<'f, 'a> {
    regular: &'f Face<'a>,
    bold: &'f Face<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Where text stops: above the footer.
    bottom: f32,
}

impl Layout<'_, '_> {
    fn face(&self, bold: bool) -> &Face<'_> {
        if bold { self.bold } else { self.regular }
    }

    fn room(&mut self, height: f32) {
        if self.y - height < self.bottom {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    fn push(&mut self, op: Op) {
        self.pages.last_mut().expect("a page").push(op);
    }

    /// Wraps `text` into lines no wider than `width` at `style`.
    fn wrap(&self, text: &str, style: Style, width: f32) -> Vec<String> {
        self.face(style.bold).wrap(text, style.size, width)
    }

    /// A paragraph at `x` with its continuation lines at `indent` (a bullet's hanging text).
    fn paragraph(&mut self, text: &str, style: Style, x: f32, marker: Option<&str>) {
        let indent = if marker.is_some() { x + 14.0 } else { x };
        let lines = self.wrap(text, style, RIGHT - indent);
        for (i, line) in lines.iter().enumerate() {
            self.room(style.leading);
            self.y -= style.leading;
            if i == 0
                && let Some(m) = marker
            {
                self.push(Op::Text {
                    x,
                    y: self.y,
                    size: style.size,
                    bold: style.bold,
                    grey: false,
                    text: m.to_string(),
                });
            }
            self.push(Op::Text {
                x: indent,
                y: self.y,
                size: style.size,
                bold: style.bold,
                grey: false,
                text: line.clone(),
            });
        }
    }

    fn gap(&mut self, points: f32) {
        if self.y < TOP {
            self.y -= points;
        }
    }

    fn fields(&mut self, fields: &[(String, String)]) {
        for (label, value) in fields {
            let lines = self.wrap(value, FIELD, RIGHT - LEFT - LABEL_W);
            for (i, line) in lines.iter().enumerate() {
                self.room(FIELD.leading);
                self.y -= FIELD.leading;
                if i == 0 {
                    self.push(Op::Text {
                        x: LEFT,
                        y: self.y,
                        size: FIELD.size,
                        bold: true,
                        grey: true,
                        text: label.clone(),
                    });
                }
                self.push(Op::Text {
                    x: LEFT + LABEL_W,
                    y: self.y,
                    size: FIELD.size,
                    bold: false,
                    grey: false,
                    text: line.clone(),
                });
            }
        }
    }

    /// The summary: headings, bullets, numbered items and paragraphs.
    fn body(&mut self, body: &str) {
        let mut paragraph = String::new();
        let flush = |layout: &mut Self, paragraph: &mut String| {
            if !paragraph.is_empty() {
                layout.paragraph(paragraph, BODY, LEFT, None);
                layout.gap(4.0);
                paragraph.clear();
            }
        };
        for raw in body.lines() {
            let line = raw.replace("**", "").replace('\t', "    ");
            let trimmed = line.trim();
            if trimmed.is_empty() {
                flush(self, &mut paragraph);
                continue;
            }
            let depth = (line.len() - line.trim_start().len()) / 2;
            let x = LEFT + 14.0 * depth.min(4) as f32;
            // A heading, or a short label line of its own ("Found:", "Open items:").
            let label = trimmed.ends_with(':') && trimmed.chars().count() <= 40 && depth == 0;
            if let Some(h) = trimmed.strip_prefix('#') {
                flush(self, &mut paragraph);
                self.gap(4.0);
                self.paragraph(h.trim_start_matches('#').trim(), SUBHEADING, LEFT, None);
            } else if label && paragraph.is_empty() {
                self.gap(3.0);
                self.paragraph(trimmed, SUBHEADING, LEFT, None);
            } else if let Some(item) =
                ["- ", "* ", "• "].iter().find_map(|m| trimmed.strip_prefix(m))
            {
                flush(self, &mut paragraph);
                self.paragraph(item.trim(), BODY, x, Some("•"));
            } else if let Some((n, item)) = numbered(trimmed) {
                flush(self, &mut paragraph);
                self.paragraph(item, BODY, x, Some(&format!("{n}.")));
            } else {
                if !paragraph.is_empty() {
                    paragraph.push(' ');
                }
                paragraph.push_str(trimmed);
            }
        }
        flush(self, &mut paragraph);
    }
}

/// "12. text" → ("12", "text").
fn numbered(line: &str) -> Option<(&str, &str)> {
    let digits = line.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = line[digits..].strip_prefix(". ").or_else(|| line[digits..].strip_prefix(") "))?;
    Some((&line[..digits], rest.trim()))
}

/// Lays out `sheet` and writes the PDF.
pub fn render(sheet: &Sheet, font: &Font) -> Result<Rendered> {
    let mut regular = Face::new(&font.regular.1, Name(b"F1"));
    let bold_data = font.bold.as_ref().map(|(_, d)| d.as_slice());
    let mut bold = bold_data.map(|d| Face::new(d, Name(b"F2")));

    // The footer first: however many lines it wraps to, the text stops above them all.
    let footer: Vec<String> = {
        let width = RIGHT - LEFT - 70.0;
        let mut lines: Vec<String> =
            sheet.footer.iter().flat_map(|f| regular.wrap(f, FOOTER, width)).collect();
        // Small print has a page's foot, not the page: past a dozen lines it says what is left.
        if lines.len() > MAX_FOOTER_LINES {
            let more = lines.len() - (MAX_FOOTER_LINES - 1);
            lines.truncate(MAX_FOOTER_LINES - 1);
            lines.push(format!("… and {more} more lines of small print not shown"));
        }
        lines
    };
    let footer_top = FOOT + FOOTER_LEADING * footer.len().saturating_sub(1) as f32;
    let rule_y = footer_top + 12.0;

    let pages = {
        let mut layout = Layout {
            regular: &regular,
            bold: bold.as_ref().unwrap_or(&regular),
            pages: vec![Vec::new()],
            y: TOP,
            bottom: rule_y + 16.0,
        };
        layout.paragraph(&sheet.title, TITLE, LEFT, None);
        layout.gap(6.0);
        layout.fields(&sheet.fields);
        layout.gap(10.0);
        layout.room(2.0);
        let y = layout.y;
        layout.push(Op::Rule { y });
        layout.gap(6.0);
        layout.paragraph(&sheet.heading, HEADING, LEFT, None);
        layout.gap(4.0);
        layout.body(&sheet.body);
        layout.pages
    };
    let total = pages.len();

    let mut alloc = Ref::new(1);
    let catalog = alloc.bump();
    let tree = alloc.bump();
    let info = alloc.bump();
    let page_ids: Vec<(Ref, Ref)> = (0..total).map(|_| (alloc.bump(), alloc.bump())).collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().map(|(p, _)| *p)).count(total as i32);

    let font_refs: Vec<FontRefs> = (0..if bold.is_some() { 2 } else { 1 })
        .map(|_| FontRefs {
            type0: alloc.bump(),
            cid: alloc.bump(),
            descriptor: alloc.bump(),
            file: alloc.bump(),
            cmap: alloc.bump(),
        })
        .collect();

    for (n, (ops, (page_id, content_id))) in pages.iter().zip(&page_ids).enumerate() {
        let mut content = Content::new();
        for op in ops {
            match op {
                Op::Rule { y } => {
                    content
                        .set_stroke_rgb(0.6, 0.6, 0.6)
                        .set_line_width(0.6)
                        .move_to(LEFT, *y)
                        .line_to(RIGHT, *y)
                        .stroke();
                }
                Op::Text { x, y, size, bold: b, grey, text } => {
                    let face = match (&mut bold, b) {
                        (Some(bold), true) => bold,
                        _ => &mut regular,
                    };
                    let glyphs = face.encode(text);
                    let shade = if *grey { 0.35 } else { 0.0 };
                    content.set_fill_gray(shade);
                    content.begin_text();
                    content.set_font(face.resource, *size);
                    content.next_line(*x, *y);
                    content.show(Str(&glyphs));
                    content.end_text();
                }
            }
        }
        // The footer: a rule, the small print, the page number.
        content.set_stroke_rgb(0.75, 0.75, 0.75).set_line_width(0.5);
        content.move_to(LEFT, rule_y).line_to(RIGHT, rule_y).stroke();
        content.set_fill_gray(0.3);
        let mut y = footer_top;
        for line in &footer {
            let glyphs = regular.encode(line);
            content.begin_text().set_font(regular.resource, FOOTER).next_line(LEFT, y);
            content.show(Str(&glyphs)).end_text();
            y -= FOOTER_LEADING;
        }
        let number = format!("page {} of {total}", n + 1);
        let number_x = RIGHT - regular.width(&number, FOOTER);
        let glyphs = regular.encode(&number);
        content.begin_text().set_font(regular.resource, FOOTER).next_line(number_x, footer_top);
        content.show(Str(&glyphs)).end_text();

        let data = deflate(&content.finish());
        pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(regular.resource, font_refs[0].type0);
        if let (Some(b), Some(refs)) = (&bold, font_refs.get(1)) {
            fonts.pair(b.resource, refs.type0);
        }
    }

    let mut missing: Vec<char> = regular.missing.clone();
    embed(&mut pdf, &regular, &font_refs[0], "F1", &font.regular.0)?;
    if let (Some(b), Some(refs)) = (&bold, font_refs.get(1)) {
        missing.extend(b.missing.iter().filter(|c| !regular.missing.contains(c)));
        let path = font.bold.as_ref().map_or(&font.regular.0, |(p, _)| p);
        embed(&mut pdf, b, refs, "F2", path)?;
    }
    pdf.document_info(info)
        .title(TextStr(&sheet.title))
        .creator(TextStr(&sheet.creator))
        .producer(TextStr(&sheet.creator));
    Ok(Rendered {
        bytes: pdf.finish(),
        pages: total,
        missing: missing.into_iter().filter(|c| !c.is_whitespace()).collect(),
        font: font.regular.0.clone(),
    })
}

struct FontRefs {
    type0: Ref,
    cid: Ref,
    descriptor: Ref,
    file: Ref,
    cmap: Ref,
}

/// Writes `face` as a Type 0 font over a CID TrueType subset with its ToUnicode map.
fn embed(pdf: &mut Pdf, face: &Face, refs: &FontRefs, tag: &str, path: &Path) -> Result<()> {
    let bad = |why: String| Error::BadFont { path: path.display().to_string(), why };
    let subset = subsetter::subset(face.data, 0, &face.remap).map_err(|e| bad(e.to_string()))?;
    let name = face
        .face
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .unwrap_or_else(|| "Font".to_string())
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "");
    // A subset's name carries a six-letter tag (PDF 32000 §9.6.4).
    let base = format!("FBSUB{}+{name}", if tag == "F1" { "A" } else { "B" });
    let to_pdf = |v: f32| v * 1000.0 / face.units;
    let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

    pdf.type0_font(refs.type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(refs.cid)
        .to_unicode(refs.cmap);

    let widths: Vec<f32> = face
        .remap
        .remapped_gids()
        .map(
            |old| to_pdf(face.face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0) as f32),
        )
        .collect();
    let mut cid = pdf.cid_font(refs.cid);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(system)
        .font_descriptor(refs.descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, widths);
    cid.finish();

    let bbox = face.face.global_bounding_box();
    let mut flags = FontFlags::SYMBOLIC;
    if face.face.is_italic() {
        flags |= FontFlags::ITALIC;
    }
    let cap = face.face.capital_height().unwrap_or(face.face.ascender());
    pdf.font_descriptor(refs.descriptor)
        .name(Name(base.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(
            to_pdf(bbox.x_min as f32),
            to_pdf(bbox.y_min as f32),
            to_pdf(bbox.x_max as f32),
            to_pdf(bbox.y_max as f32),
        ))
        .italic_angle(face.face.italic_angle())
        .ascent(to_pdf(face.face.ascender() as f32))
        .descent(to_pdf(face.face.descender() as f32))
        .cap_height(to_pdf(cap as f32))
        .stem_v(if face.resource == Name(b"F2") { 140.0 } else { 80.0 })
        .font_file2(refs.file);

    let compressed = deflate(&subset);
    pdf.stream(refs.file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), subset.len() as i32);

    let mut cmap = UnicodeCmap::<u16>::new(Name(b"Custom"), system);
    for (glyph, c) in &face.unicode {
        cmap.pair(*glyph, *c);
    }
    let cmap = deflate(&cmap.finish());
    pdf.cmap(refs.cmap, &cmap).filter(Filter::FlateDecode);
    Ok(())
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

#[cfg(test)]
mod tests;
