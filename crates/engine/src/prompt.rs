//! Versioned prompts per style, and the layout grammar each style's output is held to. The
//! version goes into the ledger with every summary, so a change in wording is visible when
//! summaries change; bump [`VERSION`] with any edit of a prompt or a grammar.
//!
//! What makes a small model (0.5B–1.5B) condense instead of copy was measured with
//! `fieldbrief eval` on real models (figures in the README's quality section):
//! - kept: a short system prompt with no category names in it (small models copied "Part and
//!   Serial Numbers:" as headings); one worked example per style before the note (the model
//!   stopped copying the note's first lines verbatim); asking for fewer words than the target,
//!   because small models overrun a word count; a grammar that fixes the layout and bounds the
//!   number of bullets, so the text ends on its own instead of at the token budget;
//! - measured and dropped: the note's figures handed over as a list (the model listed bare
//!   codes, and key-fact recall fell); llama.cpp's DRY sampler against copying the note (the
//!   model then altered figures to avoid repeating them: "Vcb-2019-06631", "12V"); the
//!   extractive stage's selection in place of the note (faster, no better recall);
//! - the first try is [`condense`], one line at a time, the lines chosen by the extractive
//!   ranking; [`single`], the whole note, is the retry after a failed gate. With the fitted
//!   salience ranking (`prompts-4`) line by line first kept more key facts on the holdout set
//!   (0.75 against 0.68, as many notes served by the model) in half the time; before it
//!   (`prompts-3`) the whole note first had done better. Measured and dropped: condense examples
//!   that shorten only by deleting words (the model still handed lines back; 0.73, 5 of 8). Asking for neighbouring lines
//!   merged into one made the 0.5B model copy one and drop the other, and requiring only a
//!   line's first reading let it drop the one another depended on. `prompts-5`: a line handed
//!   back unchanged is asked for once more, sampled, where the summary needs it (`local.rs`).

use crate::protocol::Message;
use fieldbrief_core::Style;
use fieldbrief_core::engine::Attempt;

pub const VERSION: &str = "prompts-5";

/// The ledger's prompt version for a style, e.g. `"prompts-4+salience-5+gate-3/handover"`: the
/// prompts, the extractive ranking that chooses the lines the first try writes (a new ranking
/// changes what a local summary says as much as a new prompt does), and the quality gate that
/// decides which of the model's tries is served (`quality::GATE_VERSION`). The response cache
/// is keyed by this, so an upgrade does not serve what the old gate let through.
pub fn version(style: Style) -> String {
    format!(
        "{VERSION}+{}+{}/{}",
        fieldbrief_extractive::ALGORITHM_VERSION,
        fieldbrief_core::quality::GATE_VERSION,
        style.as_str()
    )
}

const SYSTEM: &str = "You summarize field technicians' notes for other technicians. Say what was wrong, what was done \
and what is still open, in far fewer words than the note. Use only facts from the note. Copy every number, unit, code \
and part number exactly as written, but do not copy whole lines: shorten them.";

/// How a request is laid out: words asked for and how many bullets (per section, for a
/// handover) the grammar allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub style: Style,
    /// Words the prompt asks for (below the target: small models overrun).
    pub words: usize,
    /// Most bullets (bullets) or bullets per section (handover); 0 for a brief.
    pub bullets: usize,
}

impl Layout {
    /// The layout for a target of `max_words` words. A retry asks for less.
    pub fn new(style: Style, max_words: usize, attempt: Attempt) -> Layout {
        let share = match attempt {
            Attempt::First => 80,
            Attempt::Retry => 60,
        };
        let words = (max_words * share / 100).max(8);
        let bullets = match style {
            Style::Bullets => words.div_ceil(10).clamp(2, 10),
            Style::Brief => 0,
            Style::Handover => (words / 3).div_ceil(10).clamp(1, 4),
        };
        Layout { style, words, bullets }
    }

    fn shape(&self) -> String {
        let Layout { style, words, bullets } = *self;
        match style {
            Style::Bullets => format!(
                "Write at most {bullets} short '- ' bullet points, {words} words in all, most important first."
            ),
            Style::Brief => format!("Write one short paragraph of at most {words} words."),
            Style::Handover => format!(
                "Write a shift handover of at most {words} words in three sections headed 'Found:', 'Done:' and \
                 'Open:', each with at most {bullets} short '- ' bullets; write '- none recorded' under an empty section."
            ),
        }
    }

