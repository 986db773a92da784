//! Output: human-readable by default, one JSON object with `--json`, CSV where asked.
//! Summaries go to stdout and everything about them to stderr, so `> summary.md` captures
//! just the summary.

use fieldbrief_core::ledger::Report;
use fieldbrief_pipeline::{StatusReport, SummaryReport};
use fieldbrief_store::{NoteListItem, NoteRecord, SearchHit};
use serde::Serialize;
use std::io::Write;

/// `println!` that returns write errors (a closed pipe) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub fn summary(r: &SummaryReport, as_json: bool, already_streamed: bool) -> anyhow::Result<()> {
    if as_json {
        return json(r);
    }
    for notice in &r.document.notices {
        eprintln!("note: {}: {notice}", r.document.name);
    }
    if let (Some(text), false) = (&r.summary, already_streamed) {
        out!("{text}");
    }
    let why = r
        .reasons
        .iter()
        .map(|x| format!("{} ({})", x.detail, x.code.as_str()))
        .collect::<Vec<_>>()
        .join("; ");
    let route = match r.interim_route {
        Some(now) => format!("{} ({} now, the cloud later)", r.route, now),
        None => r.route.to_string(),
    };
    if r.dry_run {
        eprintln!(
            "\nwould route {} ({} words, ~{} tokens) to: {route}",
            r.document.name, r.document.words, r.tokens.input
        );
        eprintln!("why: {why}");
        if let Some(similar) = &r.similar {
            eprintln!(
                "similar: \"{}\" ({:.0} % alike) was summarized on {}",
                similar.note_title,
                similar.similarity * 100.0,
                similar.summarized_at.get(..10).unwrap_or(&similar.summarized_at)
            );
        }
        if let Some(p) = &r.preview {
            let when = match p.when {
                fieldbrief_pipeline::SendWhen::Now => "now",
                fieldbrief_pipeline::SendWhen::WhenOnline => "when the laptop is online",
                fieldbrief_pipeline::SendWhen::IfQualityGateFails => {
                    "only if the summary made on this laptop fails the quality checks"
                }
            };
            eprintln!(
                "\nwould send {} bytes to {} (model {}) {when}, exactly:",
                p.bytes, p.endpoint, p.model
            );
            for m in &p.messages {
                out!("--- {} ---\n{}", m.role, m.content);
            }
            let kinds: Vec<String> =
                p.redactions.iter().map(|x| format!("{} ({})", x.placeholder, x.kind)).collect();
            eprintln!(
                "redacted: {}",
                if kinds.is_empty() { "nothing found to redact".into() } else { kinds.join(", ") }
            );
        }
        eprintln!("(dry run: nothing was saved, summarized or sent)");
        return Ok(());
    }
    let quality = match &r.quality {
        Some(q) if q.passed => "quality checks passed".to_string(),
        Some(q) => format!(
            "quality checks FAILED: {}",
            q.checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{} ({})", c.name, c.detail))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    eprintln!(
        "\n— {} · {} of {} words · {:.0} ms · {} · saved as note {}",
        route,
        fieldbrief_core::quality::summary_words(r.summary.as_deref().unwrap_or("")),
        r.document.words,
        r.timings_ms.total,
        quality,
        r.note_id.map(|i| i.to_string()).unwrap_or_default(),
    );
    eprintln!("  why: {why}");
    if let Some(similar) = &r.similar {
        eprintln!(
            "  similar: a very similar note (\"{}\", {:.0} % alike) was summarized on {}; see `fieldbrief history show {}`",
            similar.note_title,
            similar.similarity * 100.0,
            similar.summarized_at.get(..10).unwrap_or(&similar.summarized_at),
            similar.note_id.map(|i| i.to_string()).unwrap_or_else(|| "?".into())
        );
    }
    if let Some(m) = &r.model {
        let mut parts = if r.chunks > 1 {
            format!(" · summarized in {} parts", r.chunks)
        } else {
            String::new()
        };
        if let Some(l) = r.lines {
            parts.push_str(&format!(" · rewrote {} of {} lines", l.written, l.written + l.kept));
        }
        let t = &r.timings_ms;
        if t.drafted > 0 {
            parts.push_str(&format!(" · {} of {} guessed tokens right", t.accepted, t.drafted));
        }
        eprintln!(
            "  model: {}@{} · {} prompt tokens, {} generated{parts}",
            m.id, m.version, r.tokens.input, r.tokens.output
        );
    }
    Ok(())
}

