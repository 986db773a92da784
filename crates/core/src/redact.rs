//! Redaction before a note leaves the laptop: e-mail addresses, phone numbers, IP addresses
//! and the organisation's own patterns (customer or site ids…) become placeholders such as
//! `[EMAIL_1]`, and the placeholders in the cloud's summary are put back afterwards.
//!
//! The same value always gets the same placeholder within a note, so the model can still see
//! that "`[EMAIL_1]`" was mentioned twice. The `--dry-run` preview shows exactly [`Redacted::text`]:
//! what is shown is what would be sent.

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
        .expect("static regex")
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:/\d{1,2})?\b",
    )
    .expect("static regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?\b")
        .expect("static regex")
});
/// Phone number candidates: an optional +country code and (area code), then groups of digits
/// separated by spaces, dots or dashes. Which candidates are phone numbers, and where they end,
/// is decided by [`is_phone`] over the candidate's prefixes (see [`phone_spans`]).
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d{1,12}(?:[ .\-]\d{1,12}){0,6}")
        .expect("static regex")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./]\d{1,2}[./]\d{2,4}$").expect("static regex")
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Replacement {
    pub placeholder: String,
    /// What the placeholder stands for: `email`, `phone`, `ip` or the configured pattern's name.
    pub kind: String,
    #[serde(skip)]
    pub original: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redacted {
    /// The text as it would be sent.
    pub text: String,
    pub replacements: Vec<Replacement>,
}

/// A configured pattern that is not a valid regular expression.
#[derive(Debug, thiserror::Error)]
#[error("redaction pattern {name:?}: {message}")]
pub struct PatternError {
    pub name: String,
    pub message: String,
}

/// An organisation's own pattern, e.g. `("site", r"SITE-\d{4}")`.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub name: String,
    regex: Regex,
}

impl Pattern {
    pub fn new(name: &str, regex: &str) -> Result<Pattern, PatternError> {
        let regex = Regex::new(regex)
            .map_err(|e| PatternError { name: name.into(), message: e.to_string() })?;
        if regex.is_match("") {
            return Err(PatternError {
                name: name.into(),
                message: "matches the empty string".into(),
            });
        }
        Ok(Pattern { name: name.into(), regex })
    }
}

/// Replaces every sensitive span in `text` with a placeholder.
pub fn redact(text: &str, patterns: &[Pattern]) -> Redacted {
    // Collect the spans of every detector, then keep the earliest, longest, non-overlapping
    // ones: configured patterns first, since the organisation knows its ids best.
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for p in patterns {
        spans.extend(p.regex.find_iter(text).map(|m| (m.start(), m.end(), p.name.clone())));
    }
    spans.extend(EMAIL.find_iter(text).map(|m| (m.start(), m.end(), "email".into())));
    spans.extend(IPV4.find_iter(text).map(|m| (m.start(), m.end(), "ip".into())));
    spans.extend(
        IPV6.find_iter(text)
            .filter(|m| m.as_str().matches(':').count() >= 2)
            .map(|m| (m.start(), m.end(), "ip".into())),
    );
    spans.extend(phone_spans(text).into_iter().map(|(s, e)| (s, e, "phone".into())));
    spans.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));

    let mut out = String::with_capacity(text.len());
    let mut replacements: Vec<Replacement> = Vec::new();
    let mut at = 0;
    for (start, end, kind) in spans {
        if start < at {
            continue;
        }
        let original = &text[start..end];
        let placeholder = match replacements.iter().find(|r| r.original == original) {
            Some(r) => r.placeholder.clone(),
            None => {
                let n = replacements.iter().filter(|r| r.kind == kind).count() + 1;
                let placeholder = format!(
                    "[{}_{n}]",
                    kind.to_uppercase().replace(|c: char| !c.is_alphanumeric(), "_")
                );
                replacements.push(Replacement {
                    placeholder: placeholder.clone(),
                    kind,
                    original: original.to_string(),
                });
                placeholder
            }
        };
        out.push_str(&text[at..start]);
        out.push_str(&placeholder);
        at = end;
    }
    out.push_str(&text[at..]);
    Redacted { text: out, replacements }
}

