//! The facts a technician's summary must keep: measurements with units, part and serial
//! numbers, error codes, dates and times.
//!
//! Used by the extractive summarizer to prefer sentences that carry facts, by the quality gate
//! to check that a summary invents none and drops few, and later by cloud redaction. Matching
//! is deliberately conservative: a fact must be bounded by non-alphanumeric characters, so
//! "3 large" is not "3 l".

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    SerialNumber,
    PartNumber,
    ErrorCode,
    Date,
    Time,
    Measurement,
    /// A code that mixes letters and digits (model numbers, asset tags) without a label.
    Identifier,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub kind: FactKind,
    /// The fact exactly as written in the text.
    pub text: String,
    pub start: usize,
    pub end: usize,
}

const UNITS: &[&str] = &[
    "°C",
    "° C",
    "°F",
    "℃",
    "K",
    "kWh",
    "MWh",
    "Wh",
    "kVAr",
    "kVA",
    "MVA",
    "VA",
    "kW",
    "MW",
    "W",
    "kV",
    "mV",
    "V",
    "kA",
    "mA",
    "A",
    "MΩ",
    "kΩ",
    "Ω",
    "GΩ",
    "MOhm",
    "kOhm",
    "GOhm",
    "ohms",
    "ohm",
    "Ohm",
    "kHz",
    "MHz",
    "Hz",
    "rpm",
    "RPM",
    "r/min",
    "kNm",
    "Nm",
    "N·m",
    "kN",
    "N",
    "mm/s",
    "m/s",
    "µm",
    "μm",
    "um",
    "mm",
    "cm",
    "km",
    "m²",
    "m2",
    "m³/h",
    "m3/h",
    "m³",
    "m3",
    "m",
    "L/min",
    "l/min",
    "L/s",
    "l/s",
    "L/h",
    "l/h",
    "ml",
    "mL",
    "L",
    "l",
    "bar",
    "barg",
    "mbar",
    "kPa",
    "MPa",
    "Pa",
    "psi",
    "psig",
    "kg",
    "g",
    "h",
    "hrs",
    "hr",
    "hours",
    "min",
    "mins",
    "minutes",
    "sec",
    "s",
    "ms",
    "%",
    "dB",
    "dBA",
    "dB(A)",
    "ppm",
    "lux",
    "cSt",
    "Ah",
    "mAh",
    "VDC",
    "VAC",
    "Vdc",
    "Vac",
    "kvar",
    "kWp",
    "t",
    "drops/min",
    "mm²",
    // Milli- and micro-ohms (contact and cell resistance), micro-amps (flame current),
    // conductivity, signal levels, humidity and gas as a share, water quality.
    "mΩ",
    "mOhm",
    "µΩ",
    "µOhm",
    "μOhm",
    "uOhm",
    "µA",
    "μA",
    "uA",
    "µV",
    "µS/cm",
    "μS/cm",
    "uS/cm",
    "mS/cm",
    "dBm",
    "%RH",
    "% RH",
    "%LEL",
    "% LEL",
    "ppb",
    "mg/L",
    "mg/l",
    "cfu/mL",
    "cfu/ml",
    "NTU",
];

fn units_alternation() -> String {
    let mut units: Vec<&str> = UNITS.to_vec();
    // Longest first: the regex engine takes the first alternative that matches.
    units.sort_by_key(|u| std::cmp::Reverse(u.chars().count()));
    units.iter().map(|u| regex::escape(u)).collect::<Vec<_>>().join("|")
}