    /// The GBNF grammar (llama.cpp's format) the output must follow.
    pub fn grammar(&self) -> String {
        // A bullet is one line; the last one may end without a newline, and after the last
        // allowed bullet only the end of text is left.
        let line = r#"line ::= "- " [^\n]+"#;
        match self.style {
            Style::Bullets => {
                let more = self.bullets.saturating_sub(1);
                format!("root ::= line (\"\\n\" line){{0,{more}}} \"\\n\"?\n{line}\n")
            }
            Style::Brief => "root ::= [^\\n-] [^\\n]*\n".to_string(),
            Style::Handover => {
                let more = self.bullets.saturating_sub(1);
                format!(
                    "root ::= \"Found:\\n\" items \"\\nDone:\\n\" items \"\\nOpen:\\n\" items \"\\n\"?\n\
                     items ::= line (\"\\n\" line){{0,{more}}}\n{line}\n"
                )
            }
        }
    }
}

fn messages(user: String) -> Vec<Message> {
    vec![
        Message { role: "system".into(), content: SYSTEM.into() },
        Message { role: "user".into(), content: user },
    ]
}

/// A worked example, before the note: a small model learns "condense, keep the figures" far
/// better from one example than from instructions. The same for every note of a style, so the
/// worker keeps it in its KV cache and it costs no time after the first request.
const EXAMPLE_NOTE: &str = "Call-out 2026-02-11, booster set BS-2 at Riverside flats, pump 1 (S/N GR-88-40213).
- 07:40 arrived, BMS showing alarm A-17 low discharge pressure, pressure at 2.1 bar (setpoint 4.5 bar)
- pump 1 running but noisy, pump 2 in standby and isolated since last visit (not sure why)
- checked suction strainer, about half blocked with scale, cleaned and refitted
- pump 1 impeller worn at the eye, flow still low after cleaning
- de-isolated pump 2, ran it on duty: 4.4 bar, current 6.8 A, sounds fine
- left pump 2 on duty and pump 1 off, BMS alarm cleared 09:15
- need impeller P/N 98-1123-07 for pump 1, quote to be sent to the managing agent
- told the caretaker pressure should be normal now";

fn example(style: Style) -> (Layout, &'static str) {
    match style {
        Style::Bullets => (
            Layout { style, words: 45, bullets: 3 },
            "- Alarm A-17: discharge 2.1 bar against a 4.5 bar setpoint; strainer half blocked with scale, cleaned.\n\
             - Pump 1 (S/N GR-88-40213) impeller worn: pump 1 off, pump 2 on duty at 4.4 bar, 6.8 A; alarm cleared 09:15.\n\
             - Open: impeller P/N 98-1123-07 for pump 1, quote to the managing agent.",
        ),
        Style::Brief => (
            Layout { style, words: 45, bullets: 0 },
            "Alarm A-17 at BS-2: discharge was 2.1 bar against 4.5 bar. The strainer was cleaned, but pump 1 \
             (S/N GR-88-40213) has a worn impeller, so pump 2 now runs on duty at 4.4 bar and the alarm cleared at 09:15. \
             Impeller P/N 98-1123-07 is to be quoted.",
        ),
        Style::Handover => (
            Layout { style, words: 50, bullets: 2 },
            "Found:\n- Alarm A-17, discharge 2.1 bar (setpoint 4.5 bar); strainer half blocked; pump 1 impeller worn\n\
             Done:\n- Strainer cleaned; pump 2 on duty at 4.4 bar, 6.8 A; alarm cleared 09:15\n\
             Open:\n- Impeller P/N 98-1123-07 for pump 1 (S/N GR-88-40213): quote to the managing agent",
        ),
    }
}

fn ask(layout: &Layout, note: &str) -> String {
    format!("{}\n\nNote:\n{note}", layout.shape())
}

/// The whole note in one prompt, after the worked example.
pub fn single(layout: &Layout, note: &str) -> Vec<Message> {
    let (example_layout, example_summary) = example(layout.style);
    vec![
        Message { role: "system".into(), content: SYSTEM.into() },
        Message { role: "user".into(), content: ask(&example_layout, EXAMPLE_NOTE) },
        Message { role: "assistant".into(), content: example_summary.into() },
        Message { role: "user".into(), content: ask(layout, note) },
    ]
}

/// [`single`] without the note itself: what the prompt costs besides the note, for measuring
/// whether the note fits.
pub fn single_frame(layout: &Layout) -> Vec<Message> {
    single(layout, "")
}

const CONDENSE_SYSTEM: &str = "You shorten single lines of field technicians' notes so another technician reads them \
at a glance. Write plain words instead of jargon abbreviations and drop filler and times of day. Keep every number, \
unit, code, date and part number exactly as written, with its label such as P/N. Answer with the shortened line only.";