/// The phone numbers in `text`. A candidate that runs on into other figures ("+44 7700 900123
/// 0171 555 0199", two numbers) is cut back to its longest prefix, at a group boundary, that is
/// a phone number; the rest is looked at again.
fn phone_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut pos = 0;
    while let Some(m) = PHONE.find_at(text, pos) {
        // Where each digit group of the candidate ends.
        let ends: Vec<usize> = m
            .as_str()
            .char_indices()
            .filter(|&(i, c)| {
                c.is_ascii_digit() && !m.as_str()[i + 1..].starts_with(|n: char| n.is_ascii_digit())
            })
            .map(|(i, _)| m.start() + i + 1)
            .collect();
        // The longest prefix that is a phone number, unless what follows a complete one is a
        // phone number of its own ("0171 555 0199 0171 555 0198" is two numbers).
        let mut best = None;
        for (i, &end) in ends.iter().enumerate() {
            if !is_phone(text, m.start(), end) {
                continue;
            }
            best = Some(end);
            let next = ends.get(i + 1).map(|_| {
                let rest = &text[end..];
                end + (rest.len() - rest.trim_start_matches([' ', '.', '-']).len())
            });
            if next.is_some_and(|at| text[at..].starts_with(['0', '+', '(']) && phone_at(text, at))
            {
                break;
            }
        }
        match best.as_ref() {
            Some(&end) => {
                spans.push((m.start(), end));
                pos = end;
            }
            // Not one: look again after its first group.
            None => pos = ends.first().copied().unwrap_or(m.end()).max(m.start() + 1),
        }
    }
    spans
}

/// Whether a phone number starts at `start` (any prefix of the candidate there).
fn phone_at(text: &str, start: usize) -> bool {
    PHONE.find_at(text, start).is_some_and(|m| {
        m.start() == start
            && m.as_str().char_indices().any(|(i, c)| {
                c.is_ascii_digit()
                    && !m.as_str()[i + 1..].starts_with(|n: char| n.is_ascii_digit())
                    && is_phone(text, start, start + i + 1)
            })
    })
}

/// Whether `text[start..end]` is a phone number: 8–15 digits, not glued to letters or digits
/// (part numbers, serials), not a date, and shaped like one —
/// - international or with an area code in parentheses: `+44 7700 900123`, `+49 151
///   12345678`, `+33 6 12 34 56 78`, `(030) 1234567`;
/// - national, in groups of two or more digits with one kind of separator: `07700 900123`,
///   `030 1234567`, `0171 555 0199`, `555-123-4567`;
/// - or written solid after a trunk 0: `07700900123` (a solid number without it is a serial).
fn is_phone(text: &str, start: usize, end: usize) -> bool {
    let s = &text[start..end];
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '/');
    if !(8..=15).contains(&digits) || DATE.is_match(s) || glued(before) || glued(after) {
        return false;
    }
    let groups: Vec<&str> =
        s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let mut separators: Vec<char> = s.chars().filter(|c| matches!(c, ' ' | '.' | '-')).collect();
    separators.sort_unstable();
    separators.dedup();
    if s.starts_with('+') || s.contains('(') {
        separators.len() <= 2
    } else if groups.len() == 1 {
        s.starts_with('0') && (9..=12).contains(&digits)
    } else {
        separators.len() == 1 && groups.iter().all(|g| g.len() >= 2)
    }
}