pub fn models(models: &[fieldbrief_pipeline::ModelEntry], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "models": models }));
    }
    if models.is_empty() {
        out!(
            "No models. Download one with `fieldbrief models pull ID` (see `fieldbrief models catalog`),"
        );
        out!("or import a GGUF file: fieldbrief models import MODEL.gguf");
        return Ok(());
    }
    let mut rollbacks_shown = std::collections::BTreeSet::new();
    for m in models {
        let mark = if m.active { "*" } else { " " };
        let detail = match (&m.info, &m.problem) {
            (Some(i), _) => format!(
                "{} · {:.2}B params · context {} · {}",
                i.quantization,
                i.parameters as f64 / 1e9,
                i.context_length,
                human_bytes(m.size_bytes)
            ),
            (None, Some(p)) => format!("INVALID: {p}"),
            (None, None) => String::new(),
        };
        let state = if m.current { "current" } else { "kept for rollback" };
        let q = if m.quarantined { " · QUARANTINED (crashed the engine repeatedly)" } else { "" };
        out!("{mark} {}@{}  {detail} · {} · {state}{q}", m.id, m.version, m.trust.label());
        if let Some(r) = &m.rollback
            && rollbacks_shown.insert(m.id.clone())
        {
            out!(
                "    rolled back from {} to {} at {}: {}",
                r.from_version,
                r.to_version,
                r.at,
                r.reason
            );
        }
    }
    Ok(())
}

pub fn catalog(c: &fieldbrief_pipeline::CatalogView, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(c);
    }
    out!(
        "{}{}",
        c.source,
        c.signed_by.as_ref().map(|p| format!(" (signed by {p})")).unwrap_or_default()
    );
    if let Some(e) = &c.error {
        out!("warning: {e}");
    }
    for i in &c.entries {
        let e = &i.entry;
        let state = match (&i.current, i.update_available) {
            (Some(cur), true) => format!("installed {cur}, UPDATE AVAILABLE"),
            (Some(cur), false) => format!("installed {cur}"),
            (None, _) => "not installed".into(),
        };
        let tofu =
            if i.trust_on_first_use { " · sha256 not published: trust on first use" } else { "" };
        let ram = if !i.incompatible.is_empty() {
            format!(" · WILL NOT RUN HERE: {}", i.incompatible.join("; "))
        } else if i.fits_ram {
            String::new()
        } else {
            format!(" · needs {} GB RAM, more than this laptop has", e.min_ram_gb)
        };
        // Staged, for other cohorts, halted or held; "every laptop" goes unsaid.
        let ram = if i.rollout != "offered to every laptop" {
            format!("{ram} · {}", i.rollout)
        } else {
            ram
        };
        let paused = i
            .download
            .as_ref()
            .map(|d| match d.version == e.version {
                true => format!(" · paused download at {}", human_bytes(d.downloaded)),
                false => format!(" · paused download of version {} at {} (`models pull {}@{} --discard` deletes it)", d.version, human_bytes(d.downloaded), d.id, d.version),
            })
            .unwrap_or_default();
        out!(
            "{}@{}  {} · {} · context {} · {} · {state}{tofu}{ram}{paused}",
            e.id,
            e.version,
            human_bytes(e.size),
            e.quantization,
            e.context_length,
            e.licence
        );
        if !e.description.is_empty() {
            out!("    {}", e.description);
        }
    }
    Ok(())
}

pub fn verify(reports: &[fieldbrief_pipeline::VerifyReport], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "models": reports }));
    }
    for r in reports {
        match &r.problem {
            None => out!("ok       {}@{}  sha256 {}", r.id, r.version, r.expected),
            Some(p) => out!("CORRUPT  {}@{}  {p}", r.id, r.version),
        }
    }
    Ok(())
}

pub fn updates(offers: &[fieldbrief_pipeline::UpdateOffer], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "updates": offers }));
    }
    if offers.is_empty() {
        out!("Every installed model is the newest version in the catalog.");
    }
    for o in offers {
        let what = if o.installed_automatically {
            "installed (the organisation's catalog asks for it)".to_string()
        } else if let (false, Some(why)) = (o.offered, &o.held_back) {
            why.clone()
        } else if let Some(why) = &o.held_back {
            format!("offered; {why}")
        } else {
            format!("offered: fieldbrief models pull {}@{}", o.id, o.available)
        };
        out!(
            "{}: {} → {} ({}) {what}",
            o.id,
            o.installed.as_deref().unwrap_or("none"),
            o.available,
            human_bytes(o.size_bytes)
        );
    }
    Ok(())
}

