//! A PDF page's text in reading order, from where its characters are drawn.
//!
//! A PDF draws characters in whatever order its producer chose: a report generator may draw a
//! table column by column (every label, then every value) or a two-column page row by row
//! across both columns. Text taken in drawing order then separates a measurement from its
//! label or interleaves two columns. So `pdf-extract` only decodes the characters here
//! ([`Collector`], its output device), and the page is laid out again from their positions:
//!
//! 1. **Direction.** Characters are grouped by the direction their text runs (0°, 90°, 180°,
//!    270°) and each group is turned upright, so rotated pages and margin notes read along.
//! 2. **Runs.** Consecutive characters on one baseline without a wide gap form a run; a space
//!    is put where the gap between two characters is a word's.
//! 3. **Blocks** (a recursive XY cut). A vertical gutter that splits the region into two
//!    columns of prose — several wrapped lines on each side — is read left column first; a
//!    table's columns are not prose, so a table row stays together. Otherwise the region is
//!    cut at the horizontal gaps clearly wider than its line spacing, and each band is looked
//!    at again.
//! 4. **Lines.** Within a block, runs on the same baseline form one line, left to right: a
//!    table row is one line, however it was drawn.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

/// One drawn character (or the few characters one glyph decodes to), in page space with y
/// growing downwards.
#[derive(Debug, Clone)]
pub struct Glyph {
    pub x: f64,
    pub y: f64,
    /// The advance to the next character, along the text's direction.
    pub advance: f64,
    pub size: f64,
    /// Quarter turns of the text's direction: 0 left to right, 1 top to bottom, …
    pub turn: u8,
    /// Where its text is in the page's [`Collector::text`] (one buffer, not a string each).
    pub start: u32,
    pub len: u32,
}

/// The most characters kept for one page: a hostile page drawing millions of glyphs costs the
/// rest of that page, not the memory.
const MAX_GLYPHS: usize = 400_000;

/// `pdf-extract`'s output device that keeps the characters of one page with their positions.
#[derive(Default)]
pub struct Collector {
    height: f64,
    pub glyphs: Vec<Glyph>,
    /// The text of every glyph, one after the other.
    pub text: String,
    /// Characters past [`MAX_GLYPHS`], dropped.
    pub dropped: usize,
    /// Why the page could not be read whole, when it could not (set by the reader).
    pub error: String,
}