/// Worked examples for [`condense`]: lines of an invented note and their shortened form. The
/// same for every request, so the worker keeps them in its KV cache.
const CONDENSE_EXAMPLES: &[(&str, &str)] = &[
    (
        "07:40 arrived, BMS showing alarm A-17 low disch press, pressure at 2.1 bar (setpoint 4.5 bar)",
        "Alarm A-17: low discharge pressure, 2.1 bar (setpoint 4.5 bar).",
    ),
    (
        "Checked the suction strainer on the way in and it was about half blocked with scale so I cleaned it out and refitted it",
        "Suction strainer half blocked with scale: cleaned.",
    ),
    (
        "de-isolated pump 2, ran it on duty: disch 4.4 bar, current 6.8 A, brg temp 41 °C, vib 1.2 mm/s, all ok",
        "Pump 2 on duty: 4.4 bar, 6.8 A, bearing 41 °C, vibration 1.2 mm/s, all normal.",
    ),
    (
        "need impeller P/N 98-1123-07 for pump 1 (S/N GR-88-40213), quote to be sent to the managing agent by 2026-02-18",
        "Impeller P/N 98-1123-07 needed for pump 1 (S/N GR-88-40213); quote to the agent by 2026-02-18.",
    ),
];

fn condense_ask(words: usize, line: &str) -> String {
    format!("Shorten to at most {words} words:\n{line}")
}

/// One line of the note to rewrite in at most `words` words (the "write" step of an outlined
/// summary; see `fieldbrief_core::condense`).
pub fn condense(words: usize, line: &str) -> Vec<Message> {
    let mut m = vec![Message { role: "system".into(), content: CONDENSE_SYSTEM.into() }];
    for (source, short) in CONDENSE_EXAMPLES {
        let ask =
            fieldbrief_core::condense::words_for(fieldbrief_core::quality::summary_words(source));
        m.push(Message { role: "user".into(), content: condense_ask(ask, source) });
        m.push(Message { role: "assistant".into(), content: (*short).into() });
    }
    m.push(Message { role: "user".into(), content: condense_ask(words, line) });
    m
}

/// The grammar of a rewritten line: one line of text.
pub const CONDENSE_GRAMMAR: &str = "root ::= [^\\n-] [^\\n]*\n";

/// One part of a long note (the map step).
pub fn part(part: usize, parts: usize, layout: &Layout, text: &str) -> Vec<Message> {
    messages(format!(
        "This is part {part} of {parts} of a long note. List its key facts, findings, work done and open \
         actions in at most {} words as '- ' bullet points.\n\nPart {part}:\n{text}",
        layout.words
    ))
}

/// Partial summaries combined into one (the reduce step).
pub fn combine(layout: &Layout, partials: &[String]) -> Vec<Message> {
    let joined: Vec<String> =
        partials.iter().enumerate().map(|(i, p)| format!("Part {}:\n{p}", i + 1)).collect();
    messages(format!(
        "These are summaries of consecutive parts of one long note. Combine them into one summary of the \
         whole note. {}\n\n{}",
        layout.shape(),
        joined.join("\n\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condense_examples_pass_the_checks_a_rewrite_is_held_to() {
        for (source, short) in CONDENSE_EXAMPLES {
            assert_eq!(fieldbrief_core::condense::check(source, short), Ok(()), "{short}");
        }
        let m = condense(7, "Pump 2 tripped on E-104 again.");
        assert_eq!(m.len(), 2 + 2 * CONDENSE_EXAMPLES.len());
        assert!(m.last().unwrap().content.ends_with("7 words:\nPump 2 tripped on E-104 again."));
        assert_eq!(
            condense(12, "other")[..m.len() - 1],
            m[..m.len() - 1],
            "the examples are the same for every line"
        );
    }

    #[test]
    fn layouts_bound_the_bullets_and_ask_for_less_on_a_retry() {
        let first = Layout::new(Style::Bullets, 45, Attempt::First);
        let retry = Layout::new(Style::Bullets, 45, Attempt::Retry);
        assert_eq!((first.words, first.bullets), (36, 4));
        assert!(retry.words < first.words && retry.bullets <= first.bullets);
        assert_eq!(Layout::new(Style::Bullets, 400, Attempt::First).bullets, 10);
        assert_eq!(Layout::new(Style::Handover, 60, Attempt::First).bullets, 2);
        assert!(first.grammar().contains("{0,3}"), "{}", first.grammar());
    }

    #[test]
    fn the_prompt_is_the_example_then_the_note_without_category_names() {
        let note = "Pump P-101 at 4.2 bar, bearing 78 °C. Fault E-104. Fitted P/N 6309-2Z-C3.";
        for style in Style::ALL {
            let m = single(&Layout::new(style, 30, Attempt::First), note);
            let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
            assert_eq!(roles, ["system", "user", "assistant", "user"]);
            assert!(
                m[3].content.ends_with(note) && m[3].content.contains("24 words"),
                "{}",
                m[3].content
            );
            // The example's turns are the same for every note: the worker's KV cache keeps them.
            assert_eq!(single(&Layout::new(style, 90, Attempt::Retry), "other")[..3], m[..3]);
            assert!(
                !m.iter()
                    .any(|m| m.content.contains("Serial") || m.content.contains("Error Codes"))
            );
        }
    }
}
