//! The evaluation harness's scoring: plain functions over a summary, its reference and the
//! key facts it must keep, and the comparison of a run against a saved baseline. The pipeline
//! produces the summaries; this decides what they are worth.
//!
//! - **ROUGE-L** (F1 of the longest common subsequence of lower-cased words): how much of the
//!   reference's wording, in order, the summary has. Cheap, standard, and blind to meaning, so
//!   it is read together with…
//! - **key-fact recall**: the share of the case's key facts (measurements, part numbers, codes,
//!   dates) found verbatim in the summary, ignoring case and runs of spaces. A summary that
//!   drops "E-104" is wrong however fluent it reads.
//! - **length compliance**: the summary keeps to the word budget.
//! - **invented figures**: numbers, codes and dates in the summary that are not in the note.
//! - **compression**: the summary's words over the note's (a summary condenses).
//! - **clean ending**: the summary ends at a complete bullet or sentence.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One line of an evaluation set (`SET.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub style: crate::Style,
    /// The length budget; when absent, the product's default for this note
    /// ([`crate::Style::target_words`]), as a technician who sets no length gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_words: Option<usize>,
    pub note: String,
    pub reference: String,
    pub key_facts: Vec<String>,
}

/// Reads a JSONL set; the error names the line and what is wrong with it.
pub fn parse_set(text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let case: Case = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if case.note.trim().is_empty() || case.reference.trim().is_empty() {
            return Err(format!(
                "line {}: case {:?} has an empty note or reference",
                i + 1,
                case.id
            ));
        }
        if case.max_words == Some(0) {
            return Err(format!(
                "line {}: case {:?}: max_words must be at least 1",
                i + 1,
                case.id
            ));
        }
        if cases.iter().any(|c| c.id == case.id) {
            return Err(format!("line {}: duplicate case id {:?}", i + 1, case.id));
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err("the set has no cases".into());
    }
    Ok(cases)
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '/'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// ROUGE-L F1 between `summary` and `reference`, 0–1.
pub fn rouge_l(summary: &str, reference: &str) -> f64 {
    let (a, b) = (tokens(summary), tokens(reference));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    // LCS by dynamic programming over one row.
    let mut row = vec![0usize; b.len() + 1];
    for x in &a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { row[j + 1].max(row[j]) };
            diagonal = above;
        }
    }
    let lcs = row[b.len()] as f64;
    let (p, r) = (lcs / a.len() as f64, lcs / b.len() as f64);
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

fn folded(text: &str) -> Vec<char> {
    crate::normalize::canonical(text).chars().flat_map(char::to_lowercase).collect()
}

/// The key facts found in the summary: case-insensitive, with or without spaces ("+2.75%" is
/// the note's "+2.75 %", "12V" its "12 V"), and bounded — the figure is not part of a longer
/// one ("3 mA" is not in "12.33 mA", "E1" not in "E12").
pub fn facts_kept<'a>(summary: &str, facts: &'a [String]) -> Vec<&'a str> {
    let s = folded(summary);
    facts
        .iter()
        .filter(|f| {
            let f: Vec<char> = folded(f).into_iter().filter(|c| !c.is_whitespace()).collect();
            (0..s.len()).any(|start| matches_at(&s, start, &f))
        })
        .map(String::as_str)
        .collect()
}

/// Whether `fact` (without spaces) is written in `text` from `start` on, spaces allowed
/// between its characters, and not glued to letters or digits (or a decimal point) on either
/// side.
fn matches_at(text: &[char], start: usize, fact: &[char]) -> bool {
    let Some((&first, _)) = fact.split_first() else { return false };
    let glued = |c: char| c.is_alphanumeric() || c == '.';
    if text[start] != first || (first.is_alphanumeric() && start > 0 && glued(text[start - 1])) {
        return false;
    }
    let mut i = start + 1;
    for &want in &fact[1..] {
        while i < text.len() && text[i].is_whitespace() {
            i += 1;
        }
        if i == text.len() || text[i] != want {
            return false;
        }
        i += 1;
    }
    let last = fact[fact.len() - 1];
    !(last.is_alphanumeric() && i < text.len() && text[i].is_alphanumeric())
}

