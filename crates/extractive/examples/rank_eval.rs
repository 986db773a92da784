//! Key-fact recall of the extractive selection on evaluation sets, for tuning the ranking
//! without a model: `cargo run -p fieldbrief-extractive --example rank_eval -- SET.jsonl…
//! [--ratio R] [-v] [--features] [--facts]`.
//!
//! With `--ratio` every note gets R × its words; else the case's own length (the product's
//! default when the case sets none). `-v` prints each case's misses and where their lines
//! rank; `--features` prints the salience features of every unit with its label (`FEAT` rows,
//! for `scripts/fit-salience`), each case's style, length and number of key facts (`CASE`) and
//! each unit's text, the key facts it holds, its extracted facts, the unit its note line starts
//! with and its heading (`UNIT`), for analysis
//! scripts that simulate the selection; `--facts` every fact of every unit and whether it is a
//! key fact.

use fieldbrief_core::engine::SummaryRequest;
use fieldbrief_core::eval::{self, Case};
use fieldbrief_core::quality::summary_words;

fn main() -> Result<(), String> {
    let mut files = Vec::new();
    let mut ratio: Option<f64> = None;
    let mut verbose = false;
    let mut dump = false;
    let mut features = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ratio" => ratio = args.next().and_then(|r| r.parse().ok()),
            "-v" => verbose = true,
            "--facts" => dump = true,
            "--features" => features = true,
            _ => files.push(a),
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
        let cases: Vec<Case> = eval::parse_set(&text).map_err(|e| format!("{file}: {e}"))?;
        let (mut recall, mut ratios) = (0.0, Vec::new());
        for case in &cases {
            if features {
                println!(
                    "CASE\t{}\t{}\t{}\t{}",
                    case.id,
                    case.style.as_str(),
                    case.target_words(),
                    case.key_facts.len()
                );
                dump_features(case);
                continue;
            }
            if dump {
                dump_facts(case);
                continue;
            }
            let words = summary_words(&case.note);
            let target = match ratio {
                Some(r) => (words as f64 * r) as usize,
                None => case.target_words(),
            };
            let request = SummaryRequest {
                style: case.style,
                max_words: target,
                attempt: Default::default(),
            };
            let summary = fieldbrief_extractive::summarize(&case.note, &request)
                .map_err(|e| format!("{file}: {}: {e}", case.id))?;
            let kept = eval::facts_kept(&summary.text, &case.key_facts);
            let r = kept.len() as f64 / case.key_facts.len() as f64;
            recall += r;
            ratios.push(summary_words(&summary.text) as f64 / words as f64);
            if verbose {
                let missed: Vec<&String> =
                    case.key_facts.iter().filter(|f| !kept.contains(&f.as_str())).collect();
                println!("{:40} {:.2} missed {:?}", case.id, r, missed);
                if !missed.is_empty() {
                    println!("{}", summary.text);
                    explain(case, &summary.text);
                    println!();
                }
            }
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "{file}: recall {:.3}, median ratio {:.2}",
            recall / cases.len() as f64,
            ratios.get(ratios.len() / 2).copied().unwrap_or(0.0)
        );
    }
    Ok(())
}

/// For analysis: every fact of every unit, as TSV (set, case, unit, kind, key?, unit text).
fn dump_facts(case: &Case) {
    let seg = fieldbrief_extractive::units(&case.note);
    for (i, unit) in seg.content_units() {
        for f in fieldbrief_core::facts::extract(&unit.text) {
            let key =
                case.key_facts.iter().any(|k| k.contains(&f.text) || f.text.contains(k.as_str()));
            println!("FACT\t{}\t{}\t{:?}\t{}\t{}\t{}", case.id, i, f.kind, key, f.text, unit.text);
        }
    }
}

/// For fitting the salience weights: one TSV row per unit (case, unit, holds a key fact,
/// key facts held, words, features…).
fn dump_features(case: &Case) {
    let seg = fieldbrief_extractive::units(&case.note);
    for (i, x) in fieldbrief_extractive::unit_features(&seg) {
        let text = &seg.units[i].text;
        let held: Vec<String> = (0..case.key_facts.len())
            .filter(|&k| text.contains(case.key_facts[k].as_str()))
            .map(|k| k.to_string())
            .collect();
        let keys = held.len();
        // For analysis scripts (the fitting script reads only FEAT rows): which key facts
        // the unit holds, and its text.
        let facts: Vec<String> = fieldbrief_core::facts::extract(text)
            .into_iter()
            .map(|f| format!("{:?}={}", f.kind, f.text))
            .collect();
        println!(
            "UNIT\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            case.id,
            i,
            held.join(","),
            text.replace('\t', " "),
            facts.join("|"),
            fieldbrief_extractive::line_start(&seg, i),
            seg.units[i].heading.map(|h| seg.units[h].text.replace('\t', " ")).unwrap_or_default()
        );
        let xs: Vec<String> = x.iter().map(|v| format!("{v:.4}")).collect();
        println!(
            "FEAT\t{}\t{}\t{}\t{}\t{}\t{}",
            case.id,
            i,
            (keys > 0) as u8,
            keys,
            text.split_whitespace().count(),
            xs.join("\t")
        );
    }
}

/// For analysis: where each missed key fact's unit ranks.
fn explain(case: &Case, summary_text: &str) {
    let seg = fieldbrief_extractive::units(&case.note);
    let ranked = fieldbrief_extractive::rank(&seg, case.style);
    let kept = eval::facts_kept(summary_text, &case.key_facts);
    for k in case.key_facts.iter().filter(|k| !kept.contains(&k.as_str())) {
        for (pos, r) in ranked.iter().enumerate() {
            let text = &seg.units[r.unit].text;
            if text.contains(k.as_str()) {
                println!("  MISS {k:?}: rank {pos}/{} score {:.3} | {text}", ranked.len(), r.score);
            }
        }
    }
}