/// Puts the originals back into a summary written over redacted text.
pub fn restore(summary: &str, replacements: &[Replacement]) -> String {
    let mut out = summary.to_string();
    // Longest placeholders first, so `[EMAIL_1]` never eats the start of `[EMAIL_10]`.
    let mut sorted: Vec<&Replacement> = replacements.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.placeholder.len()));
    for r in sorted {
        out = out.replace(&r.placeholder, &r.original);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_becomes_placeholders_and_comes_back() {
        let note = "Called Jo (jo.smith@acme-water.co.uk, +44 20 7946 0958) about SITE-0042. \
                    PLC at 10.12.0.7 rebooted; mail jo.smith@acme-water.co.uk again. Pump 4.2 bar on 2026-03-14, P/N 6309-2Z-C3.";
        let site = Pattern::new("site", r"SITE-\d{4}").unwrap();
        let r = redact(note, &[site]);
        assert!(!r.text.contains("jo.smith"), "{}", r.text);
        assert!(!r.text.contains("7946"), "{}", r.text);
        assert!(!r.text.contains("10.12.0.7"), "{}", r.text);
        assert!(!r.text.contains("SITE-0042"), "{}", r.text);
        assert_eq!(r.text.matches("[EMAIL_1]").count(), 2, "{}", r.text);
        assert!(
            r.text.contains("[PHONE_1]")
                && r.text.contains("[IP_1]")
                && r.text.contains("[SITE_1]")
        );
        // Facts the summary needs are not personal data.
        for kept in ["4.2 bar", "2026-03-14", "6309-2Z-C3"] {
            assert!(r.text.contains(kept), "{kept} lost: {}", r.text);
        }
        let summary = "- [SITE_1]: PLC [IP_1] rebooted; contact [EMAIL_1] / [PHONE_1].";
        assert_eq!(
            restore(summary, &r.replacements),
            "- SITE-0042: PLC 10.12.0.7 rebooted; contact jo.smith@acme-water.co.uk / +44 20 7946 0958."
        );
    }

    #[test]
    fn measurements_dates_and_codes_are_not_phone_numbers() {
        for text in [
            "Readings 4.2 bar, 78 °C, 7.1 mm/s",
            "Due 2026-03-14 and 14.03.2026",
            "S/N 12345678",
            "Error E104 at 12:30",
        ] {
            let r = redact(text, &[]);
            assert!(r.replacements.is_empty(), "{text} → {:?}", r.replacements);
        }
        assert_eq!(redact("ring 0171 555 0199 now", &[]).text, "ring [PHONE_1] now");
        for text in
            ["Readings 12.5 13.2 14.1 15.0", "P/N 6309-2Z-C3", "S/N CRR-19-55812", "v11434.0.0"]
        {
            let r = redact(text, &[]);
            assert!(r.replacements.is_empty(), "{text} → {:?}", r.replacements);
        }
        assert!(redact("fe80::1ff:fe23:4567:890a is up", &[]).text.starts_with("[IP_1]"));
    }

    #[test]
    fn phone_numbers_in_international_and_national_formats_are_redacted() {
        for phone in [
            "+44 7700 900123",
            "07700 900123",
            "030 1234567",
            "+49 151 12345678",
            "07700900123",
            "+447700900123",
            "+44 20 7946 0958",
            "+1 (555) 123-4567",
            "(030) 123 4567",
            "+33 6 12 34 56 78",
            "555-123-4567",
            "0171 555 0199",
            "+49-30-1234567",
        ] {
            for note in
                [format!("Call {phone} about it."), format!("tel:{phone}"), format!("({phone})")]
            {
                let r = redact(&note, &[]);
                assert_eq!(r.replacements.len(), 1, "{note:?} → {}", r.text);
                assert_eq!(r.replacements[0].original, phone, "{note:?} → {}", r.text);
                assert_eq!(restore(&r.text, &r.replacements), note);
            }
        }
        // Two numbers in a row are two numbers, not one too long to be either, nor one that
        // swallows the start of the next.
        let r = redact("Ring +44 7700 900123 0171 555 0199 or 030 1234567.", &[]);
        assert_eq!(r.text, "Ring [PHONE_1] [PHONE_2] or [PHONE_3].", "{:?}", r.replacements);
        for pair in [
            "0171 555 0199 0171 555 0198",
            "030 1234567 030 7654321",
            "+33 6 12 34 56 78 030 1234567",
            "555-123-4567 555-123-4568",
        ] {
            let r = redact(pair, &[]);
            assert_eq!(r.text, "[PHONE_1] [PHONE_2]", "{pair} → {:?}", r.replacements);
        }
    }

    #[test]
    fn bad_patterns_are_refused_with_their_name() {
        assert!(Pattern::new("cust", "CUST-(").unwrap_err().to_string().contains("cust"));
        assert!(Pattern::new("empty", "x*").is_err());
    }

    #[test]
    fn ten_placeholders_restore_without_prefix_clashes() {
        let note: String = (0..11).map(|i| format!("u{i}@example.org ")).collect();
        let r = redact(&note, &[]);
        assert_eq!(restore(&r.text, &r.replacements), note);
    }
}
