//! `fieldbrief`: the command line over the same library calls the desktop app makes.
//!
//! Glue only: parse arguments, call `fieldbrief_pipeline`, print. Human output by default,
//! exactly one JSON object on stdout with `--json`. Exit codes: 0 success, 2 bad input or
//! usage (one `error:` line on stderr naming the file and the problem), 1 anything else.

mod render;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fieldbrief_core::Style;
use fieldbrief_core::engine::EngineEvent;
use fieldbrief_pipeline::{CloudChoice, Fieldbrief, Input, SummarizeOptions, WorkerCommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// The PDF extraction process (`__pdf-extract`) limits its own memory: with setrlimit on Unix,
// with this allocator where there is none (Windows).
#[cfg(not(unix))]
#[global_allocator]
static ALLOCATOR: fieldbrief_ingest::pdf::BudgetedAllocator =
    fieldbrief_ingest::pdf::BudgetedAllocator;

#[derive(Parser)]
#[command(name = "fieldbrief", version, about = "Offline summaries of field notes you can trust")]
struct Cli {
    /// Data directory (database, config.toml, models). Default: the OS data directory.
    #[arg(long, global = true, env = "FIELDBRIEF_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug). FIELDBRIEF_LOG takes a filter too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarize a note (.txt, .md, .pdf, or - for stdin).
    Summarize(SummarizeArgs),
    /// Notes and summaries kept on this device.
    #[command(subcommand)]
    History(HistoryCommand),
    /// The request ledger: what every summary cost and how it went.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The offline response cache: how big it is, or empty it.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Engine, model, cloud and data directory at a glance.
    Status(JsonFlag),
    /// Local models (GGUF files).
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Load time and speed of a model, through the same worker path `summarize` uses.
    Bench(BenchArgs),
    /// Run an evaluation set (JSONL: note, reference, key facts) through each route and
    /// compare them: ROUGE-L, key-fact recall, length compliance, latency, cost.
    Eval(EvalArgs),
    /// A note's summary as a PDF for a work order or a customer (`--pdf`), or as Markdown:
    /// title, date, site, source and style, the summary (the technician's edit if there is
    /// one), and the route, model version and quality flags in the footer.
    Export(ExportArgs),
    /// Cloud refinements queued while offline.
    #[command(subcommand)]
    Deferred(DeferredCommand),
    /// The cloud API key in the OS keychain (never in the config file or the database).
    #[command(subcommand)]
    Cloud(CloudCommand),
    /// The engine worker process (started by fieldbrief itself).
    #[command(name = "__engine-worker", hide = true)]
    Worker {
        #[arg(long, default_value_t = 300)]
        idle_secs: u64,
    },
    /// PDF text extraction in a process of its own, with memory and CPU-time limits (started
    /// by fieldbrief itself: a PDF on standard input, its pages as JSON on standard output).
    #[command(name = "__pdf-extract", hide = true)]
    PdfExtract {
        #[arg(long, default_value_t = 2048)]
        max_memory_mib: u64,
        #[arg(long, default_value_t = 30)]
        cpu_secs: u64,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Installed models, one line per version; the active one is marked `*`.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The catalog (the organisation's signed one when configured, else the built-in one),
    /// with what is installed and what has an update.
    Catalog {
        /// Fetch the organisation's catalog again (when online and allowed).
        #[arg(long)]
        refresh: bool,
        #[arg(long)]
        json: bool,
    },
    /// Install a GGUF file, or every model in a folder (a USB stick; a signed catalog.json
    /// there gives ids, versions and hashes), after hashing, validating and smoke-testing it.
    Import {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Download ID (the newest version, or ID@VERSION) from the catalog, resuming any earlier
    /// partial download; install and activate it once verified and smoke-tested. Ctrl-C pauses.
    Pull {
        model: String,
        /// Delete a paused download of it instead.
        #[arg(long)]
        discard: bool,
        #[arg(long)]
        json: bool,
    },
    /// Make ID (its current version) or ID@VERSION the model `summarize` uses.
    Use { model: String },
    /// Go back to the version of ID that was current before.
    Rollback {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Re-hash installed files (of ID, or all) and report any corruption (exit 2 if any).
    Verify {
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Look for newer versions in the catalogs; installs what the organisation marks
    /// automatic (never on battery saver or a metered connection).
    Updates {
        #[arg(long)]
        json: bool,
    },
    /// Delete ID@VERSION (or every version of ID). Removing the current version makes the
    /// previous one current.
    Remove { model: String },
    /// For publishers: FILE's parts (its GGUF header and each tensor, with their SHA-256), as
    /// a catalog entry's "parts" list, so laptops holding an earlier version can fetch only
    /// what changed.
    Parts { file: PathBuf },
}

#[derive(Subcommand)]
enum DeferredCommand {
    /// Refinements waiting for the network (--all: finished and dropped ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Send the waiting refinements now if the endpoint is reachable.
    Run {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CloudCommand {
    /// Store the API key in the OS keychain, read from stdin (so it is not in shell history).
    SetKey,
    /// Remove the API key from the OS keychain.
    ClearKey,
}

#[derive(Args)]
struct ExportArgs {
    /// The note's id (see `fieldbrief history list`).
    id: i64,
    /// A PDF (A4, the font embedded) instead of Markdown.
    #[arg(long)]
    pdf: bool,
    /// Which of the note's summaries (a request id); the latest when absent.
    #[arg(long, value_name = "REQUEST_ID")]
    request: Option<String>,
    /// Where to write it, `-` for standard output. Default: a PDF named after the note in the
    /// current folder; Markdown on standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print what was written as JSON (path, pages, characters the font cannot draw).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// The set: one JSON object per line with id, style, note, reference, key_facts and an
    /// optional max_words (else the default length for the note).
    set: PathBuf,
    /// Routes to compare (extractive, local, cloud); those that cannot run are reported.
    #[arg(long, value_delimiter = ',', default_value = "extractive,local,cloud")]
    routes: Vec<String>,
    /// The local model (a GGUF path or an installed id); else the active one.
    #[arg(long, value_name = "ID|PATH")]
    model: Option<String>,
    /// Compare with a report saved earlier (`--save`); a drop beyond the tolerance fails.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Save this run's report as JSON, to compare later runs with.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// The largest drop of a mean score (0–1) that is not a regression.
    #[arg(long, default_value_t = 0.02)]
    tolerance: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BenchArgs {
    /// A GGUF file or model id; `synthetic-1b` generates (once) a random-weight model shaped
    /// like a 1.1B-parameter Llama in the data directory.
    #[arg(long, value_name = "PATH|ID")]
    model: String,
    #[arg(long, default_value_t = 0)]
    threads: u32,
    #[arg(long, default_value_t = 512)]
    prompt_tokens: u32,
    #[arg(long, default_value_t = 128)]
    gen_tokens: u32,
    /// Also summarize this note end to end, with and without speculative decoding.
    #[arg(long, value_name = "FILE")]
    note: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SummarizeArgs {
    /// The note to summarize; `-` reads it from stdin.
    #[arg(value_name = "PATH|-", conflicts_with = "note")]
    path: Option<String>,
    /// Summarize a saved note again (see `history list`) instead of a file.
    #[arg(long, value_name = "ID")]
    note: Option<i64>,
    #[arg(long, value_enum)]
    style: Option<StyleArg>,
    /// Upper bound on the summary's length in words (default depends on --style).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=5000))]
    max_words: Option<u32>,
    /// Behave as if there were no network.
    #[arg(long)]
    offline: bool,
    /// Allow cloud escalation for this note (when the settings allow it), or forbid it: a
    /// note summarized with `deny` is stored as kept on this device and never leaves it.
    #[arg(long, value_enum, value_name = "allow|deny")]
    cloud: Option<CloudArg>,
    /// Print the routing decision and, for the cloud, the exact redacted text that would be
    /// sent; save, summarize and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Save the note marked "keep on this device": it never goes to the cloud, now or later.
    #[arg(long)]
    keep_on_device: bool,
    /// Local model to use: a GGUF file or a model id (default: the active model).
    #[arg(long, value_name = "ID|PATH")]
    model: Option<String>,
    /// A scanned PDF (no text layer) has its text recognised by OCR on this laptop
    /// (Tesseract and poppler's pdftoppm, from the system's packages) instead of being refused.
    #[arg(long)]
    ocr: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum StyleArg {
    Bullets,
    Brief,
    Handover,
}

#[derive(Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum CloudArg {
    Allow,
    Deny,
}

#[derive(Args)]
struct JsonFlag {
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum HistoryCommand {
    /// Notes, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over notes and summaries.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One note with all its summaries.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Delete a note and its summaries (the ledger keeps its counts).
    Delete { id: i64 },
    /// Mark a note "keep on this device" (on) or lift the mark (off): a kept note never goes
    /// to the cloud, and its queued refinements are dropped unsent.
    Keep {
        id: i64,
        #[arg(value_enum)]
        state: OnOff,
    },
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Entries, size and hits.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Remove every cached summary (history and the ledger are kept).
    Clear,
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Requests, success rate and latency per route and model.
    Report {
        /// Only requests from this date (YYYY-MM-DD) or time (RFC 3339) on.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// Fleet telemetry: counts, rates and costs per route, model, power mode and device class,
    /// as one JSON object. No note text, no hashes, no request ids.
    Export {
        /// Required: only the aggregate export exists (per-request rows stay on this laptop).
        #[arg(long, required = true)]
        aggregate: bool,
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
    /// Record what you made of a summary: accepted, edited, rejected or regenerated.
    Outcome {
        request_id: String,
        #[arg(value_enum)]
        outcome: OutcomeArg,
        /// With `edited`: the corrected summary (a file, or - for stdin); it replaces the
        /// summary in history, search and exports, and the engine's text is kept beside it.
        #[arg(long, value_name = "FILE")]
        text: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutcomeArg {
    Accepted,
    Edited,
    Rejected,
    Regenerated,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`fieldbrief history list | head`): not an error of ours.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            if matches!(
                e.downcast_ref::<fieldbrief_pipeline::Error>(),
                Some(fieldbrief_pipeline::Error::Cancelled)
            ) {
                eprintln!("cancelled");
                return ExitCode::from(130);
            }
            let bad_input =
                e.downcast_ref::<fieldbrief_pipeline::Error>().is_some_and(|e| e.is_bad_input())
                    || e.downcast_ref::<UsageError>().is_some();
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn models_command(mut fb: Fieldbrief, command: ModelsCommand) -> anyhow::Result<()> {
    match command {
        ModelsCommand::List { json } => render::models(&fb.models()?, json),
        ModelsCommand::Catalog { refresh, json } => {
            render::catalog(&fb.model_catalog(refresh)?, json)
        }
        ModelsCommand::Import { path, json } => render::models(&fb.import_model(&path)?, json),
        ModelsCommand::Pull { model, discard: true, .. } => {
            let (id, version) = model
                .split_once('@')
                .ok_or_else(|| UsageError("--discard needs ID@VERSION".into()))?;
            fb.discard_download(id, version)?;
            eprintln!("the partial download of {model} was deleted");
            Ok(())
        }
        ModelsCommand::Pull { model, json, .. } => {
            let control = pause_on_ctrl_c();
            let mut bar = render::PullBar::new(!json && std::io::stderr().is_terminal());
            let result = fb.pull_model(&model, None, &control, &mut |p| bar.update(p));
            bar.finish();
            let entry = result?;
            render::models(&[entry], json)
        }
        ModelsCommand::Use { model } => {
            fb.use_model(&model, None)?;
            eprintln!("{model} is now the active model");
            Ok(())
        }
        ModelsCommand::Rollback { id, json } => {
            let entry = fb.rollback_model(&id)?;
            if !json {
                eprintln!("{id} rolled back to {}", entry.version);
            }
            render::models(&[entry], json)
        }
        ModelsCommand::Verify { id, json } => {
            let reports = fb.verify_models(id.as_deref())?;
            render::verify(&reports, json)?;
            if let Some(bad) = reports.iter().find(|r| !r.ok) {
                return Err(fieldbrief_pipeline::Error::BadArgument(format!(
                    "{}@{}: {}",
                    bad.id,
                    bad.version,
                    bad.problem.as_deref().unwrap_or("corrupt")
                ))
                .into());
            }
            Ok(())
        }
        ModelsCommand::Updates { json } => {
            // An automatic download paused with Ctrl-C is left alone by later checks.
            let control = pause_on_ctrl_c();
            let mut bar = render::PullBar::new(!json && std::io::stderr().is_terminal());
            let offers = fb.check_updates(true, true, &control, &mut |p| bar.update(p));
            bar.finish();
            render::updates(&offers?, json)
        }
        ModelsCommand::Remove { model } => {
            let id = model.split_once('@').map_or(model.as_str(), |(i, _)| i).to_string();
            let removed = fb.remove_model(&model, None)?;
            eprintln!("removed {id}@{}", removed.join(", "));
            Ok(())
        }
        ModelsCommand::Parts { file } => {
            let parts = fieldbrief_models::delta::gguf_parts(&file)
                .map_err(|e| fieldbrief_pipeline::Error::BadArgument(e.to_string()))?;
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "parts": parts }))?);
            Ok(())
        }
    }
}

/// A download control that Ctrl-C pauses (the bytes are kept); a second Ctrl-C quits at once.
fn pause_on_ctrl_c() -> fieldbrief_pipeline::DownloadControl {
    let control = fieldbrief_pipeline::DownloadControl::default();
    let pause = control.clone();
    on_ctrl_c(move || pause.pause());
    control
}

/// Stops the work in hand cleanly at the first Ctrl-C (`first`: cancel a generation, pause a
/// download) and quits at once, with the shell's 130, at the second. The one Ctrl-C handler of
/// the CLI: a process has only one.
fn on_ctrl_c(first: impl Fn() + Send + 'static) {
    let pressed = std::sync::atomic::AtomicBool::new(false);
    let _ = ctrlc::set_handler(move || {
        if pressed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        first();
    });
}

/// A usage mistake the argument parser cannot see (exit code 2).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("FIELDBRIEF_LOG").unwrap_or_else(|_| default.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn export(fb: Fieldbrief, args: ExportArgs) -> anyhow::Result<()> {
    // The bytes, what --json reports, and for a PDF its default name, page count and the
    // warning about characters its font cannot draw.
    let (bytes, report, pdf) = if args.pdf {
        let pdf = fb.export_pdf(args.id, args.request.as_deref())?;
        let report = serde_json::to_value(&pdf)?;
        let warning = (!pdf.missing.is_empty()).then(|| {
            format!(
                "warning: the font {} cannot draw {} (they print as boxes); set FIELDBRIEF_PDF_FONT to a font that can",
                pdf.font.display(),
                pdf.missing.join(" ")
            )
        });
        (pdf.bytes, report, Some((PathBuf::from(pdf.suggested_name), pdf.pages, warning)))
    } else {
        let (sheet, request_id) = fb.printable(args.id, args.request.as_deref())?;
        let report = serde_json::json!({ "note_id": args.id, "request_id": request_id });
        (sheet.to_markdown().into_bytes(), report, None)
    };
    let target = match (&args.output, &pdf) {
        (Some(p), _) if p.as_os_str() == "-" => None,
        (Some(p), _) => Some(p.clone()),
        (None, Some((name, _, _))) => {
            // A name the user did not choose never replaces a file.
            if name.exists() {
                return Err(UsageError(format!(
                    "{} already exists: name the PDF with -o FILE",
                    name.display()
                ))
                .into());
            }
            Some(name.clone())
        }
        (None, None) => None,
    };
    if target.is_none() && args.json {
        return Err(UsageError(
            "--json describes a written file: name one with -o FILE (standard output holds the export itself)".into(),
        )
        .into());
    }
    let Some(path) = target else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        return Ok(out.flush()?);
    };
    fieldbrief_pipeline::write_atomically(&path, &bytes)
        .map_err(|e| UsageError(format!("writing {}: {e}", path.display())))?;
    if let Some((_, _, Some(warning))) = &pdf {
        eprintln!("{warning}");
    }
    if args.json {
        let mut report = report;
        report["path"] = serde_json::json!(path);
        report["bytes"] = serde_json::json!(bytes.len());
        render::json(&report)
    } else {
        match pdf {
            Some((_, pages, _)) => eprintln!(
                "wrote {} ({pages} page{})",
                path.display(),
                if pages == 1 { "" } else { "s" }
            ),
            None => eprintln!("wrote {}", path.display()),
        }
        Ok(())
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Usage is checked before the data directory is touched.
    let open = |home| -> anyhow::Result<Fieldbrief> {
        let worker = WorkerCommand::current_exe(&[])?.for_this_cpu();
        let pdf = std::env::current_exe()?;
        Ok(Fieldbrief::open(home)?
            .with_worker(worker, fieldbrief_worker::backend_name())
            .with_pdf_extractor(pdf))
    };
    match cli.command {
        Command::PdfExtract { max_memory_mib, cpu_secs } => {
            std::process::exit(fieldbrief_ingest::pdf::serve(max_memory_mib, cpu_secs, 1 << 30))
        }
        Command::Worker { idle_secs } => std::process::exit(fieldbrief_worker::run(
            std::time::Duration::from_secs(idle_secs.max(1)),
        )),
        Command::Models(command) => models_command(open(cli.home)?, command),
        Command::Eval(args) => eval(&mut open(cli.home)?, args),
        Command::Bench(args) => {
            let mut fb = open(cli.home)?;
            let model = if args.model == "synthetic-1b" {
                synthetic_model(&fb)?
            } else {
                args.model.clone()
            };
            render::bench(
                &fb.bench(
                    &model,
                    args.threads,
                    args.prompt_tokens,
                    args.gen_tokens,
                    args.note.as_deref(),
                )?,
                args.json,
            )
        }
        Command::Summarize(args) => {
            let input = summarize_input(&args)?;
            summarize(&mut open(cli.home)?, input, args)
        }
        Command::Ledger(LedgerCommand::Report { since, json, csv }) => {
            let since = since.as_deref().map(fieldbrief_pipeline::parse_since).transpose()?;
            render::ledger(&open(cli.home)?.ledger_report(since.as_ref())?, json, csv)
        }
        Command::Ledger(LedgerCommand::Export { aggregate: _, since }) => {
            let since = since.as_deref().map(fieldbrief_pipeline::parse_since).transpose()?;
            render::json(&open(cli.home)?.ledger_aggregate(since.as_ref())?)
        }
        Command::Cache(CacheCommand::Stats { json }) => {
            render::cache_stats(&open(cli.home)?.cache_stats()?, json)
        }
        Command::Cache(CacheCommand::Clear) => {
            let n = open(cli.home)?.clear_cache()?;
            eprintln!("removed {n} cached summaries");
            Ok(())
        }
        Command::History(HistoryCommand::List { limit, json }) => {
            render::history(&open(cli.home)?.history(limit)?, json)
        }
        Command::History(HistoryCommand::Search { query, limit, json }) => {
            render::search(&query, &open(cli.home)?.search(&query, limit)?, json)
        }
        Command::History(HistoryCommand::Show { id, json }) => {
            render::note(&open(cli.home)?.note(id)?, json)
        }
        Command::History(HistoryCommand::Keep { id, state }) => {
            open(cli.home)?.set_keep_on_device(id, matches!(state, OnOff::On))?;
            eprintln!(
                "note {id}: {}",
                if matches!(state, OnOff::On) {
                    "kept on this device"
                } else {
                    "may go to the cloud when allowed"
                }
            );
            Ok(())
        }
        Command::History(HistoryCommand::Delete { id }) => {
            open(cli.home)?.delete_note(id)?;
            eprintln!("deleted note {id}");
            Ok(())
        }
        Command::Ledger(LedgerCommand::Outcome {
            request_id,
            outcome: OutcomeArg::Edited,
            text: Some(file),
        }) => {
            let text = if file.as_os_str() == "-" {
                read_limited(std::io::stdin(), MAX_EDITED_SUMMARY, "the edited summary")?
            } else {
                let f = std::fs::File::open(&file)
                    .map_err(|e| UsageError(format!("reading {}: {e}", file.display())))?;
                read_limited(f, MAX_EDITED_SUMMARY, &file.display().to_string())?
            };
            open(cli.home)?.edit_summary(&request_id, &text)?;
            Ok(())
        }
        Command::Ledger(LedgerCommand::Outcome { text: Some(_), .. }) => {
            Err(UsageError("--text goes with the outcome `edited`".into()).into())
        }
        Command::Ledger(LedgerCommand::Outcome { request_id, outcome, text: None }) => {
            use fieldbrief_core::ledger::Outcome;
            let outcome = match outcome {
                OutcomeArg::Accepted => Outcome::Accepted,
                OutcomeArg::Edited => Outcome::Edited,
                OutcomeArg::Rejected => Outcome::Rejected,
                OutcomeArg::Regenerated => Outcome::Regenerated,
            };
            open(cli.home)?.feedback(&request_id, outcome)?;
            Ok(())
        }
        Command::Export(args) => export(open(cli.home)?, args),
        Command::Status(JsonFlag { json }) => render::status(&open(cli.home)?.status()?, json),
        Command::Deferred(DeferredCommand::List { all, json }) => {
            render::deferred(&open(cli.home)?.deferred(all)?, json)
        }
        Command::Deferred(DeferredCommand::Run { json }) => {
            let mut fb = open(cli.home)?;
            let refinements = fb.run_deferred(&mut |_, _| {})?;
            render::refinements(&refinements, json)
        }
        Command::Cloud(CloudCommand::SetKey) => {
            let key = read_limited(std::io::stdin(), 16 * 1024, "the API key")?;
            open(cli.home)?.store_api_key(&key)?;
            eprintln!("the API key is stored in the OS keychain");
            Ok(())
        }
        Command::Cloud(CloudCommand::ClearKey) => {
            open(cli.home)?.clear_api_key()?;
            eprintln!("the API key is removed from the OS keychain");
            Ok(())
        }
    }
}

fn summarize_input(args: &SummarizeArgs) -> anyhow::Result<Input> {
    if let Some(id) = args.note {
        return Ok(Input::Saved(id));
    }
    Ok(match args.path.as_deref() {
        Some("-") => Input::Stream(Box::new(std::io::stdin()), "stdin".into()),
        Some(path) => Input::Path(PathBuf::from(path)),
        None if !std::io::stdin().is_terminal() => {
            Input::Stream(Box::new(std::io::stdin()), "stdin".into())
        }
        None => {
            return Err(UsageError(
                "give a file to summarize, or - to read the note from stdin".into(),
            )
            .into());
        }
    })
}

/// The longest edited summary `ledger outcome … edited --text` takes.
const MAX_EDITED_SUMMARY: u64 = 1024 * 1024;

/// Reads UTF-8 text of at most `limit` bytes: what is piped in is never read without bound.
fn read_limited(reader: impl std::io::Read, limit: u64, what: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader.take(limit + 1), &mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(UsageError(format!("{what} is over the {limit}-byte limit")).into());
    }
    String::from_utf8(bytes).map_err(|_| UsageError(format!("{what} is not UTF-8 text")).into())
}

/// The synthetic 1.1B model, generated into the data directory the first time.
fn eval(fb: &mut Fieldbrief, args: EvalArgs) -> anyhow::Result<()> {
    use fieldbrief_core::eval;
    let read = |path: &PathBuf| -> anyhow::Result<String> {
        std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("reading {}: {e}", path.display())).into())
    };
    let cases = eval::parse_set(&read(&args.set)?)
        .map_err(|e| UsageError(format!("{}: {e}", args.set.display())))?;
    let baseline: Option<eval::EvalReport> = match &args.baseline {
        Some(path) => Some(
            serde_json::from_str(&read(path)?)
                .map_err(|e| UsageError(format!("{}: not an eval report: {e}", path.display())))?,
        ),
        None => None,
    };
    let cancel = fb.cancel_flag();
    on_ctrl_c(move || cancel.store(true, std::sync::atomic::Ordering::SeqCst));
    let name = args.set.display().to_string();
    let interactive = std::io::stderr().is_terminal();
    let report =
        fb.eval(&name, &cases, &args.routes, args.model.as_deref(), &mut |done, total| {
            if interactive {
                eprint!("\r{done}/{total} summaries");
            }
        })?;
    if interactive {
        eprintln!();
    }
    if let Some(path) = &args.save {
        let text = serde_json::to_string_pretty(&report)?;
        fieldbrief_pipeline::write_atomically(path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("saving {}: {e}", path.display()))?;
    }
    let regressions = baseline
        .as_ref()
        .map(|b| eval::regressions(b, &report, args.tolerance))
        .unwrap_or_default();
    render::eval(&report, &regressions, args.json)?;
    if !regressions.is_empty() {
        anyhow::bail!(
            "{} score(s) fell by more than {} since the baseline",
            regressions.len(),
            args.tolerance
        );
    }
    Ok(())
}

fn synthetic_model(fb: &Fieldbrief) -> anyhow::Result<String> {
    let dir = fb.home().root().join("bench");
    let path = dir.join("synthetic-1.1b-q8_0.gguf");
    if !path.is_file() {
        std::fs::create_dir_all(&dir)?;
        eprintln!(
            "generating a synthetic 1.1B-parameter model (about 1.2 GB) at {} …",
            path.display()
        );
        let partial = dir.join("synthetic-1.1b-q8_0.gguf.partial");
        fieldbrief_gguf::write::LlamaSpec::synthetic_1b().write(&partial)?;
        std::fs::rename(&partial, &path)?;
    }
    Ok(path.display().to_string())
}

fn summarize(fb: &mut Fieldbrief, input: Input, args: SummarizeArgs) -> anyhow::Result<()> {
    let opts = SummarizeOptions {
        style: args.style.map(|s| match s {
            StyleArg::Bullets => Style::Bullets,
            StyleArg::Brief => Style::Brief,
            StyleArg::Handover => Style::Handover,
        }),
        max_words: args.max_words.map(|n| n as usize),
        offline: args.offline,
        cloud: args.cloud.map(|c| match c {
            CloudArg::Allow => CloudChoice::Allow,
            CloudArg::Deny => CloudChoice::Deny,
        }),
        dry_run: args.dry_run,
        model: args.model.clone(),
        keep_on_device: args.keep_on_device,
        ocr: args.ocr,
    };
    // Ctrl-C stops the generation cleanly (the worker stays ready); a second one quits.
    let cancel = fb.cancel_flag();
    on_ctrl_c(move || cancel.store(true, std::sync::atomic::Ordering::SeqCst));
    // Stream generated text to the terminal as it comes (not with --json: one object only).
    let mut streamed = String::new();
    let stream = !args.json && std::io::stdout().is_terminal();
    let report = fb.summarize_with(input, &opts, &mut |event| match event {
        EngineEvent::Token { text } if stream => {
            streamed.push_str(&text);
            print!("{text}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
        // Progress goes to stderr in every mode: it is not part of the JSON on stdout.
        EngineEvent::Progress { stage, done, total } if stage == "ocr" => {
            if done < total {
                eprintln!("OCR: recognising page {} of {total}", done + 1);
            } else {
                eprintln!("OCR: {total} pages recognised");
            }
        }
        EngineEvent::Progress { stage, done, total } => eprintln!("{stage}: {done} of {total}"),
        _ => {}
    })?;
    // What streamed is the summary, unless the gate replaced it (a retry, the extractive
    // stand-in) or it was cut back to a complete ending: then the final text follows.
    let shown =
        !streamed.is_empty() && report.summary.as_deref().map(str::trim) == Some(streamed.trim());
    if !streamed.is_empty() {
        println!();
        if !shown {
            eprintln!(
                "(the text above did not pass the quality checks or was cut back; the summary is:)"
            );
        }
    }
    render::summary(&report, args.json, shown)
}

#[cfg(test)]
mod tests {
    use super::read_limited;

    #[test]
    fn piped_text_is_read_up_to_its_limit_and_no_further() {
        assert_eq!(read_limited(&b"- fixed seal"[..], 12, "x").unwrap(), "- fixed seal");
        let e = read_limited(&b"- fixed seal!"[..], 12, "the edited summary").unwrap_err();
        assert!(e.to_string().contains("over the 12-byte limit"), "{e}");
        // An endless stream ends at the limit.
        let e = read_limited(std::io::repeat(b'a'), 1024, "x").unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        assert!(read_limited(&[0xff, 0xfe][..], 12, "x").is_err());
    }
}