/// Scores of one summary.
impl Case {
    /// The case's length budget in words.
    pub fn target_words(&self) -> usize {
        self.max_words.unwrap_or_else(|| self.style.target_words_for(&self.note))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub rouge_l: f64,
    pub key_fact_recall: f64,
    pub missing_facts: Vec<String>,
    pub words: usize,
    pub within_length: bool,
    /// Figures and codes of the summary that are not in the note.
    #[serde(default)]
    pub invented: Vec<String>,
    /// The summary's words over the note's.
    #[serde(default)]
    pub compression: f64,
    #[serde(default)]
    pub clean_ending: bool,
}

pub fn score(summary: &str, case: &Case) -> Score {
    let kept = facts_kept(summary, &case.key_facts);
    let words = summary.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    Score {
        rouge_l: rouge_l(summary, &case.reference),
        key_fact_recall: if case.key_facts.is_empty() {
            1.0
        } else {
            kept.len() as f64 / case.key_facts.len() as f64
        },
        missing_facts: case
            .key_facts
            .iter()
            .filter(|f| !kept.contains(&f.as_str()))
            .cloned()
            .collect(),
        words,
        within_length: words <= case.target_words(),
        invented: crate::quality::invented_facts(&case.note, summary),
        compression: crate::quality::summary_words(summary) as f64
            / crate::quality::summary_words(&case.note).max(1) as f64,
        clean_ending: crate::ending::check(summary).is_ok(),
    }
}

/// One case through one route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub case: String,
    pub route: String,
    /// `None` when the route could not summarize it (the error says why).
    pub score: Option<Score>,
    pub error: Option<String>,
    pub latency_ms: f64,
    pub cost: f64,
    pub quality_passed: Option<bool>,
    /// What finally produced the summary on this route: for `local`, `local`, `local-retry`
    /// (the retry after a failed quality gate) or `extractive` (both tries failed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    /// The length budget the case ran with.
    #[serde(default)]
    pub target_words: usize,
    /// The summary itself, to read what the scores describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A route's averages over the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteSummary {
    pub route: String,
    pub cases: usize,
    pub failed: usize,
    pub rouge_l: f64,
    pub key_fact_recall: f64,
    pub length_compliance: f64,
    pub quality_pass_rate: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub cost: f64,
    pub cost_per_case: f64,
    /// Figures and codes in the route's summaries that are not in their notes, in all.
    #[serde(default)]
    pub invented_figures: usize,
    /// The median of summary words over note words.
    #[serde(default)]
    pub compression_median: f64,
    /// The share of summaries that end at a complete bullet or sentence.
    #[serde(default)]
    pub clean_endings: f64,
    /// The share of cases the route served itself (for `local`: not the extractive stand-in).
    #[serde(default)]
    pub served_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub set: String,
    pub cases: usize,
    pub routes: Vec<RouteSummary>,
    /// Routes asked for that could not run at all, and why.
    pub skipped: BTreeMap<String, String>,
    pub runs: Vec<Run>,
}

pub fn summarize_runs(
    set: &str,
    cases: usize,
    runs: Vec<Run>,
    skipped: BTreeMap<String, String>,
) -> EvalReport {
    let mut by_route: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in &runs {
        by_route.entry(r.route.as_str()).or_default().push(r);
    }
    let routes = by_route
        .into_iter()
        .map(|(route, rs)| {
            let scored: Vec<&Score> = rs.iter().filter_map(|r| r.score.as_ref()).collect();
            let mean = |f: &dyn Fn(&Score) -> f64| {
                if scored.is_empty() {
                    0.0
                } else {
                    scored.iter().map(|s| f(s)).sum::<f64>() / rs.len() as f64
                }
            };
            let latencies: Vec<f64> =
                rs.iter().filter(|r| r.score.is_some()).map(|r| r.latency_ms).collect();
            let cost: f64 = rs.iter().map(|r| r.cost).sum();
            RouteSummary {
                route: route.to_string(),
                cases: rs.len(),
                failed: rs.iter().filter(|r| r.score.is_none()).count(),
                // A failed case scores zero: a route that cannot summarize is not excused.
                rouge_l: mean(&|s| s.rouge_l),
                key_fact_recall: mean(&|s| s.key_fact_recall),
                length_compliance: mean(&|s| if s.within_length { 1.0 } else { 0.0 }),
                invented_figures: scored.iter().map(|s| s.invented.len()).sum(),
                compression_median: {
                    let c: Vec<f64> = scored.iter().map(|s| s.compression).collect();
                    crate::ledger::percentile(&c, 50.0)
                },
                clean_endings: mean(&|s| if s.clean_ending { 1.0 } else { 0.0 }),
                served_share: rs
                    .iter()
                    .filter(|r| {
                        r.score.is_some()
                            && r.served_by.as_deref().is_none_or(|b| b.starts_with(route))
                    })
                    .count() as f64
                    / rs.len() as f64,
                quality_pass_rate: rs.iter().filter(|r| r.quality_passed == Some(true)).count()
                    as f64
                    / rs.len() as f64,
                latency_p50_ms: crate::ledger::percentile(&latencies, 50.0),
                latency_p95_ms: crate::ledger::percentile(&latencies, 95.0),
                cost,
                cost_per_case: cost / rs.len() as f64,
            }
        })
        .collect();
    EvalReport { set: set.to_string(), cases, routes, skipped, runs }
}

