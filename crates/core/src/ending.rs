//! Clean endings. A model that runs out of its token budget stops mid-word ("…VSWR alarm
//! cleared at 13:5"); what the technician sees must end at a complete bullet or sentence.
//!
//! [`trim_to_complete`] cuts a generation that hit its budget back to its last complete unit
//! (the engine calls it, and the ledger records that it did); [`check`] is the quality gate's
//! `clean_ending` check, applied to every summary whatever produced it. A text check cannot know
//! that "it should be 1" was cut from "it should be 1.5 bar", which is why the trimming is
//! driven by the engine's stop reason, not by the text.

/// Words a finished sentence or bullet does not end on.
const DANGLING: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "nor", "to", "of", "on", "at", "in", "for", "with", "by",
    "from", "into", "onto", "over", "under", "after", "before", "between", "than", "that", "which",
    "who", "whose", "not", "is", "are", "was", "were", "be", "been", "being", "should", "will",
    "would", "can", "could", "must", "may", "might", "has", "have", "had", "as", "per", "via",
    "both", "either", "neither", "its", "their", "our", "your", "his", "her", "this", "these",
    "those", "then", "so", "if", "when", "while", "because", "e.g", "i.e", "incl", "approx",
];

/// Characters a finished line does not end on.
const DANGLING_CHARS: &[char] =
    &[',', ':', ';', '-', '–', '—', '(', '[', '/', '&', '+', '=', '<', '>', '\\', '|', '*'];

/// Section titles of the handover layout: a title with nothing under it is not an ending.
const SECTION_TITLES: &[&str] = &["found:", "done:", "open:"];

/// `text`, which stopped because the token budget ran out, cut back to its last complete
/// bullet, line or sentence. `None` when nothing complete is left.
pub fn trim_to_complete(text: &str) -> Option<String> {
    let ended_with_newline = text.ends_with('\n');
    let mut lines: Vec<&str> = text.trim_end().lines().collect();
    if !ended_with_newline && let Some(last) = lines.pop() {
        // The last line was still being written. Keep it only when it ends a sentence; else
        // keep the sentences it completed, or drop it.
        let kept = complete_sentences(last);
        if !kept.is_empty() {
            lines.push(kept);
        }
    }
    while let Some(last) = lines.last() {
        let t = last.trim();
        if t.is_empty() || is_section_title(t) || is_bare_bullet(t) {
            lines.pop();
        } else {
            break;
        }
    }
    let out = lines.join("\n").trim().to_string();
    (!out.is_empty()).then_some(out)
}

