//! Behaviour of the whole summarizer on the project's sample notes.

use super::*;
use fieldbrief_core::facts;
use fieldbrief_core::facts::FactKind;
use fieldbrief_core::quality;

fn samples() -> Vec<(String, Document)> {
    let dir = fieldbrief_testkit::samples::samples_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("assets/samples") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        let doc = fieldbrief_ingest::read_path(&path, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        out.push((name, doc));
    }
    assert!(out.len() >= 8, "expected at least eight samples, found {}", out.len());
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

const KEY_FACTS: [FactKind; 4] =
    [FactKind::Measurement, FactKind::PartNumber, FactKind::SerialNumber, FactKind::ErrorCode];

#[test]
fn facts_of_the_top_ranked_units_appear_verbatim() {
    for (name, doc) in samples() {
        for style in Style::ALL {
            let request = SummaryRequest::new(style, None);
            let summary = summarize(&doc.text, &request).unwrap();
            let seg = &summary.segmented;
            let ranked = rank(seg, style);
            // The best unit always makes it in unless it alone is over budget (a fragment that
            // dangles, "…alarm ALM-33: 2.80 m;", is never a line of a summary).
            let best = ranked
                .iter()
                .find(|r| fieldbrief_core::ending::check(&seg.units[r.unit].text).is_ok())
                .unwrap();
            let top = &seg.units[best.unit];
            if top.text.split_whitespace().count() + 6 <= request.max_words {
                assert!(
                    summary.selected.contains(&best.unit),
                    "{name} {style}: top unit {:?} left out",
                    top.text
                );
            }
            let mut checked = 0;
            for &u in &summary.selected {
                for fact in facts::extract(&seg.units[u].text)
                    .into_iter()
                    .filter(|f| KEY_FACTS.contains(&f.kind))
                {
                    assert!(
                        summary.text.contains(&fact.text),
                        "{name} {style}: {:?} missing from\n{}",
                        fact.text,
                        summary.text
                    );
                    assert!(
                        doc.text.contains(&fact.text),
                        "{name}: {:?} is not in the note",
                        fact.text
                    );
                    checked += 1;
                }
            }
            assert!(
                checked > 0,
                "{name} {style}: summary kept no key fact at all:\n{}",
                summary.text
            );
        }
    }
}

#[test]
fn ranking_prefers_units_that_carry_facts() {
    for (name, doc) in samples() {
        let summary = summarize(&doc.text, &SummaryRequest::new(Style::Bullets, None)).unwrap();
        let seg = &summary.segmented;
        let has_fact = |u: usize| {
            facts::extract(&seg.units[u].text).iter().any(|f| KEY_FACTS.contains(&f.kind))
        };
        let content: Vec<usize> = seg.content_units().map(|(i, _)| i).collect();
        let in_note =
            content.iter().filter(|&&u| has_fact(u)).count() as f64 / content.len() as f64;
        let in_summary = summary.selected.iter().filter(|&&u| has_fact(u)).count() as f64
            / summary.selected.len() as f64;
        assert!(
            in_summary >= in_note,
            "{name}: {in_summary:.2} of summary units carry facts vs {in_note:.2} of the note"
        );
    }
}

#[test]
fn output_never_exceeds_the_word_budget_and_passes_the_quality_gate() {
    for (name, doc) in samples() {
        for style in Style::ALL {
            for max_words in [3, 12, 40, 150, 600] {
                let request = SummaryRequest::new(style, Some(max_words));
                let summary = summarize(&doc.text, &request).unwrap();
                let words = quality::summary_words(&summary.text);
                assert!(
                    words <= max_words,
                    "{name} {style} max {max_words}: {words} words\n{}",
                    summary.text
                );
                assert!(words > 0, "{name} {style} max {max_words}: empty");
                let verdict = quality::assess(&doc.text, &summary.text, max_words);
                assert!(
                    verdict.passed,
                    "{name} {style} max {max_words}: {:?}\n{}",
                    verdict.checks, summary.text
                );
            }
        }
    }
}

#[test]
fn long_reports_are_summarized_from_their_whole_length_not_their_start() {
    let (_, doc) = samples()
        .into_iter()
        .find(|(n, _)| n.starts_with("incident-report-long"))
        .expect("long report");
    assert!(doc.word_count() > 20_000, "{} words", doc.word_count());
    let summary = summarize(&doc.text, &SummaryRequest::new(Style::Bullets, Some(400))).unwrap();
    let n = summary.segmented.units.len();
    let beyond_first_fifth = summary.selected.iter().filter(|&&u| u > n / 5).count();
    assert!(beyond_first_fifth >= 2, "selected {:?} of {n} units", summary.selected);
}

#[test]
fn handover_has_found_done_and_open_for_a_handover_note() {
    let (_, doc) = samples()
        .into_iter()
        .find(|(n, _)| n.starts_with("shift-handover"))
        .expect("handover sample");
    let summary = summarize(&doc.text, &SummaryRequest::new(Style::Handover, None)).unwrap();
    let text = &summary.text;
    let (found, rest) = text.split_once("Done:").expect("Done section");
    let (done, open) = rest.split_once("Open:").expect("Open section");
    assert!(found.starts_with("Found:"));
    for (section, body) in [("Found", found), ("Done", done), ("Open", open)] {
        assert!(
            !body.contains("none recorded") && body.contains("- "),
            "{section} is empty:\n{text}"
        );
    }
}

#[test]
fn styles_are_laid_out_as_named_and_deterministic() {
    let text = "Pump P-101 was noisy on arrival. Bearing temperature 78 °C.\n\nReplaced bearing P/N 6205-2RS.\n\nCustomer needs to order a spare seal.";
    let bullets = summarize(text, &SummaryRequest::new(Style::Bullets, None)).unwrap().text;
    assert!(bullets.lines().all(|l| l.starts_with("- ")), "{bullets}");
    let brief = summarize(text, &SummaryRequest::new(Style::Brief, None)).unwrap().text;
    assert!(!brief.contains('\n') && !brief.starts_with("- "), "{brief}");
    assert!(brief.contains("Replaced bearing P/N 6205-2RS."), "{brief}");
    let handover = summarize(text, &SummaryRequest::new(Style::Handover, None)).unwrap().text;
    assert!(
        handover.contains("Found:\n- Pump P-101 was noisy on arrival.")
            || handover.contains("Found:\n- Bearing temperature 78 °C."),
        "{handover}"
    );
    assert!(handover.contains("Done:\n- Replaced bearing P/N 6205-2RS."), "{handover}");
    assert!(handover.contains("Open:\n- Customer needs to order a spare seal."), "{handover}");
    assert_eq!(bullets, summarize(text, &SummaryRequest::new(Style::Bullets, None)).unwrap().text);
}

#[test]
fn tiny_budgets_cut_the_best_unit_visibly() {
    let s = summarize(
        "The pump seal was leaking badly at the drive end today.",
        &SummaryRequest::new(Style::Bullets, Some(4)),
    )
    .unwrap();
    assert_eq!(s.text, "The pump seal was…");
}

#[test]
fn nothing_to_summarize_is_an_error_not_an_empty_summary() {
    assert!(summarize("", &SummaryRequest::new(Style::Bullets, None)).is_err());
    let s = summarize("PUMP OK", &SummaryRequest::new(Style::Bullets, None)).unwrap();
    assert_eq!(s.text, "- PUMP OK");
}

#[test]
fn an_outline_takes_the_best_lines_within_its_budget_and_skips_those_taken() {
    let text = "Pump P-101 was noisy on arrival. Bearing temperature 78 °C.\n\nReplaced bearing P/N 6205-2RS.\n\n\
                Weather was fine and the site was quiet all day.\n\nCustomer needs to order a spare seal.";
    let seg = segment::segment(text);
    let ranked = rank(&seg, Style::Bullets);
    let lines = outline(&seg, &ranked, Style::Bullets, 12, &[]);
    let words: usize = lines.iter().map(|l| l.text.split_whitespace().count()).sum();
    assert!(!lines.is_empty() && words <= 12, "{lines:?}");
    assert!(lines.windows(2).all(|w| w[0].score >= w[1].score), "rank order: {lines:?}");
    assert!(!lines.iter().any(|l| l.text.starts_with("Weather")), "{lines:?}");
    let taken: Vec<usize> = lines.iter().map(|l| l.unit).collect();
    let more = outline(&seg, &ranked, Style::Bullets, 100, &taken);
    assert!(!more.is_empty() && more.iter().all(|l| !taken.contains(&l.unit)), "{more:?}");
    // A handover outline starts with the best line of each section.
    let handover = outline(&seg, &ranked, Style::Handover, 100, &[]);
    let firsts: Vec<Section> = handover.iter().take(3).map(|l| l.section).collect();
    assert_eq!(firsts, [Section::Found, Section::Done, Section::Open], "{handover:?}");
}

#[test]
fn every_clause_of_a_line_that_names_its_section_is_in_it() {
    let note = "AHU-03 quarterly PM 2026-10-07\n\
                Fan belt cracked, tension low. Replaced both SPA 1250\n\
                Open: BMS tuning V-03H, fire damper FD-4.12 inspection overdue (no access panel)\n";
    let seg = units(note);
    let ranked = rank(&seg, Style::Handover);
    let section = |needle: &str| {
        let r = ranked.iter().find(|r| seg.units[r.unit].text.contains(needle));
        r.unwrap_or_else(|| panic!("{needle} not a unit: {seg:?}")).section
    };
    assert_eq!(section("BMS tuning"), Section::Open);
    assert_eq!(section("fire damper FD-4.12"), Section::Open);
    assert_eq!(section("Replaced both"), Section::Done);
    let handover = summarize(note, &SummaryRequest::new(Style::Handover, Some(60))).unwrap();
    let (_, open) = handover.text.split_once("\nOpen:\n").unwrap();
    assert!(open.contains("FD-4.12"), "{}", handover.text);
    // Under its own title the line's label is not said twice.
    assert!(open.starts_with("- BMS tuning V-03H"), "{}", handover.text);
}

#[test]
fn rewritten_lines_are_laid_out_in_note_order_and_fitted_by_rank() {
    let line = |unit, score, section, text: &str| Line {
        unit,
        score,
        section,
        text: text.into(),
        lead: String::new(),
        line: unit,
        needs: None,
        subject: None,
    };
    let lines = vec![
        line(3, 0.9, Section::Open, "Spare seal to order."),
        line(0, 0.5, Section::Found, "P-101 noisy, bearing 78 °C."),
        line(2, 0.7, Section::Done, "Bearing P/N 6205-2RS replaced."),
    ];
    assert_eq!(
        render(Style::Bullets, &lines),
        "- P-101 noisy, bearing 78 °C.\n- Bearing P/N 6205-2RS replaced.\n- Spare seal to order."
    );
    assert_eq!(render(Style::Brief, &lines[..1]), "Spare seal to order.");
    assert_eq!(
        render(Style::Handover, &lines[..1]),
        "Found:\n- none recorded\nDone:\n- none recorded\nOpen:\n- Spare seal to order."
    );
    // Over budget: the lowest-ranked line goes first.
    let (text, kept) = fit(Style::Bullets, lines.clone(), 9);
    assert_eq!(text, "- Bearing P/N 6205-2RS replaced.\n- Spare seal to order.");
    assert_eq!(kept.len(), 2);
    // A handover keeps a section's only line while another section has one to spare: the
    // open item stays, the second finding goes, though it ranks above the open item.
    let mut handover = lines;
    handover[0].score = 0.2;
    handover.push(line(1, 0.4, Section::Found, "Suction 0.8 bar."));
    let (text, kept) = fit(Style::Handover, handover.clone(), 17);
    assert_eq!(
        text,
        "Found:\n- P-101 noisy, bearing 78 °C.\nDone:\n- Bearing P/N 6205-2RS replaced.\n\
         Open:\n- Spare seal to order."
    );
    assert_eq!(kept.len(), 3);
    // With one line to each section, the lowest-ranked goes.
    let (text, _) = fit(Style::Handover, handover, 12);
    assert!(!text.contains("Spare seal"), "{text}");
}

#[test]
fn a_line_too_long_for_what_is_left_leaves_it_to_shorter_lines_below() {
    let line = |unit, score, text: &str| Line {
        unit,
        score,
        section: Section::Found,
        text: text.into(),
        lead: String::new(),
        line: unit,
        needs: None,
        subject: None,
    };
    let lines = vec![
        line(0, 0.9, "Alarm E-17 on arrival."),
        line(1, 0.8, "Suction 2.1 bar against 3.0 bar normal, charge low, leak search needed."),
        line(2, 0.5, "Leak at valve V-3."),
    ];
    // The second line does not fit in 10 words; the third does, though it ranks lower.
    let (text, kept) = fit(Style::Bullets, lines, 10);
    assert_eq!(text, "- Alarm E-17 on arrival.\n- Leak at valve V-3.");
    assert_eq!(kept.iter().map(|l| l.unit).collect::<Vec<_>>(), [0, 2]);
}

#[test]
fn a_written_line_that_goes_on_from_another_is_kept_only_with_it() {
    let line = |unit, score, text: &str, lead: &str, needs| Line {
        unit,
        score,
        section: Section::Found,
        text: text.into(),
        lead: lead.into(),
        line: 1,
        needs,
        subject: None,
    };
    let lines = vec![
        line(0, 0.2, "Alarm log read.", "", None),
        line(1, 0.3, "Ran 2 h at 128 A", "", None),
        line(2, 0.9, "then stopped on E-411", ", ", Some(1)),
    ];
    // The alarm ranks first and takes the clause it goes on from with it.
    let (text, _) = fit(Style::Bullets, lines.clone(), 10);
    assert_eq!(text, "- Ran 2 h at 128 A, then stopped on E-411");
    // Without that clause (left out by an earlier round's fit), not at all.
    let (text, _) = fit(Style::Bullets, vec![lines[0].clone(), lines[2].clone()], 10);
    assert_eq!(text, "- Alarm log read.");
}

#[test]
fn room_the_rewrites_leave_is_filled_with_the_next_lines_in_their_own_words() {
    let note = "Chiller CH-2 plant room B, S/N CH2-88-1204\n\
                - Alarm ALM-12 low suction on circuit 1 at 06:40\n\
                - Suction 2.1 bar against 3.4 bar normal on circuit 1\n\
                - Found a leak at the flare nut of valve V-3, tightened and leak tested\n\
                - Charged 2.4 kg of R-410A, suction back to 3.3 bar after 20 min\n\
                - Order a new flare nut P/N FN-12-3/8 for the next visit";
    let seg = units(note);
    let ranked = rank(&seg, Style::Bullets);
    let target = 30;
    // The model rewrote the two best lines much shorter than expected.
    let written: Vec<Line> = outline(&seg, &ranked, Style::Bullets, 14, &[])
        .into_iter()
        .map(|mut l| {
            l.text = l.text.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
            l
        })
        .collect();
    assert!(!written.is_empty());
    let rewritten: Vec<usize> = written.iter().map(|l| l.unit).collect();
    let alone = fit(Style::Bullets, written.clone(), target).0;
    assert!(quality::summary_words(&alone) + 6 < target, "{alone}");
    let (text, kept) = fit_and_fill(&seg, &ranked, Style::Bullets, written, target);
    let words = quality::summary_words(&text);
    assert!(words <= target && words > quality::summary_words(&alone), "{text}");
    // The rewrites are still there, and what filled the room is the note's own lines.
    for l in &kept {
        if !rewritten.contains(&l.unit) {
            assert_eq!(l.text, seg.units[l.unit].text, "{text}");
        }
    }
    assert!(rewritten.iter().all(|u| kept.iter().any(|l| l.unit == *u)), "{text}");
    // Nothing left out would still fit.
    let room = target - words;
    let fits = seg
        .content_units()
        .filter(|(i, _)| !kept.iter().any(|l| l.unit == *i))
        .find(|(_, u)| u.text.split_whitespace().count() <= room);
    assert_eq!(fits.map(|(_, u)| u.text.as_str()), None, "{text}");
}

#[test]
fn a_clause_that_goes_on_from_the_one_before_comes_with_it() {
    let note = "Air compressor AC-2, workshop, S/N GA-37-60218\n\
                - Visual check of the receiver and the drain valve\n\
                - Ran 2 h loaded at 7.4 bar, current 128 A against 132 A max, then stopped on E-411 motor overload\n\
                - Oil level ok, no leaks at the cooler";
    for (style, words) in [(Style::Bullets, 20), (Style::Handover, 26)] {
        let summary = summarize(note, &SummaryRequest::new(style, Some(words))).unwrap();
        // The alarm is what matters, and it is not shown without what it goes on from.
        assert!(summary.text.contains("E-411"), "{}", summary.text);
        assert!(!summary.text.contains("- then"), "{}", summary.text);
        assert!(
            summary.text.contains("current 128 A against 132 A max, then stopped on E-411"),
            "{}",
            summary.text
        );
    }
    // Too little room for both: neither.
    let summary = summarize(note, &SummaryRequest::new(Style::Bullets, Some(9))).unwrap();
    assert!(!summary.text.contains("then stopped"), "{}", summary.text);
}

#[test]
fn what_the_technician_acts_on_ranks_above_the_header_and_the_readings_that_were_fine() {
    let note = "Cold room CR-1, condensing unit S/N CU-ZB-2017-4409, site visit 2026-07-08\n\
                - Technician on site 0930, chef reported the room warm this morning\n\
                - Controller alarm E-21 (probe fault) on the evaporator probe\n\
                - Condenser fan running, condenser coil clean, suction 2.1 bar\n\
                - Replaced the evaporator probe P/N NTC-10K-1.5M, alarms cleared\n\
                - Door gasket torn at the hinge side, gasket P/N DG-2080-W to order\n\
                - Room at 3.4 °C at 1330, all normal";
    let seg = segment::segment(note);
    let ranked = rank(&seg, Style::Bullets);
    let position =
        |needle: &str| ranked.iter().position(|r| seg.units[r.unit].text.contains(needle)).unwrap();
    let header = position("S/N CU-ZB-2017-4409");
    for acted_on in ["E-21", "P/N NTC-10K-1.5M", "P/N DG-2080-W"] {
        assert!(position(acted_on) < header, "{acted_on} ranks below the header: {ranked:?}");
        assert!(position(acted_on) < position("condenser coil clean"), "{acted_on}: {ranked:?}");
    }
    // Every score is a probability per square root of words: positive, below one.
    assert!(ranked.iter().all(|r| r.score > 0.0 && r.score < 1.0), "{ranked:?}");

    // The codes and part numbers of what is selected, part numbers with their label.
    let request = SummaryRequest::new(Style::Bullets, Some(40));
    let salient = salient_facts(note, &request);
    for fact in ["E-21", "P/N NTC-10K-1.5M", "P/N DG-2080-W"] {
        assert!(salient.codes.contains(&fact.to_string()), "{fact} not in {salient:?}");
        assert!(salient.figures.contains(&fact.to_string()), "{fact} not in {salient:?}");
    }
    assert!(!salient.codes.iter().any(|f| f.contains("CU-ZB")), "{salient:?}");
    // The figures are every figure of what is selected, readings too; the codes among them.
    assert!(salient.codes.iter().all(|c| salient.figures.contains(c)), "{salient:?}");
    assert!(salient.figures.len() > salient.codes.len(), "{salient:?}");
}

#[test]
fn a_cut_is_marked_and_never_left_inside_a_bracket() {
    assert_eq!(cut_to_words("ALM-12 (low suction pressure) on C2", 3), "ALM-12…");
    assert_eq!(cut_to_words("ALM-12 (low) on circuit 2", 3), "ALM-12 (low) on…");
    assert_eq!(cut_to_words("short line", 3), "short line");
}

/// Key-fact recall of the extractive summary at each case's length, over an evaluation set.
fn recall_on(set: &str) -> f64 {
    let path = format!("{}/../../assets/eval/{set}", env!("CARGO_MANIFEST_DIR"));
    let cases = fieldbrief_core::eval::parse_set(&std::fs::read_to_string(path).unwrap()).unwrap();
    let total: f64 = cases
        .iter()
        .map(|case| {
            let request = SummaryRequest::new(case.style, Some(case.target_words()));
            let summary = summarize(&case.note, &request).unwrap();
            let kept = fieldbrief_core::eval::facts_kept(&summary.text, &case.key_facts);
            kept.len() as f64 / case.key_facts.len() as f64
        })
        .sum();
    total / cases.len() as f64
}

#[test]
fn the_fitted_ranking_keeps_the_recall_it_was_measured_at() {
    // Measured with the shipped ranking (README, "Summary quality on the device"): 0.869,
    // 0.856 and 0.900 on the tuning set, the long notes and the holdout (the first fitted
    // weights had 0.66, 0.56 and 0.80; hand-set weights 0.50, 0.29 and 0.65). A change to the
    // features, the weights, the segmentation or the selection that loses a key fact of a
    // set fails here; one that gains some raises these floors.
    for (set, at_least) in [("set.jsonl", 0.865), ("long.jsonl", 0.85), ("holdout.jsonl", 0.895)] {
        let recall = recall_on(set);
        assert!(recall >= at_least, "{set}: key-fact recall {recall:.3} < {at_least}");
    }
}

#[test]
fn identifiers_after_multibyte_text_are_read_without_panicking() {
    // "İ" lower-cases to three bytes and "°" is two: offsets into the note are not offsets
    // into its lower-cased copy, and 16 bytes back can land inside a character.
    let note = "- İİİİİİİİİİİİ AB-123 checked, valve V-12 closed\n\
                - Reading 41 °C°°°°°°° ref XY-77, ticket INC-5581 raised\n\
                - Ω₂Ω₂Ω₂Ω₂ sample QZ-9 taken";
    let seg = segment::segment(note);
    let ranked = rank(&seg, Style::Bullets);
    assert_eq!(ranked.len(), 3, "{ranked:?}");
    let ticket = unit_features(&seg)
        .into_iter()
        .find(|(i, _)| seg.units[*i].text.contains("INC-5581"))
        .unwrap()
        .1;
    assert!(ticket[7] >= 1.0, "the ticket is read as one: {ticket:?}");
}

#[test]
fn clauses_of_one_line_chosen_together_are_one_line_again() {
    // (line, lead, text) of units 0, 1, 3, 4, 5 and 7. Unit 3 continues unit 2, which was not
    // chosen and starts another line: a line of its own. Unit 7 is of unit 5's line, though
    // unit 6 between them was not chosen.
    let lines = join_clauses([
        (0, "", "MCB Q22 tripped, reset, runs", None),
        (0, ", ", "current 2.8 A each fan", None),
        (2, ", ", "silica gel change", None),
        (4, "", "Took oil sample for DGA", None),
        (5, "", "Extract fan F-12", None),
        (5, ", ", "VSD asset VSD-F12", None),
    ]);
    assert_eq!(
        lines,
        vec![
            "MCB Q22 tripped, reset, runs, current 2.8 A each fan",
            "silica gel change",
            "Took oil sample for DGA",
            "Extract fan F-12, VSD asset VSD-F12",
        ]
    );
    // A rewrite that ended its sentence does not leave ".," behind.
    let lines =
        join_clauses([(0, "", "Alarm log: A-35.", None), (0, ", ", "A-12 (box temp high).", None)]);
    assert_eq!(lines, vec!["Alarm log: A-35, A-12 (box temp high)."]);
    // A summary keeps the clause that matters without the rest of its line.
    let note = "RTU-3 high discharge pressure alarm ALM 2231 on arrival\n\
                Discharge 27.8 bar on circuit 2, circuit 1 normal 19.4 bar, ambient 21 °C, sunny and calm today\n\
                Replaced K12 contactor with P/N LC1D18P7\n\
                Reset alarm, compressor 2 restarted and ran fine for the next thirty minutes or so";
    let summary = summarize(note, &SummaryRequest::new(Style::Bullets, Some(22))).unwrap();
    assert!(summary.text.contains("- Discharge 27.8 bar on circuit 2\n"), "{}", summary.text);
    assert!(!summary.text.contains("sunny"), "{}", summary.text);
}

#[test]
fn a_handover_keeps_the_technicians_own_short_open_list() {
    let note = "AHU-03 quarterly PM 2026-10-07\n\
                Filter bank F7 bag filters DP 310 Pa (change at 250 Pa), changed 12 x P/N BF-F7-592\n\
                Fan belt: 2 x SPA 1250, one belt glazed + cracked. Replaced both SPA 1250, tensioned\n\
                Supply air 16.8 °C, SP 17 °C\n\
                Fan current 14.6 A before / 13.1 A after (VSD 45 Hz)\n\
                Heating valve actuator V-03H hunting, BMS loop oscillating +/- 15 %\n\
                Open: BMS tuning V-03H, fire damper FD-4.12 inspection overdue (no access panel)\n";
    let seg = units(note);
    let listed = |u: usize| seg.units[line_start(&seg, u)].text.starts_with("Open:");
    // A handover ranks the items of the list twice as likely; a list of bullets as it is.
    let bullets = rank(&seg, Style::Bullets);
    let handover = rank(&seg, Style::Handover);
    assert_eq!(bullets.len(), handover.len());
    assert!(bullets.iter().filter(|r| listed(r.unit)).count() == 2, "{seg:?}");
    for b in &bullets {
        let h = handover.iter().find(|h| h.unit == b.unit).unwrap();
        let factor = if listed(b.unit) { 2.0 } else { 1.0 };
        assert_eq!(h.score, factor * b.score, "{b:?} {h:?}");
    }
    // So a short handover says both open items, not just the better-scored one.
    let summary = summarize(note, &SummaryRequest::new(Style::Handover, Some(45))).unwrap();
    let open = summary.text.split("Open:").nth(1).unwrap_or_default();
    assert!(open.contains("BMS tuning V-03H"), "{}", summary.text);
    assert!(open.contains("FD-4.12"), "{}", summary.text);
}

#[test]
fn a_reading_against_its_change_point_or_design_value_is_a_comparison() {
    let comparison = salience::NAMES.iter().position(|n| *n == "comparison").unwrap();
    let cx = salience::Context {
        index: 3,
        count: 10,
        kind: fieldbrief_core::segment::UnitKind::Sentence,
        heading: None,
        centrality: 0.5,
        keywords: 0,
    };
    for (text, expected) in [
        ("Filter bank F7 bag filters DP 310 Pa (change at 250 Pa)", 1.0),
        ("pre-charge: 2.8 bar measured, design 3.5 bar", 1.0),
        ("Discharge 27.8 bar (normal 19 bar)", 1.0),
        ("Changed the filters, DP now 120 Pa", 0.0),
    ] {
        assert_eq!(salience::features(text, &cx)[comparison], expected, "{text}");
    }
}

#[test]
fn the_same_note_ranks_the_same_every_time() {
    // Each ranking builds its term maps afresh, with another hash order: the scores must not
    // depend on it, or units that score alike could swap places from one run to the next.
    for case in fieldbrief_core::eval::parse_set(include_str!("../../../assets/eval/set.jsonl"))
        .unwrap()
        .iter()
        .take(8)
    {
        let seg = units(&case.note);
        let first = rank(&seg, case.style);
        for _ in 0..4 {
            assert_eq!(rank(&seg, case.style), first, "{}", case.id);
        }
    }
}

#[test]
fn a_later_clause_shown_alone_names_what_its_line_is_about() {
    let note = "Block 17 case slightly swollen, warm 38 °C vs 27 °C others\n\
                Ops running CWP-1 and CWP-3 only, header pressure down to 3.1 bar\n\
                Isolated string 2, UPS running on string 1 only\n\
                Walked the whole plant room with the duty engineer BF-2, nothing else found\n\
                Condenser on roof: fan 1 of 3 not running, EC fan shows error code E5 on the fan itself";
    let seg = units(note);
    let unit = |text: &str| {
        seg.units.iter().position(|u| u.text == text).unwrap_or_else(|| {
            panic!("{text:?} not among {:?}", seg.units.iter().map(|u| &u.text).collect::<Vec<_>>())
        })
    };
    assert_eq!(subject(&seg, unit("warm 38 °C vs 27 °C others")).as_deref(), Some("Block 17"));
    assert_eq!(
        subject(&seg, unit("EC fan shows error code E5 on the fan itself")).as_deref(),
        Some("fan 1")
    );
    // A line's first clause says it itself.
    assert_eq!(subject(&seg, unit("Block 17 case slightly swollen")), None);
    // The header is neither pump's.
    assert_eq!(subject(&seg, unit("header pressure down to 3.1 bar")), None);
    // A clause with a name of its own.
    assert_eq!(subject(&seg, unit("UPS running on string 1 only")), None);
    // A name this far into the line is not what it is about.
    assert_eq!(subject(&seg, unit("nothing else found")), None);

    let lines = join_clauses([
        (0, ", ", "warm 38 °C vs 27 °C others", Some("Block 17")),
        (3, "", "Isolated string 2", None),
        (3, ", ", "UPS running on string 1 only", Some("string 2")),
    ]);
    assert_eq!(
        lines,
        ["Block 17: warm 38 °C vs 27 °C others", "Isolated string 2, UPS running on string 1 only"]
    );
    // A summary shows it, within its length.
    let summary = summarize(note, &SummaryRequest::new(Style::Bullets, Some(9))).unwrap();
    assert_eq!(summary.text, "- Block 17: warm 38 °C vs 27 °C others");
    let summary = summarize(note, &SummaryRequest::new(Style::Bullets, Some(12))).unwrap();
    assert_eq!(summary.text, "- fan 1: EC fan shows error code E5 on the fan itself");
}