/// A score that fell by more than the tolerance since the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    pub route: String,
    pub metric: &'static str,
    pub baseline: f64,
    pub now: f64,
}

/// Routes in both reports whose ROUGE-L, key-fact recall or length compliance dropped by more
/// than `tolerance` (absolute); a baseline route that did not run now (`route_not_run`), and a
/// set with another number of cases (`cases`: the runs are not comparable), count too.
pub fn regressions(baseline: &EvalReport, now: &EvalReport, tolerance: f64) -> Vec<Regression> {
    let mut out = Vec::new();
    if baseline.cases != now.cases {
        out.push(Regression {
            route: "*".into(),
            metric: "cases",
            baseline: baseline.cases as f64,
            now: now.cases as f64,
        });
    }
    for b in &baseline.routes {
        if !now.routes.iter().any(|n| n.route == b.route) {
            out.push(Regression {
                route: b.route.clone(),
                metric: "route_not_run",
                baseline: b.cases as f64,
                now: 0.0,
            });
        }
    }
    for n in &now.routes {
        let Some(b) = baseline.routes.iter().find(|b| b.route == n.route) else { continue };
        for (metric, was, is) in [
            ("rouge_l", b.rouge_l, n.rouge_l),
            ("key_fact_recall", b.key_fact_recall, n.key_fact_recall),
            ("length_compliance", b.length_compliance, n.length_compliance),
        ] {
            if was - is > tolerance {
                out.push(Regression { route: n.route.clone(), metric, baseline: was, now: is });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(reference: &str, facts: &[&str], max_words: usize) -> Case {
        Case {
            id: "c".into(),
            title: String::new(),
            style: crate::Style::Bullets,
            max_words: Some(max_words),
            note: "n".into(),
            reference: reference.into(),
            key_facts: facts.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn rouge_l_by_hand() {
        assert_eq!(rouge_l("the pump was replaced", "the pump was replaced"), 1.0);
        assert_eq!(rouge_l("", "x"), 0.0);
        assert_eq!(rouge_l("alpha beta", "gamma delta"), 0.0);
        // LCS("a b c d", "a c e") = "a c": P = 2/4, R = 2/3, F1 = 4/7.
        assert!((rouge_l("a b c d", "a c e") - 4.0 / 7.0).abs() < 1e-12);
        // Case and punctuation do not count; order does.
        assert_eq!(rouge_l("Bearing, replaced.", "bearing replaced"), 1.0);
        assert!(rouge_l("replaced bearing", "bearing replaced") < 1.0);
        // Numbers and part numbers stay whole tokens.
        assert_eq!(tokens("P/N 6309-2Z-C3 at 4.2 bar."), ["p/n", "6309-2z-c3", "at", "4.2", "bar"]);
    }

    #[test]
    fn key_facts_are_found_verbatim_ignoring_case_and_spacing() {
        let c = case("ref", &["E-104", "4.2 bar", "S/N KSB-4471-22B"], 10);
        let s = score("- Alarm e-104 cleared\n- Pressure 4.2  bar", &c);
        assert!((s.key_fact_recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.missing_facts, ["S/N KSB-4471-22B"]);
        assert_eq!(s.words, 6, "bullet marks are not words");
        assert!(s.within_length);
        assert!(
            !score("one two three four five six seven eight nine ten eleven", &c).within_length
        );
        // Verbatim: a decimal comma is another fact.
        assert_eq!(score("4,2 bar", &c).key_fact_recall, 0.0);
    }

    #[test]
    fn a_key_fact_is_found_with_or_without_spaces_but_not_inside_a_longer_figure() {
        let facts: Vec<String> =
            ["+2.75 %", "3 mA", "E1", "12 V", "0.2 bar"].iter().map(|f| f.to_string()).collect();
        let kept = |summary: &str| facts_kept(summary, &facts);
        assert_eq!(kept("Error +1.3% to +2.75% of span"), ["+2.75 %"]);
        assert_eq!(kept("supply 12V, E1 (reset)"), ["E1", "12 V"]);
        assert_eq!(kept("Loop 3 mA."), ["3 mA"]);
        // A longer figure is another one.
        assert!(kept("16 bar 12.33 mA, alarm E12, 112 V, DP 10.2 bar, +12.75 %").is_empty());
        assert!(kept("3 mAh, E1x").is_empty());
    }

    #[test]
    fn route_averages_count_failures_as_zero_and_regressions_are_found() {
        let run = |route: &str, r: Option<f64>, ms: f64| Run {
            case: "c".into(),
            route: route.into(),
            score: r.map(|r| Score {
                rouge_l: r,
                key_fact_recall: r,
                missing_facts: vec![],
                words: 5,
                within_length: true,
                invented: vec![],
                compression: 0.3,
                clean_ending: true,
            }),
            error: r.is_none().then(|| "engine failed".into()),
            latency_ms: ms,
            cost: 0.01,
            quality_passed: Some(r.is_some()),
            served_by: None,
            target_words: 40,
            summary: None,
        };
        let report = summarize_runs(
            "set",
            3,
            vec![
                run("local", Some(0.6), 100.0),
                run("local", Some(0.3), 300.0),
                run("local", None, 1.0),
            ],
            BTreeMap::new(),
        );
        let local = &report.routes[0];
        assert_eq!((local.cases, local.failed), (3, 1));
        assert!((local.rouge_l - 0.3).abs() < 1e-12, "(0.6 + 0.3 + 0) / 3");
        assert!((local.length_compliance - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((local.latency_p50_ms, local.latency_p95_ms), (100.0, 300.0));
        assert_eq!(
            (local.invented_figures, local.compression_median, local.clean_endings),
            (0, 0.3, 2.0 / 3.0)
        );
        assert!((local.cost_per_case - 0.01).abs() < 1e-12);

        let better = summarize_runs("set", 3, vec![run("local", Some(0.9), 1.0)], BTreeMap::new());
        assert!(regressions(&report, &better, 0.02).is_empty());
        let found = regressions(&better, &report, 0.02);
        assert_eq!(
            found.iter().map(|r| r.metric).collect::<Vec<_>>(),
            ["rouge_l", "key_fact_recall", "length_compliance"]
        );
        // A route that did not run, or another set, is not a pass.
        let skipped =
            summarize_runs("set", 3, vec![run("extractive", Some(0.9), 1.0)], BTreeMap::new());
        assert_eq!(
            regressions(&better, &skipped, 0.02).iter().map(|r| r.metric).collect::<Vec<_>>(),
            ["route_not_run"]
        );
        let smaller = summarize_runs("set", 2, vec![run("local", Some(0.9), 1.0)], BTreeMap::new());
        assert_eq!(regressions(&better, &smaller, 0.02)[0].metric, "cases");
    }

    #[test]
    fn a_bad_set_says_which_line() {
        assert!(parse_set("").unwrap_err().contains("no cases"));
        let good = r#"{"id":"a","max_words":50,"note":"n","reference":"r","key_facts":[]}"#;
        assert_eq!(parse_set(good).unwrap().len(), 1);
        let err = parse_set(&format!("{good}\n{{\"id\":\"b\"}}")).unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let err = parse_set(&format!("{good}\n{good}")).unwrap_err();
        assert!(err.contains("duplicate"), "{err}");
    }
}