impl OutputDev for Collector {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), OutputError> {
        if text.is_empty() {
            return Ok(());
        }
        if self.glyphs.len() >= MAX_GLYPHS || self.text.len() + text.len() > u32::MAX as usize {
            self.dropped += 1;
            return Ok(());
        }
        // The text rendering matrix, then the page flipped so that y grows downwards.
        let (a, b, c, d) = (trm.m11, -trm.m12, trm.m21, -trm.m22);
        let (x, y) = (trm.m31, self.height - trm.m32);
        let scale = (a * d - b * c).abs().sqrt();
        let size = (font_size * scale).abs();
        let angle = b.atan2(a);
        let turn = ((angle / std::f64::consts::FRAC_PI_2).round() as i64).rem_euclid(4) as u8;
        if !(x.is_finite() && y.is_finite() && size.is_finite()) {
            return Ok(());
        }
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.glyphs.push(Glyph {
            x,
            y,
            advance: (width * size).max(0.0),
            size: if size > 0.0 { size } else { 1.0 },
            turn,
            start,
            len: text.len() as u32,
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// A stretch of characters on one baseline, in the upright frame of its direction.
#[derive(Debug, Clone)]
struct Run {
    x0: f64,
    x1: f64,
    y: f64,
    size: f64,
    text: String,
}

impl Run {
    fn top(&self) -> f64 {
        self.y - self.size * 0.8
    }
    fn bottom(&self) -> f64 {
        self.y + self.size * 0.25
    }
    fn chars(&self) -> usize {
        self.text.trim().chars().count()
    }
}

/// The page's text in reading order, one line per line of the page, blocks separated by a
/// blank line.
pub fn page_text(page: &Collector) -> String {
    let glyphs = &page.glyphs;
    let mut by_turn: [Vec<&Glyph>; 4] = Default::default();
    for g in glyphs {
        by_turn[usize::from(g.turn % 4)].push(g);
    }
    // The main direction first, then the others (a stamp, a rotated margin note).
    let mut turns: Vec<usize> = (0..4).filter(|t| !by_turn[*t].is_empty()).collect();
    turns.sort_by_key(|t| std::cmp::Reverse(by_turn[*t].len()));
    let mut blocks = Vec::new();
    for t in turns {
        let runs = runs(&by_turn[t], t as u8, &page.text);
        cut(runs, 0, &mut blocks);
    }
    blocks.retain(|b: &String| !b.trim().is_empty());
    blocks.join("\n\n")
}

/// Turns a point of a page into the upright frame of text running `turn` quarter turns.
fn upright(x: f64, y: f64, turn: u8) -> (f64, f64) {
    match turn {
        0 => (x, y),
        1 => (y, -x),
        2 => (-x, -y),
        _ => (-y, x),
    }
}

fn runs(glyphs: &[&Glyph], turn: u8, text: &str) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut current: Option<Run> = None;
    for g in glyphs {
        let (x, y) = upright(g.x, g.y, turn);
        let g_text = &text[g.start as usize..(g.start + g.len) as usize];
        let blank = g_text.trim().is_empty();
        if let Some(run) = current.as_mut() {
            let size = run.size.max(g.size);
            let same_line = (y - run.y).abs() <= size * 0.35;
            let gap = x - run.x1;
            if same_line && gap >= -size * 0.5 && gap <= size * 0.9 {
                if blank {
                    if !run.text.ends_with(' ') {
                        run.text.push(' ');
                    }
                } else {
                    if gap > size * 0.12 && !run.text.ends_with(' ') {
                        run.text.push(' ');
                    }
                    run.text.push_str(g_text);
                }
                run.x1 = run.x1.max(x + g.advance);
                run.size = size;
                continue;
            }
            out.extend(current.take());
        }
        if !blank {
            current =
                Some(Run { x0: x, x1: x + g.advance, y, size: g.size, text: g_text.to_string() });
        }
    }
    out.extend(current);
    for r in &mut out {
        let trimmed = r.text.trim_end().len();
        r.text.truncate(trimmed);
    }
    out.retain(|r| !r.text.is_empty());
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Deeper than any real page's nesting of columns and bands.
const MAX_DEPTH: usize = 24;

/// The recursive XY cut: appends the region's blocks in reading order.
fn cut(mut runs: Vec<Run>, depth: usize, out: &mut Vec<String>) {
    if runs.is_empty() {
        return;
    }
    if depth < MAX_DEPTH && runs.len() > 1 {
        if let Some(at) = gutter(&runs) {
            let (left, right): (Vec<Run>, Vec<Run>) = runs.into_iter().partition(|r| r.x1 <= at);
            cut(left, depth + 1, out);
            cut(right, depth + 1, out);
            return;
        }
        let bands = bands(&mut runs);
        if bands.len() > 1 {
            for band in bands {
                cut(band, depth + 1, out);
            }
            return;
        }
        runs = bands.into_iter().flatten().collect();
    }
    out.push(lines(runs));
}

/// The x of a gutter between two columns of prose, if the region has one.
fn gutter(runs: &[Run]) -> Option<f64> {
    let size = median(runs.iter().map(|r| r.size).collect());
    let mut spans: Vec<(f64, f64)> = runs.iter().map(|r| (r.x0, r.x1)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The widest gap between the runs' horizontal extents.
    let mut best: Option<(f64, f64)> = None;
    let mut reach = spans[0].1;
    for &(x0, x1) in &spans[1..] {
        if x0 > reach {
            let width = x0 - reach;
            if best.is_none_or(|(w, _)| width > w) {
                best = Some((width, (reach + x0) / 2.0));
            }
        }
        reach = reach.max(x1);
    }
    let (width, at) = best?;
    if width < size * 0.7 {
        return None;
    }
    let (left, right): (Vec<&Run>, Vec<&Run>) = runs.iter().partition(|r| r.x1 <= at);
    (prose(&left) && prose(&right)).then_some(at)
}

/// Whether runs look like a column of wrapped prose, not a table's column: at least three
/// lines, of twenty characters or more as a rule, most of them filling the column's width.
fn prose(runs: &[&Run]) -> bool {
    let lines = baselines(runs.iter().copied());
    if lines.len() < 3 {
        return false;
    }
    let x0 = runs.iter().map(|r| r.x0).fold(f64::INFINITY, f64::min);
    let x1 = runs.iter().map(|r| r.x1).fold(f64::NEG_INFINITY, f64::max);
    let width = (x1 - x0).max(1.0);
    let lengths = lines.iter().map(|l| l.iter().map(|r| r.chars() + 1).sum::<usize>() as f64);
    let full = lines
        .iter()
        .filter(|l| {
            let a = l.iter().map(|r| r.x0).fold(f64::INFINITY, f64::min);
            let b = l.iter().map(|r| r.x1).fold(f64::NEG_INFINITY, f64::max);
            (b - a) >= width * 0.6
        })
        .count();
    median(lengths.collect()) >= 20.0 && full * 2 >= lines.len()
}

/// Runs grouped by baseline, top to bottom.
fn baselines<'a>(runs: impl Iterator<Item = &'a Run>) -> Vec<Vec<&'a Run>> {
    let mut sorted: Vec<&Run> = runs.collect();
    sorted.sort_by(|a, b| a.y.total_cmp(&b.y));
    let mut lines: Vec<Vec<&Run>> = Vec::new();
    for r in sorted {
        match lines.last_mut() {
            Some(line) if (r.y - line[0].y).abs() <= line[0].size.max(r.size) * 0.4 => line.push(r),
            _ => lines.push(vec![r]),
        }
    }
    lines
}

/// The region cut at horizontal gaps clearly wider than its line spacing, top to bottom.
fn bands(runs: &mut [Run]) -> Vec<Vec<Run>> {
    runs.sort_by(|a, b| a.top().total_cmp(&b.top()));
    let size = median(runs.iter().map(|r| r.size).collect());
    // The gaps in the vertical projection, and where each one ends.
    let mut gaps = Vec::new();
    let mut reach = runs[0].bottom();
    for (i, r) in runs.iter().enumerate().skip(1) {
        if r.top() > reach {
            gaps.push((r.top() - reach, i));
        }
        reach = reach.max(r.bottom());
    }
    if gaps.is_empty() {
        return vec![runs.to_vec()];
    }
    let typical = median(gaps.iter().map(|g| g.0).collect());
    let wide = (typical * 1.6).max(typical + size * 0.5);
    let mut out = Vec::new();
    let mut start = 0;
    for &(g, i) in &gaps {
        if g > wide {
            out.push(runs[start..i].to_vec());
            start = i;
        }
    }
    out.push(runs[start..].to_vec());
    out
}

/// A block's lines: runs on one baseline joined left to right.
fn lines(runs: Vec<Run>) -> String {
    let mut text = String::new();
    for mut line in baselines(runs.iter()) {
        line.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        let mut end = f64::NEG_INFINITY;
        for (i, r) in line.iter().enumerate() {
            if i > 0 {
                // A cell's gap (a table's columns) is kept visible.
                text.push_str(if r.x0 - end > r.size * 1.5 { "  " } else { " " });
            }
            text.push_str(&r.text);
            end = end.max(r.x1);
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyph(page: &mut Collector, x: f64, y: f64, turn: u8, ch: char) {
        let start = page.text.len() as u32;
        page.text.push(ch);
        let len = ch.len_utf8() as u32;
        page.glyphs.push(Glyph { x, y, advance: 5.0, size: 10.0, turn, start, len });
    }

    fn glyphs(items: &[(f64, f64, &str)]) -> Collector {
        // Each item is a word drawn at (x, y), 10 pt, characters 5 pt wide.
        let mut page = Collector::default();
        for &(x, y, word) in items {
            for (i, ch) in word.chars().enumerate() {
                glyph(&mut page, x + i as f64 * 5.0, y, 0, ch);
            }
        }
        page
    }

    #[test]
    fn a_table_drawn_column_by_column_reads_row_by_row() {
        let items = [
            (50.0, 100.0, "Insulation"),
            (50.0, 115.0, "Insulation"),
            (50.0, 130.0, "Earth"),
            (150.0, 100.0, "L1"),
            (150.0, 115.0, "L2"),
            (150.0, 130.0, "PE"),
            (250.0, 100.0, "1.8 GOhm"),
            (250.0, 115.0, "2.1 GOhm"),
            (250.0, 130.0, "0.12 Ohm"),
        ];
        let text = page_text(&glyphs(&items));
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            ["Insulation  L1  1.8 GOhm", "Insulation  L2  2.1 GOhm", "Earth  PE  0.12 Ohm"]
        );
    }

    #[test]
    fn two_columns_drawn_across_read_left_column_first() {
        let left = "the left column carries this long sentence";
        let right = "whereas the right one tells another story";
        let mut items = Vec::new();
        for row in 0..5 {
            let y = 100.0 + row as f64 * 12.0;
            items.push((40.0, y, left));
            items.push((300.0, y, right));
        }
        let mut items: Vec<(f64, f64, String)> =
            items.into_iter().map(|(x, y, s)| (x, y, s.to_string())).collect();
        for (i, item) in items.iter_mut().enumerate() {
            item.2 = format!("{} {}", item.2, i);
        }
        let refs: Vec<(f64, f64, &str)> =
            items.iter().map(|(x, y, s)| (*x, *y, s.as_str())).collect();
        let text = page_text(&glyphs(&refs));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 10, "{text}");
        assert!(lines[..5].iter().all(|l| l.starts_with("the left")), "{text}");
        assert!(lines[5..].iter().all(|l| l.starts_with("whereas")), "{text}");
        assert!(lines[0].ends_with(" 0") && lines[4].ends_with(" 8"), "{text}");
    }

    #[test]
    fn a_title_over_two_columns_comes_first() {
        let mut items = vec![(40.0, 60.0, "Pump station 7 inspection report, March")];
        for row in 0..4 {
            let y = 100.0 + row as f64 * 12.0;
            items.push((300.0, y, "right column text that wraps around here"));
            items.push((40.0, y, "left column text that wraps around here"));
        }
        let text = page_text(&glyphs(&items));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines[0].starts_with("Pump station"), "{text}");
        assert!(lines[1..5].iter().all(|l| l.starts_with("left")), "{text}");
        assert!(lines[5..].iter().all(|l| l.starts_with("right")), "{text}");
    }

    #[test]
    fn words_get_their_spaces_and_rotated_text_reads_along() {
        // "ab cd" drawn top to bottom (a quarter turn), characters 5 pt apart, a word gap.
        let mut g = Collector::default();
        for (i, ch) in "abcd".chars().enumerate() {
            let y = 100.0 + i as f64 * 5.0 + if i >= 2 { 3.0 } else { 0.0 };
            glyph(&mut g, 50.0, y, 1, ch);
        }
        assert_eq!(page_text(&g).trim(), "ab cd");
    }
}