/// `models pull`'s progress bar on a terminal (bytes, rate, ETA); state changes otherwise.
pub struct PullBar {
    bar: Option<indicatif::ProgressBar>,
    last: Option<fieldbrief_pipeline::PullState>,
}

impl PullBar {
    pub fn new(interactive: bool) -> PullBar {
        let bar = interactive.then(|| {
            let bar = indicatif::ProgressBar::new(0);
            let style = indicatif::ProgressStyle::with_template(
                "{msg:12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        PullBar { bar, last: None }
    }

    pub fn update(&mut self, p: &fieldbrief_pipeline::PullProgress) {
        use fieldbrief_pipeline::PullState as S;
        let label = match p.state {
            S::Starting => "starting",
            S::Downloading => "downloading",
            S::Retrying => "retrying",
            S::Paused => "paused",
            S::Verifying => "verifying",
            S::Testing => "smoke test",
            S::Installed => "installed",
            S::Failed => "failed",
            S::Cancelled => "cancelled",
        };
        match &self.bar {
            Some(bar) => {
                if let Some(t) = p.total {
                    bar.set_length(t);
                }
                bar.set_position(p.downloaded);
                bar.set_message(label);
                if p.state == S::Retrying
                    && let Some(m) = &p.message
                {
                    bar.println(format!(
                        "connection lost ({m}); resuming at {}",
                        human_bytes(p.downloaded)
                    ));
                }
            }
            None => {
                // A failure is the command's error line; no need to say it twice.
                if self.last != Some(p.state) && p.state != S::Failed {
                    let of = p.total.map(|t| format!(" of {}", human_bytes(t))).unwrap_or_default();
                    eprintln!(
                        "{}@{}: {label} ({}{of}){}",
                        p.id,
                        p.version,
                        human_bytes(p.downloaded),
                        p.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
                    );
                }
            }
        }
        self.last = Some(p.state);
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}

pub fn bench(b: &fieldbrief_pipeline::BenchReport, as_json: bool) -> anyhow::Result<()> {
    let s = &b.stats;
    if as_json {
        // The contract's keys at the top level, the rest beside them.
        return json(&serde_json::json!({
            "model": b.model,
            "load_ms": s.load_ms,
            "prompt_tok_s": s.prompt_tok_s,
            "gen_tok_s": s.gen_tok_s,
            "ttft_ms": s.ttft_ms,
            "peak_rss_mib": s.peak_rss_mib,
            "threads": s.threads,
            "backend": s.backend,
            "cpu_variant": s.cpu_variant,
            "prompt_tokens": s.prompt_tokens,
            "gen_tokens": s.gen_tokens,
            "gen_tok_s_without_streaming": s.gen_tok_s_silent,
            "tokens_streamed": b.tokens_streamed,
            "summary_cold_ms": b.summary_cold_ms,
            "summary_warm_ms": b.summary_warm_ms,
            "chat": b.chat,
            "note": b.note,
        }));
    }
    out!(
        "model         {}@{} ({}, {} kernels, {} threads, prompts in {} markup)",
        b.model.id,
        b.model.version,
        s.backend,
        s.cpu_variant,
        s.threads,
        b.chat
    );
    out!("load          {:.0} ms", s.load_ms);
    out!("prompt        {:.1} tokens/s ({} tokens)", s.prompt_tok_s, s.prompt_tokens);
    out!(
        "generation    {:.1} tokens/s ({} tokens, streamed through the worker protocol)",
        s.gen_tok_s,
        s.gen_tokens
    );
    out!("  same loop   {:.1} tokens/s without streaming", s.gen_tok_s_silent);
    out!("first token   {:.0} ms", s.ttft_ms);
    out!("peak RSS      {:.0} MiB (worker)", s.peak_rss_mib);
    if let Some(n) = &b.note {
        out!(
            "note          {} ({} words, summarized to at most {} words, greedy, on a fresh worker)",
            n.name,
            n.words,
            n.target_words
        );
        for p in &n.paths {
            out!(
                "  {}",
                match p.path {
                    "outlined" =>
                        "outlined (the first try: the best lines, each rewritten shorter)",
                    _ => "whole note (the retry: the note in one prompt)",
                }
            );
            for r in &p.runs {
                let how = match (r.draft, r.warm_start) {
                    (0, _) => "plain".to_string(),
                    (d, false) => format!("drafts of {d}"),
                    (d, true) => format!("drafts of {d}, warm"),
                };
                out!(
                    "    {how:<20} {:.1} s · first token {:.0} ms · {} tokens written at {:.1} tokens/s · {} of {} guesses right",
                    r.seconds,
                    r.first_token_ms,
                    r.output_tokens,
                    r.decode_tok_s,
                    r.accepted,
                    r.drafted
                );
            }
            out!(
                "    speculation  {:.2}× decode speed, {}",
                p.speedup,
                if p.identical { "same summary" } else { "DIFFERENT summary" }
            );
            out!(
                "    warm start   first token in {:.2}× the cold start's time",
                p.warm_first_token_ratio
            );
        }
    }
    out!(
        "summary       {:.0} ms cold, {:.0} ms with the prompt prefix cached",
        b.summary_cold_ms,
        b.summary_warm_ms
    );
    Ok(())
}

pub fn history(items: &[NoteListItem], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "notes": items }));
    }
    if items.is_empty() {
        out!("No notes yet. Summarize one with: fieldbrief summarize NOTE.md");
        return Ok(());
    }
    out!("{:>5}  {:<16}  {:>6}  {:>9}  TITLE", "ID", "SAVED (UTC)", "WORDS", "SUMMARIES");
    for n in items {
        out!(
            "{:>5}  {:<16}  {:>6}  {:>9}  {}",
            n.id,
            short_time(&n.created_at),
            n.words,
            n.summaries,
            n.title
        );
    }
    Ok(())
}

