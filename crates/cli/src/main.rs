//! `fieldbrief`: the command line over the same library calls the desktop app makes.
//!
//! Glue only: parse arguments, call `fieldbrief_pipeline`, print. Human output by default,
//! exactly one JSON object on stdout with `--json`. Exit codes: 0 success, 2 bad input or
//! usage (one `error:` line on stderr naming the file and the problem), 1 anything else.

mod render;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fieldbrief_core::Style;
use fieldbrief_pipeline::{CloudChoice, Fieldbrief, Input, SummarizeOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Engine, model, cloud and data directory at a glance.
    Status(JsonFlag),
}

#[derive(Args)]
struct SummarizeArgs {
    /// The note to summarize; `-` reads it from stdin.
    #[arg(value_name = "PATH|-")]
    path: Option<String>,
    #[arg(long, value_enum)]
    style: Option<StyleArg>,
    /// Upper bound on the summary's length in words (default depends on --style).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=5000))]
    max_words: Option<u32>,
    /// Behave as if there were no network.
    #[arg(long)]
    offline: bool,
    /// Allow or forbid cloud escalation for this note, whatever the settings say.
    #[arg(long, value_enum, value_name = "allow|deny")]
    cloud: Option<CloudArg>,
    /// Print the routing decision; save, summarize and send nothing.
    #[arg(long)]
    dry_run: bool,
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
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let bad_input = e.downcast_ref::<fieldbrief_pipeline::Error>().is_some_and(|e| e.is_bad_input())
                || e.downcast_ref::<UsageError>().is_some();
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
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
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| default.into()))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Usage is checked before the data directory is touched.
    let open = |home| Fieldbrief::open(home);
    match cli.command {
        Command::Summarize(args) => {
            let input = summarize_input(&args)?;
            summarize(&mut open(cli.home)?, input, args)
        }
        Command::Ledger(LedgerCommand::Report { since, json, csv }) => {
            let since = since.as_deref().map(fieldbrief_pipeline::parse_since).transpose()?;
            render::ledger(&open(cli.home)?.ledger_report(since.as_ref())?, json, csv)
        }
        Command::History(HistoryCommand::List { limit, json }) => render::history(&open(cli.home)?.history(limit)?, json),
        Command::History(HistoryCommand::Search { query, limit, json }) => {
            render::search(&query, &open(cli.home)?.search(&query, limit)?, json)
        }
        Command::History(HistoryCommand::Show { id, json }) => render::note(&open(cli.home)?.note(id)?, json),
        Command::Status(JsonFlag { json }) => render::status(&open(cli.home)?.status()?, json),
    }
}

fn summarize_input(args: &SummarizeArgs) -> anyhow::Result<Input> {
    Ok(match args.path.as_deref() {
        Some("-") => Input::Stream(Box::new(std::io::stdin()), "stdin".into()),
        Some(path) => Input::Path(PathBuf::from(path)),
        None if !std::io::stdin().is_terminal() => Input::Stream(Box::new(std::io::stdin()), "stdin".into()),
        None => return Err(UsageError("give a file to summarize, or - to read the note from stdin".into()).into()),
    })
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
    };
    let report = fb.summarize(input, &opts)?;
    render::summary(&report, args.json)
}