static MEASUREMENT: LazyLock<Regex> = LazyLock::new(|| {
    // A power of ten stays with its number: a dip slide's "10^5 cfu/mL" is not "5 cfu/mL".
    let number = r"[-+±]?\d+(?:[.,]\d+)*(?:\^-?\d+|\s?[x×]\s?10\^-?\d+)?";
    Regex::new(&format!(
        r"{number}(?:\s?(?:-|–|to)\s?{number})?[ \u{{202F}}]?(?:{})",
        units_alternation()
    ))
    .expect("static regex")
});
static PART_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:(?:P/N|PN)\b|part\s*(?:no\b\.?|number\b|nr\b\.?|#))\s*[:#.]?\s*([A-Z0-9][A-Z0-9./-]*[A-Z0-9])")
        .expect("static regex")
});
static SERIAL_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:(?:S/N|SN)\b|serial(?:\s*(?:no\b\.?|number\b|nr\b\.?|#))?)\s*[:#.]?\s*([A-Z0-9][A-Z0-9/-]*[A-Z0-9])")
        .expect("static regex")
});
static LABELLED_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:error|fault|alarm|warning|err|alm|code|trip(?:s|ped|ping)?(?:\s+on)?)s?\s*(?:code)?\s*[:#]?\s*(0x[0-9a-f]+|[a-z]{0,4}-?\d{1,5}[a-z]?)\b")
        .expect("static regex")
});
/// A code as a controller may name it, letters only or letters and a short number ("HI-A",
/// "E1", "LP-2").
const LISTED_CODE_PATTERN: &str = r"(?:[A-Z]{1,4}-[A-Z0-9]{1,3}|[A-Z]{1,3}\d{1,4})";
/// Codes listed after an alarm label: "alarms HI-A and E1", "fault codes LP-A, HP-B". The list
/// (group 1) is split by [`LISTED_CODE`].
static CODE_LIST: LazyLock<Regex> = LazyLock::new(|| {
    let code = LISTED_CODE_PATTERN;
    Regex::new(&format!(
        r"\b(?i:alarms?|faults?|errors?|warnings?)(?:\s+(?i:codes?))?\s*:?\s+({code}(?:\s*(?:,|\+|/|and|&)\s*{code})*)\b"
    ))
    .expect("static regex")
});
static LISTED_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\b{LISTED_CODE_PATTERN}\b")).expect("static regex"));
static BARE_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[EFAW]-?\d{2,5}|AL-?\d{1,4}|ALM-?\d{1,4}|ERR-?\d{1,4}|0x[0-9A-Fa-f]{2,})\b")
        .expect("static regex")
});
/// A year and month ("due by 2026-09"): a date, unless it is part of a longer reference
/// ("LR-2026-014", "2026-09-15").
static YEAR_MONTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b20\d{2}-(?:0[1-9]|1[0-2])\b").expect("static regex"));
/// A work order, ticket or order number written as a label and a bare number ("WO 88213",
/// "ticket #55820", "PO: 4500123"): the number is the reference.
static LABELLED_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:WO|W/O|PO|SR|INC|RMA|CHG|REQ|job|ticket|work\s+order|order|permit|case)\s*(?:no\b\.?|nr\b\.?|#)?\s*[:#]?\s*(\d{3,})\b")
        .expect("static regex")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    // A full stop follows only an abbreviated month ("4 Feb. 2026"): after a full one it ends a
    // sentence, and "…on 4 February. 2026-02-03; …" (two units of a brief) is not a date.
    let month = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)";
    Regex::new(&format!(
        r"(?i)\b(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}[./](?:\d{{4}}|\d{{2}})|\d{{1,2}}(?:st|nd|rd|th)?\s+{month},?\s+\d{{4}}|{month}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b"
    ))
    .expect("static regex")
});
/// Three small numbers split by slashes that cannot be a date ("21/19/16": no month 19): a
/// code reading such as an oil's ISO 4406 cleanliness, "ISO 21/19/16 (target 18/16/13)".
static NUMBER_TRIPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,2}/\d{1,2}/\d{1,2}\b").expect("static regex"));
/// A V-belt's designation, its profile and its length ("2 x SPA 1250", "XPZ1180"): the part to
/// fit, though written without a "P/N".
static BELT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:SP|XP)[ZABC] ?\d{3,4}\b").expect("static regex"));
/// A device's address on a loop or bus, its number with a leading zero ("device 2-038" is loop
/// 2, address 38): a name, not a range.
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,2}-0\d{2}\b").expect("static regex"));
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?\b").expect("static regex")
});
static IDENTIFIER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z0-9]+(?:[-/.][A-Z0-9]+)*\b").expect("static regex"));

/// Whether a match at `start..end` stands on its own: not glued to letters or digits.
fn bounded(text: &str, start: usize, end: usize) -> bool {
    let before_ok = text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric() && c != '.' && c != ',');
    let after = text[end..].chars().next();
    let after_ok = match after {
        None => true,
        Some(c) if c.is_alphanumeric() => false,
        // "4.2." at a sentence end is fine; "4.2.1" is a version or clause number.
        Some('.') | Some(',') => {
            !text[end + 1..].chars().next().is_some_and(|c| c.is_ascii_digit())
        }
        Some(_) => true,
    };
    before_ok && after_ok
}