pub fn search(query: &str, hits: &[SearchHit], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "query": query, "hits": hits }));
    }
    if hits.is_empty() {
        out!("No notes match {query:?}.");
        return Ok(());
    }
    for h in hits {
        out!("{:>5}  {}  {}  (in {})", h.note_id, short_time(&h.created_at), h.title, h.matched_in);
        out!("       {}", h.snippet.replace('\n', " "));
    }
    Ok(())
}

pub fn note(n: &NoteRecord, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(n);
    }
    out!("Note {} — {}", n.id, n.title);
    out!(
        "saved {} · {} {} · {} · {}",
        short_time(&n.created_at),
        n.source_kind,
        n.source_name,
        n.encoding,
        human_bytes(n.original_bytes)
    );
    for notice in &n.notices {
        out!("note: {notice}");
    }
    out!("\n{}\n", n.text);
    if n.summaries.is_empty() {
        out!("(no summary yet — the request may have been interrupted; summarize it again)");
    }
    for s in &n.summaries {
        let model = s
            .model
            .as_ref()
            .map(|m| format!("{}@{}", m.id, m.version))
            .unwrap_or_else(|| s.engine.clone());
        let edited = s
            .edited_at
            .as_deref()
            .map(|at| format!(" · edited {}", short_time(at)))
            .unwrap_or_default();
        out!(
            "── summary {} · {} · {} · {} · {}{edited}",
            s.id,
            short_time(&s.created_at),
            s.style,
            s.route,
            model
        );
        out!("{}\n", s.text);
    }
    Ok(())
}