/// The prefix of `line` up to its last sentence end ('.', '!' or '?' followed by a space or
/// the end), or "" when it has none. A full stop after a digit at the very end is not an end:
/// "pressure 4." is "pressure 4.2 bar" cut short.
fn complete_sentences(line: &str) -> &str {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for i in (0..chars.len()).rev() {
        let (at, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let end = match next {
            None => !(c == '.' && prev.is_some_and(|p| p.is_ascii_digit())),
            Some(n) => n.is_whitespace(),
        };
        if end {
            let cut = &line[..at + c.len_utf8()];
            // A bullet marker alone, or "- 1." of a numbered list, is no sentence.
            if cut.trim_start_matches(['-', '*', '•', ' ']).split_whitespace().count() >= 2 {
                return cut;
            }
            return "";
        }
    }
    ""
}

fn is_section_title(line: &str) -> bool {
    SECTION_TITLES.contains(
        &line.trim_start_matches(['#', '*', ' ']).trim_end_matches('*').to_lowercase().as_str(),
    )
}

fn is_bare_bullet(line: &str) -> bool {
    line.trim_start_matches(['-', '*', '•', ' ']).trim().is_empty()
}

/// Whether `summary` ends like a finished text: `Err` says what dangles.
pub fn check(summary: &str) -> Result<(), String> {
    let Some(last) = summary.trim_end().lines().next_back().map(str::trim) else {
        return Err("the summary is empty".into());
    };
    if last.is_empty() {
        return Err("the summary is empty".into());
    }
    if is_section_title(last) {
        return Err(format!("it ends on the section title {last:?} with nothing under it"));
    }
    if is_bare_bullet(last) {
        return Err("it ends on an empty bullet".into());
    }
    if let Some(c) = last.chars().next_back()
        && DANGLING_CHARS.contains(&c)
    {
        return Err(format!("the last line ends on {c:?}: {:?}", tail(last)));
    }
    // A bracket opened in the last few words and never closed: the text stopped inside it
    // ("measured (drive end"). One opened further back may be a long aside a clause split.
    let words: Vec<&str> = last.split_whitespace().collect();
    let tail_words = words[words.len().saturating_sub(6)..].join(" ");
    if let Some(open) = tail_words.rfind(['(', '['])
        && !tail_words[open..].contains([')', ']'])
    {
        return Err(format!("a bracket is left open in the last line: {:?}", tail(last)));
    }
    if last.matches('"').count() % 2 == 1 {
        return Err(format!("a quotation is left open in the last line: {:?}", tail(last)));
    }
    let word = last.split_whitespace().next_back().unwrap_or("");
    // Lower case only: "1.3 mm/s A" ends on an axis, not on an article.
    if word.chars().next_back().is_some_and(char::is_alphabetic) && DANGLING.contains(&word) {
        return Err(format!("the last sentence stops on {word:?}: {:?}", tail(last)));
    }
    Ok(())
}

/// The last few words of a line, for messages.
fn tail(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let from = words.len().saturating_sub(6);
    let mut s = words[from..].join(" ");
    if from > 0 {
        s.insert(0, '…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_bullet_is_dropped_and_complete_ones_stay() {
        // The shapes generation took on real models when the budget ran out.
        let cases: &[(&str, Option<&str>)] = &[
            ("- Feeder A: 48 V.\n- VSWR alarm cleared at 13:5", Some("- Feeder A: 48 V.")),
            (
                "- Panel 7 IR 1.8 GΩ\n- Recommend re-weatherproofing both on the next - not",
                Some("- Panel 7 IR 1.8 GΩ"),
            ),
            ("- One.\n- Two\n", Some("- One.\n- Two")),
            ("- Only a partial bullet that never", None),
            (
                "- Pressure held. Seal replaced. It should be 1",
                Some("- Pressure held. Seal replaced."),
            ),
            (
                "Pump ran at 4.2 bar. Bearing at 78 °C. Vibration 7.",
                Some("Pump ran at 4.2 bar. Bearing at 78 °C."),
            ),
            (
                "Found:\n- Leak at flange.\nDone:\n- Gasket replaced.\nOpen:\n- Order",
                Some("Found:\n- Leak at flange.\nDone:\n- Gasket replaced."),
            ),
            ("Found:\n- Leak at flange.\nDone:\n- Gasket", Some("Found:\n- Leak at flange.")),
            ("- First point.\n- ", Some("- First point.")),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(trim_to_complete(text).as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn whatever_trimming_leaves_ends_cleanly() {
        for text in
            ["- a b c.\n- d e f g h", "Found:\n- x y.\nDone:\n- z", "One two. Three four five six"]
        {
            let t = trim_to_complete(text).unwrap();
            assert_eq!(check(&t), Ok(()), "{t:?}");
        }
    }

    #[test]
    fn endings_table() {
        let clean = [
            "- Bearing replaced, P/N 6309-2Z-C3",
            "- Vibration 7.1 mm/s at the drive end.",
            "Found:\n- Leak\nDone:\n- Gasket replaced\nOpen:\n- none recorded",
            "The pump runs (after the repair).",
            "- Insulation 1.8 GΩ",
            "- Cleared at 13:50",
            "- Pump DE 2.1 mm/s H, 1.8 mm/s V, 1.3 mm/s A",
            "Alarm (first seen 07:03 by the night shift; acknowledged by JF at 07:13 and cleared",
        ];
        for s in clean {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
        let dangling = [
            ("- Recommend re-weatherproofing both on the next - not", "\"not\""),
            ("- Recommend re-weatherproofing on the", "\"the\""),
            ("- Parts needed:", "':'"),
            ("- Seal kit,", "','"),
            ("- Measured (drive end", "bracket"),
            ("Found:\n- Leak\nOpen:", "section title"),
            ("- a\n- ", "empty bullet"),
            ("   ", "empty"),
        ];
        for (s, why) in dangling {
            let err = check(s).expect_err(s);
            assert!(err.contains(why), "{s:?}: {err}");
        }
    }
}