/// Whether a match at `start..end` is a piece of a longer tag or reference, joined to it by a
/// dash, slash or dot: "F12" of "VSD-F12", "2026-01" of "LR-2026-014" or of "2026-01-13".
fn inside_tag(text: &str, start: usize, end: usize) -> bool {
    let rest = &text[end..];
    text[..start].ends_with(['-', '/', '.'])
        || rest.starts_with(['-', '/']) && rest[1..].starts_with(char::is_alphanumeric)
}

/// Whether the word before byte `at` of `text` (past spaces) is one of `words` (lower case).
fn after_word(text: &str, at: usize, words: &[&str]) -> bool {
    let before = text[..at].trim_end();
    let word = before.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or_default();
    words.iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// Whether a date the [`DATE`] pattern matched can be one: "3/4/26" or "14.03.2026" (a day
/// and a month either way round), but not "21/19/16". Written-out months and ISO dates pass.
fn is_calendar_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split(['/', '.']).collect();
    if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return true;
    }
    let (a, b): (u32, u32) = (parts[0].parse().unwrap_or(0), parts[1].parse().unwrap_or(0));
    let day_month = |d: u32, m: u32| (1..=31).contains(&d) && (1..=12).contains(&m);
    day_month(a, b) || day_month(b, a)
}

/// All facts in `text`, in order of position, without overlaps (the more specific kind wins
/// where two would overlap, e.g. a serial number over an identifier).
pub fn extract(text: &str) -> Vec<Fact> {
    let mut found: Vec<Fact> = Vec::new();
    let mut push = |kind: FactKind, start: usize, end: usize| {
        found.push(Fact { kind, text: text[start..end].to_string(), start, end });
    };
    for caps in SERIAL_NUMBER.captures_iter(text) {
        let m = caps.get(1).expect("group 1 always participates");
        if m.as_str().chars().any(|c| c.is_ascii_digit()) {
            push(FactKind::SerialNumber, m.start(), m.end());
        }
    }
    for caps in PART_NUMBER.captures_iter(text) {
        let m = caps.get(1).expect("group 1 always participates");
        if m.as_str().chars().any(|c| c.is_ascii_digit()) {
            push(FactKind::PartNumber, m.start(), m.end());
        }
    }
    for m in BARE_CODE.find_iter(text) {
        // Part of a longer tag ("VSD-F12"), or a fan's own tag ("extract fan F-12"): a name.
        if !inside_tag(text, m.start(), m.end())
            && !after_word(text, m.start(), &["fan", "asset", "tag"])
        {
            push(FactKind::ErrorCode, m.start(), m.end());
        }
    }
    for m in BELT.find_iter(text) {
        push(FactKind::PartNumber, m.start(), m.end());
    }
    for m in DATE.find_iter(text) {
        if is_calendar_date(m.as_str()) {
            push(FactKind::Date, m.start(), m.end());
        }
    }
    for m in NUMBER_TRIPLE.find_iter(text) {
        if !is_calendar_date(m.as_str()) && bounded(text, m.start(), m.end()) {
            push(FactKind::Measurement, m.start(), m.end());
        }
    }
    for m in YEAR_MONTH.find_iter(text) {
        // (The regex's word boundaries already keep letters and digits off either side.)
        if !inside_tag(text, m.start(), m.end()) {
            push(FactKind::Date, m.start(), m.end());
        }
    }
    for m in TIME.find_iter(text) {
        push(FactKind::Time, m.start(), m.end());
    }
    for m in MEASUREMENT.find_iter(text) {
        if bounded(text, m.start(), m.end()) {
            push(FactKind::Measurement, m.start(), m.end());
        }
    }
    for caps in LABELLED_REFERENCE.captures_iter(text) {
        let m = caps.get(1).expect("group 1 always participates");
        if bounded(text, m.start(), m.end()) && !text[m.end()..].starts_with(':') {
            push(FactKind::Identifier, m.start(), m.end());
        }
    }
    for caps in LABELLED_CODE.captures_iter(text) {
        let m = caps.get(1).expect("group 1 always participates");
        let followed_by_clock = text[m.end()..].starts_with(':');
        // "alarm 4.5" is the level an alarm is set at, not a code.
        let decimal = text[m.end()..].starts_with(['.', ','])
            && text[m.end() + 1..].starts_with(|c: char| c.is_ascii_digit());
        if !m.as_str().chars().any(|c| c.is_ascii_digit()) || followed_by_clock || decimal {
            continue;
        }
        let label = caps.get(0).expect("the whole match").start();
        if after_word(text, label, &["date"]) {
            // A battery's or a tyre's "date code 2021" is when it was made.
            push(FactKind::Date, m.start(), m.end());
        } else {
            push(FactKind::ErrorCode, m.start(), m.end());
        }
    }
    for caps in CODE_LIST.captures_iter(text) {
        let list = caps.get(1).expect("group 1 always participates");
        for m in LISTED_CODE.find_iter(list.as_str()) {
            push(FactKind::ErrorCode, list.start() + m.start(), list.start() + m.end());
        }
    }
    for m in ADDRESS.find_iter(text) {
        if !inside_tag(text, m.start(), m.end()) && bounded(text, m.start(), m.end()) {
            push(FactKind::Identifier, m.start(), m.end());
        }
    }
    for m in IDENTIFIER.find_iter(text) {
        let s = m.as_str();
        let has_letter = s.chars().any(|c| c.is_ascii_uppercase());
        let has_digit = s.chars().any(|c| c.is_ascii_digit());
        if has_letter && has_digit && s.len() >= 3 {
            push(FactKind::Identifier, m.start(), m.end());
        }
    }

    // Keep the first-found (most specific) fact of any overlapping group. Kept intervals are
    // disjoint, so only the last one starting before a candidate's end can overlap it.
    let mut kept: std::collections::BTreeMap<usize, Fact> = std::collections::BTreeMap::new();
    for fact in found {
        let overlaps = kept.range(..fact.end).next_back().is_some_and(|(_, k)| k.end > fact.start);
        if !overlaps {
            kept.insert(fact.start, fact);
        }
    }
    kept.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(FactKind, String)> {
        extract(text).into_iter().map(|f| (f.kind, f.text)).collect()
    }

    #[test]
    fn table_of_facts() {
        use FactKind::*;
        let cases: &[(&str, &[(FactKind, &str)])] = &[
            (
                "Discharge 4.2 bar, suction 0.8 bar.",
                &[(Measurement, "4.2 bar"), (Measurement, "0.8 bar")],
            ),
            ("Bearing at 78 °C and 1450 rpm", &[(Measurement, "78 °C"), (Measurement, "1450 rpm")]),
            (
                "Supply 230 V 50 Hz, 12.4 A",
                &[(Measurement, "230 V"), (Measurement, "50 Hz"), (Measurement, "12.4 A")],
            ),
            (
                "IR 1.2 MΩ; vib 7.1 mm/s; 62 %",
                &[(Measurement, "1.2 MΩ"), (Measurement, "7.1 mm/s"), (Measurement, "62 %")],
            ),
            ("range 4.0–4.5 bar", &[(Measurement, "4.0–4.5 bar")]),
            ("Fitted P/N 6205-2RS-C3 today", &[(PartNumber, "6205-2RS-C3")]),
            ("part no. KSB-4471-22B", &[(PartNumber, "KSB-4471-22B")]),
            ("motor S/N GX2231-0457", &[(SerialNumber, "GX2231-0457")]),
            ("VFD showed E104 then F07", &[(ErrorCode, "E104"), (ErrorCode, "F07")]),
            ("fault code 0x3A logged", &[(ErrorCode, "0x3A")]),
            ("ALM-32 active", &[(ErrorCode, "ALM-32")]),
            ("planned replacement WO 88213 raised", &[(Identifier, "88213")]),
            (
                "ticket #55820, order 500 m of cable",
                &[(Identifier, "55820"), (Measurement, "500 m")],
            ),
            ("alarm 32 again", &[(ErrorCode, "32")]),
            (
                "block 17 7.6 mOhm, L3 39 µOhm, flame 4 µA",
                &[(Measurement, "7.6 mOhm"), (Measurement, "39 µOhm"), (Measurement, "4 µA")],
            ),
            (
                "permeate 61 µS/cm, rx -18.6 dBm, 71 %RH, 38 %LEL, 0.6 mg/L",
                &[
                    (Measurement, "61 µS/cm"),
                    (Measurement, "-18.6 dBm"),
                    (Measurement, "71 %RH"),
                    (Measurement, "38 %LEL"),
                    (Measurement, "0.6 mg/L"),
                ],
            ),
            ("P2 tripping on AL-09 dry run", &[(ErrorCode, "AL-09")]),
            ("no AL-09 in 3 h", &[(ErrorCode, "AL-09"), (Measurement, "3 h")]),
            (
                "Controller alarms HI-A and E1 (probe fault)",
                &[(ErrorCode, "HI-A"), (ErrorCode, "E1")],
            ),
            ("fault codes LP-A, HP-B", &[(ErrorCode, "LP-A"), (ErrorCode, "HP-B")]),
            // Not codes: an alarm's level and a plain word after the label.
            ("alarm at 65 %", &[(Measurement, "65 %")]),
            ("alarms OK", &[]),
            ("trend says 1.0 % by about 2026-09", &[(Measurement, "1.0 %"), (Date, "2026-09")]),
            // Year and month inside a reference or a full date: not a date of its own.
            ("leak record LR-2026-014", &[(Identifier, "LR-2026-014")]),
            ("event EV-2026-0412", &[(Identifier, "EV-2026-0412")]),
            ("since 2026-09-15", &[(Date, "2026-09-15")]),
            ("earth fault 30 mA at RCD", &[(Measurement, "30 mA")]),
            ("PN16 flange and SNR2000 sensor", &[(Identifier, "PN16"), (Identifier, "SNR2000")]),
            ("PN 16-200 flange", &[(PartNumber, "16-200")]),
            ("On 2026-03-14 at 09:40", &[(Date, "2026-03-14"), (Time, "09:40")]),
            ("on 14 March 2026 and 3/4/26", &[(Date, "14 March 2026"), (Date, "3/4/26")]),
            ("due 4 Feb. 2026", &[(Date, "4 Feb. 2026")]),
            // Two sentences of a brief side by side: the full stop ends the first.
            ("since 4 February. 2026-02-03 log", &[(Date, "2026-02-03")]),
            ("fault at 09:40", &[(Time, "09:40")]),
            ("Unit XK200 needs a look", &[(Identifier, "XK200")]),
            ("3 large bolts and 5 long nuts", &[]),
            ("section 4.2.1 of the manual", &[]),
            // Not dates: an oil's cleanliness codes. A power of ten stays with its number.
            (
                "Oil sample: ISO 21/19/16 (target 18/16/13)",
                &[(Measurement, "21/19/16"), (Measurement, "18/16/13")],
            ),
            ("on 31/12/25 and 12.31.2025", &[(Date, "31/12/25"), (Date, "12.31.2025")]),
            (
                "Dip slide TVC 10^5 cfu/mL (action 1 x 10^4 cfu/mL)",
                &[(Measurement, "10^5 cfu/mL"), (Measurement, "1 x 10^4 cfu/mL")],
            ),
            // A belt's designation is the part; a device address is a name, not a range.
            (
                "Fan belt: 2 x SPA 1250, spare XPZ1180",
                &[(PartNumber, "SPA 1250"), (PartNumber, "XPZ1180")],
            ),
            ("Found device 2-038 (heat detector)", &[(Identifier, "2-038")]),
            ("loop 2 devices 1-20 and 3-7 bar", &[(Measurement, "3-7 bar")]),
            // Names, not codes: a fan's tag, a code letter inside a longer tag. A level, not a
            // code: "alarm 4.5". A year: "date code 2021".
            (
                "Extract fan F-12, VSD asset VSD-F12",
                &[(Identifier, "F-12"), (Identifier, "VSD-F12")],
            ),
            (
                "7.1 mm/s RMS (alarm 4.5, last month 3.2 mm/s)",
                &[(Measurement, "7.1 mm/s"), (Measurement, "3.2 mm/s")],
            ),
            ("Blocks date code 2021", &[(Date, "2021")]),
            ("fan tripped on F-12 again", &[(ErrorCode, "F-12")]),
        ];
        for (text, want) in cases {
            let got = kinds(text);
            let want: Vec<(FactKind, String)> =
                want.iter().map(|(k, s)| (*k, s.to_string())).collect();
            assert_eq!(got, want, "in {text:?}");
        }
    }

    #[test]
    fn facts_are_slices_of_the_text() {
        let text = "Pump S/N FP3152-20771 ran at 1480 rpm on 3 February 2026 with F0001.";
        for f in extract(text) {
            assert_eq!(&text[f.start..f.end], f.text);
        }
    }
}