pub fn ledger(r: &Report, as_json: bool, as_csv: bool) -> anyhow::Result<()> {
    if as_json {
        return json(r);
    }
    let opt = |v: Option<f64>| v.map(|c| format!("{c:.6}")).unwrap_or_default();
    if as_csv {
        out!(
            "route,model,power_mode,device_class,requests,succeeded,failed,success_rate,fallback_rate,latency_p50_ms,latency_p95_ms,output_tokens,cost,energy_wh,cost_per_success"
        );
        for row in &r.rows {
            out!(
                "{},{},{},{},{},{},{},{:.4},{:.4},{:.1},{:.1},{},{:.6},{:.4},{}",
                csv(&row.route),
                csv(&row.model),
                csv(&row.power_mode),
                csv(&row.device_class),
                row.requests,
                row.succeeded,
                row.failed,
                row.success_rate,
                row.fallback_rate,
                row.latency_p50_ms,
                row.latency_p95_ms,
                row.output_tokens,
                row.cost,
                row.energy_wh,
                opt(row.cost_per_success)
            );
        }
        return Ok(());
    }
    let since = r.since.as_deref().map(|s| format!(" since {s}")).unwrap_or_default();
    let per = r
        .cost_per_success
        .map(|c| format!("{c:.5} per successful summary"))
        .unwrap_or_else(|| "no successful summary".into());
    out!(
        "{} requests{since}, {} succeeded · cache hits {} ({:.0} %) · cost {:.5} ({per}) · {:.3} Wh",
        r.requests,
        r.succeeded,
        r.cache_hits,
        r.cache_hit_rate * 100.0,
        r.cost,
        r.energy_wh
    );
    if r.rows.is_empty() {
        return Ok(());
    }
    out!(
        "\n{:<14} {:<22} {:<12} {:<24} {:>8} {:>8} {:>9} {:>9} {:>9} {:>12}",
        "ROUTE",
        "MODEL",
        "POWER",
        "DEVICE",
        "REQUESTS",
        "SUCCESS",
        "FALLBACK",
        "P50 MS",
        "P95 MS",
        "COST/SUCCESS"
    );
    for row in &r.rows {
        out!(
            "{:<14} {:<22} {:<12} {:<24} {:>8} {:>7.1}% {:>8.1}% {:>9.1} {:>9.1} {:>12}",
            row.route,
            row.model,
            row.power_mode,
            row.device_class,
            row.requests,
            row.success_rate * 100.0,
            row.fallback_rate * 100.0,
            row.latency_p50_ms,
            row.latency_p95_ms,
            opt(row.cost_per_success)
        );
    }
    out!("\nHybrid route trial (per device class and power mode):");
    out!(
        "{:<24} {:<12} {:>8} {:>6} {:>13} {:>12} {:>12} {:>14} {:>12}",
        "DEVICE",
        "POWER",
        "REQUESTS",
        "LOCAL",
        "LOCAL SUCCESS",
        "LOCAL P50",
        "LOCAL P95",
        "CLOUD FALLBACK",
        "COST/SUCCESS"
    );
    for t in &r.trial {
        out!(
            "{:<24} {:<12} {:>8} {:>6} {:>13} {:>12.1} {:>12.1} {:>13.1}% {:>12}",
            t.device_class,
            t.power_mode,
            t.requests,
            t.local_requests,
            t.local_success_rate
                .map(|x| format!("{:.1}%", x * 100.0))
                .unwrap_or_else(|| "-".into()),
            t.local_latency_p50_ms,
            t.local_latency_p95_ms,
            t.cloud_fallback_rate * 100.0,
            opt(t.cost_per_success)
        );
    }
    Ok(())
}

pub fn status(s: &StatusReport, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(s);
    }
    out!("fieldbrief {}", s.version);
    out!("data:         {}", s.home.display());
    out!("database:     {} (schema {})", s.database.display(), s.schema_version);
    out!(
        "history:      {} notes, {} summaries, {} requests",
        s.counts.notes,
        s.counts.summaries,
        s.counts.requests
    );
    let cpu =
        s.engine.cpu_variant.as_deref().map(|v| format!(" ({v} kernels)")).unwrap_or_default();
    out!(
        "engine:       {} on {}{cpu} · available: {}",
        s.engine.backend,
        s.engine.device,
        s.engine.available.join(", ")
    );
    out!(
        "active model: {}",
        s.active_model
            .as_ref()
            .map(|m| format!("{}@{}", m.id, m.version))
            .unwrap_or_else(|| "none (extractive summaries only)".into())
    );
    let cloud = if s.cloud.enabled {
        format!("enabled · {}", s.cloud.endpoint.as_deref().unwrap_or("no endpoint configured"))
    } else {
        "off (nothing leaves this device)".into()
    };
    out!("cloud:        {cloud}");
    if s.cloud.deferred_pending > 0 {
        out!(
            "deferred:     {} cloud refinements waiting for the network",
            s.cloud.deferred_pending
        );
    }
    out!("connectivity: {}", net(&s.connectivity));
    out!("power:        {}", s.power.describe());
    if !s.power.missing.is_empty() {
        out!("              ({} on this machine)", s.power.missing.join(", "));
    }
    Ok(())
}

fn net(n: &fieldbrief_pipeline::NetState) -> String {
    match n {
        fieldbrief_pipeline::NetState::NotProbed { why } => format!("not probed ({why})"),
        fieldbrief_pipeline::NetState::Online => "online (the endpoint answers)".into(),
        fieldbrief_pipeline::NetState::Offline { error } => format!("offline ({error})"),
    }
}

