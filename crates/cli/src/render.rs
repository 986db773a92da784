//! Output: human-readable by default, one JSON object with `--json`, CSV where asked.
//! Summaries go to stdout and everything about them to stderr, so `> summary.md` captures
//! just the summary.

use fieldbrief_core::ledger::Report;
use fieldbrief_pipeline::{StatusReport, SummaryReport};
use fieldbrief_store::{NoteListItem, NoteRecord, SearchHit};
use serde::Serialize;
use std::io::Write;

fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub fn summary(r: &SummaryReport, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(r);
    }
    for notice in &r.document.notices {
        eprintln!("note: {}: {notice}", r.document.name);
    }
    if let Some(text) = &r.summary {
        println!("{text}");
    }
    let why = r.reasons.iter().map(|x| x.detail.as_str()).collect::<Vec<_>>().join("; ");
    if r.dry_run {
        eprintln!("\nwould route {} ({} words, ~{} tokens) to: {}", r.document.name, r.document.words, r.tokens.input, r.route);
        eprintln!("why: {why}");
        eprintln!("(dry run: nothing was saved, summarized or sent)");
        return Ok(());
    }
    let quality = match &r.quality {
        Some(q) if q.passed => "quality checks passed".to_string(),
        Some(q) => format!(
            "quality checks FAILED: {}",
            q.checks.iter().filter(|c| !c.passed).map(|c| format!("{} ({})", c.name, c.detail)).collect::<Vec<_>>().join(", ")
        ),
        None => String::new(),
    };
    eprintln!(
        "\n— {} · {} of {} words · {:.0} ms · {} · saved as note {}",
        r.route,
        fieldbrief_core::quality::summary_words(r.summary.as_deref().unwrap_or("")),
        r.document.words,
        r.timings_ms.total,
        quality,
        r.note_id.map(|i| i.to_string()).unwrap_or_default(),
    );
    eprintln!("  why: {why}");
    Ok(())
}

pub fn history(items: &[NoteListItem], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "notes": items }));
    }
    if items.is_empty() {
        println!("No notes yet. Summarize one with: fieldbrief summarize NOTE.md");
        return Ok(());
    }
    println!("{:>5}  {:<16}  {:>6}  {:>9}  TITLE", "ID", "SAVED (UTC)", "WORDS", "SUMMARIES");
    for n in items {
        println!("{:>5}  {:<16}  {:>6}  {:>9}  {}", n.id, short_time(&n.created_at), n.words, n.summaries, n.title);
    }
    Ok(())
}

pub fn search(query: &str, hits: &[SearchHit], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "query": query, "hits": hits }));
    }
    if hits.is_empty() {
        println!("No notes match {query:?}.");
        return Ok(());
    }
    for h in hits {
        println!("{:>5}  {}  {}  (in {})", h.note_id, short_time(&h.created_at), h.title, h.matched_in);
        println!("       {}", h.snippet.replace('\n', " "));
    }
    Ok(())
}

pub fn note(n: &NoteRecord, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(n);
    }
    println!("Note {} — {}", n.id, n.title);
    println!("saved {} · {} {} · {} · {}", short_time(&n.created_at), n.source_kind, n.source_name, n.encoding, human_bytes(n.original_bytes));
    for notice in &n.notices {
        println!("note: {notice}");
    }
    println!("\n{}\n", n.text);
    if n.summaries.is_empty() {
        println!("(no summary yet — the request may have been interrupted; summarize it again)");
    }
    for s in &n.summaries {
        let model = s.model.as_ref().map(|m| format!("{}@{}", m.id, m.version)).unwrap_or_else(|| s.engine.clone());
        println!("── summary {} · {} · {} · {} · {}", s.id, short_time(&s.created_at), s.style, s.route, model);
        println!("{}\n", s.text);
    }
    Ok(())
}

pub fn ledger(r: &Report, as_json: bool, as_csv: bool) -> anyhow::Result<()> {
    if as_json {
        return json(r);
    }
    if as_csv {
        println!("route,model,requests,succeeded,failed,success_rate,latency_p50_ms,latency_p95_ms,output_tokens");
        for row in &r.rows {
            println!(
                "{},{},{},{},{},{:.4},{:.1},{:.1},{}",
                csv(&row.route), csv(&row.model), row.requests, row.succeeded, row.failed, row.success_rate,
                row.latency_p50_ms, row.latency_p95_ms, row.output_tokens
            );
        }
        return Ok(());
    }
    let since = r.since.as_deref().map(|s| format!(" since {s}")).unwrap_or_default();
    println!("{} requests{since}, {} succeeded", r.requests, r.succeeded);
    if r.rows.is_empty() {
        return Ok(());
    }
    println!("\n{:<14} {:<22} {:>8} {:>8} {:>7} {:>9} {:>9}", "ROUTE", "MODEL", "REQUESTS", "SUCCESS", "FAILED", "P50 MS", "P95 MS");
    for row in &r.rows {
        println!(
            "{:<14} {:<22} {:>8} {:>7.1}% {:>7} {:>9.1} {:>9.1}",
            row.route, row.model, row.requests, row.success_rate * 100.0, row.failed, row.latency_p50_ms, row.latency_p95_ms
        );
    }
    Ok(())
}

pub fn status(s: &StatusReport, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(s);
    }
    println!("fieldbrief {}", s.version);
    println!("data:         {}", s.home.display());
    println!("database:     {} (schema {})", s.database.display(), s.schema_version);
    println!("history:      {} notes, {} summaries, {} requests", s.counts.notes, s.counts.summaries, s.counts.requests);
    println!("engine:       {} · available: {}", s.engine.backend, s.engine.available.join(", "));
    println!(
        "active model: {}",
        s.active_model.as_ref().map(|m| format!("{}@{}", m.id, m.version)).unwrap_or_else(|| "none (extractive summaries only)".into())
    );
    let cloud = if s.cloud.enabled {
        format!("enabled · {}", s.cloud.endpoint.as_deref().unwrap_or("no endpoint configured"))
    } else {
        "off (nothing leaves this device)".into()
    };
    println!("cloud:        {cloud}");
    println!("connectivity: {}", s.cloud.connectivity);
    Ok(())
}

fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.to_string() }
}

/// "2026-11-21T10:02:33.123Z" → "2026-11-21 10:02".
fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).map(|s| s.replacen('T', " ", 1)).unwrap_or_else(|| rfc3339.to_string())
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}