pub fn deferred(jobs: &[fieldbrief_pipeline::DeferredJob], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&jobs);
    }
    if jobs.is_empty() {
        eprintln!("no cloud refinements are waiting");
    }
    for j in jobs {
        let error =
            j.last_error.as_deref().map(|e| format!(" · last error: {e}")).unwrap_or_default();
        out!(
            "{:>4}  note {:<5} {:<8} {}  {} · {} attempts{error}",
            j.id,
            j.note_id,
            j.state,
            short_time(&j.created_at),
            j.note_title,
            j.attempts
        );
    }
    Ok(())
}

pub fn refinements(rs: &[fieldbrief_pipeline::Refinement], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(&rs);
    }
    if rs.is_empty() {
        eprintln!("no cloud refinements are waiting");
    }
    for r in rs {
        out!("note {} ({}): {} — {}", r.note_id, r.note_title, r.state.as_str(), r.detail);
    }
    Ok(())
}

/// One CSV field (RFC 4180): quoted when it holds a separator, a quote or a line break of
/// either kind (a lone `\r` ends a record for many readers too).
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
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

pub fn cache_stats(s: &fieldbrief_store::CacheStats, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(s);
    }
    out!(
        "{} cached summaries, {:.1} KiB, served {} times",
        s.entries,
        s.bytes as f64 / 1024.0,
        s.hits
    );
    Ok(())
}

pub fn eval(
    r: &fieldbrief_core::eval::EvalReport,
    regressions: &[fieldbrief_core::eval::Regression],
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        return json(&serde_json::json!({ "report": r, "regressions": regressions }));
    }
    out!("{}: {} cases", r.set, r.cases);
    // Per note: what a technician would look at first.
    out!(
        "\n{:<36} {:<10} {:<11} {:>6} {:>6} {:>6} {:>9} {:>8} {:>6} {:>7}",
        "CASE",
        "ROUTE",
        "SERVED BY",
        "WORDS",
        "TARGET",
        "RATIO",
        "KEY FACTS",
        "INVENTED",
        "CLEAN",
        "SECONDS"
    );
    for run in &r.runs {
        let served = run.served_by.as_deref().unwrap_or(&run.route);
        match &run.score {
            Some(s) => out!(
                "{:<36} {:<10} {:<11} {:>6} {:>6} {:>6.2} {:>8.0}% {:>8} {:>6} {:>7.1}",
                clip(&run.case, 36),
                run.route,
                served,
                s.words,
                run.target_words,
                s.compression,
                s.key_fact_recall * 100.0,
                s.invented.len(),
                if s.clean_ending { "yes" } else { "NO" },
                run.latency_ms / 1000.0
            ),
            None => out!(
                "{:<36} {:<10} failed: {}",
                clip(&run.case, 36),
                run.route,
                run.error.as_deref().unwrap_or("")
            ),
        }
    }
    out!(
        "\n{:<11} {:>6} {:>7} {:>8} {:>10} {:>8} {:>9} {:>7} {:>8} {:>7} {:>8} {:>9} {:>9} {:>10}",
        "ROUTE",
        "CASES",
        "FAILED",
        "ROUGE-L",
        "KEY FACTS",
        "INVENTED",
        "RATIO P50",
        "CLEAN",
        "LENGTH",
        "SERVED",
        "QUALITY",
        "P50 MS",
        "P95 MS",
        "COST/CASE"
    );
    for x in &r.routes {
        out!(
            "{:<11} {:>6} {:>7} {:>8.3} {:>9.1}% {:>8} {:>9.2} {:>6.0}% {:>7.1}% {:>6.0}% {:>7.1}% {:>9.1} {:>9.1} {:>10.6}",
            x.route,
            x.cases,
            x.failed,
            x.rouge_l,
            x.key_fact_recall * 100.0,
            x.invented_figures,
            x.compression_median,
            x.clean_endings * 100.0,
            x.length_compliance * 100.0,
            x.served_share * 100.0,
            x.quality_pass_rate * 100.0,
            x.latency_p50_ms,
            x.latency_p95_ms,
            x.cost_per_case
        );
    }
    for (route, why) in &r.skipped {
        out!("{route:<11} skipped: {why}");
    }
    for g in regressions {
        out!("REGRESSION {} {}: {:.3} → {:.3}", g.route, g.metric, g.baseline, g.now);
    }
    Ok(())
}

/// `s` cut to `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::csv;

    #[test]
    fn csv_fields_with_separators_quotes_or_line_breaks_are_quoted() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv("old\rmac"), "\"old\rmac\"");
        assert_eq!(csv("crlf\r\n"), "\"crlf\r\n\"");
    }
}
