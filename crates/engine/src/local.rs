//! The local engine: a GGUF model run by the worker process, behind [`Engine`].
//!
//! Context accounting uses the model's own tokenizer (through the worker). A note that fits —
//! prompt, note and output budget inside the context window — is summarized in one pass. One
//! that does not is never cut: it is split on unit boundaries into parts that fit
//! ([`crate::chunk`]), each part is summarized (progress is reported part by part), and the
//! part summaries are combined, in rounds if they do not fit together either. The shared
//! system prompt stays in the worker's KV cache between parts, so each part pays only for its
//! own tokens.

use crate::chunk::{self, Piece};
use crate::prompt::{self, Layout};
use crate::protocol::{
    BenchStats, ErrorKind, Event, GenerationStats, LoadSpec, Message, ModelDescription, Request,
    Sampling, StopReason,
};
use crate::supervisor::{self, Supervisor, WorkerCommand};
use fieldbrief_core::ending;
use fieldbrief_core::engine::{
    Attempt, Decoding, Engine, EngineError, EngineEvent, EngineOutput, Lines, ModelRef,
    SummaryRequest,
};
use fieldbrief_core::segment;
use fieldbrief_core::{Document, Style};
use fieldbrief_core::{condense, quality};
use fieldbrief_extractive::Line;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    pub path: PathBuf,
    pub id: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalSettings {
    /// Layers to offload to the GPU: `None` for as many as fit, `Some(0)` for CPU only.
    pub gpu_layers: Option<u32>,
    /// Context window; 0 for the model's own.
    pub context: u32,
    /// CPU threads; 0 lets llama.cpp choose.
    pub threads: u32,
    /// Prompt-processing batch in tokens; 0 for 512.
    pub batch: u32,
    pub sampling: Sampling,
    /// Where the worker keeps the KV state of prompts' fixed beginnings for warm starts.
    pub state_dir: Option<PathBuf>,
}

/// The numbers the router needs, measured with the model's tokenizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub doc_tokens: usize,
    pub context_tokens: usize,
    /// Prompt and output budget: what the context must hold besides the note.
    pub reserved_tokens: usize,
    pub model: ModelDescription,
}

impl Plan {
    pub fn fits(&self) -> bool {
        self.doc_tokens + self.reserved_tokens <= self.context_tokens
    }
}

pub struct LocalEngine {
    supervisor: Mutex<Supervisor>,
    model: LocalModel,
    settings: LocalSettings,
    cancel: Arc<AtomicBool>,
    next_id: AtomicU64,
    /// Set after the GPU failed mid-request: the model runs on the CPU from then on.
    cpu_only: AtomicBool,
}

/// Tokens the chat template's markup may add around the messages.
const TEMPLATE_MARGIN: usize = 48;

/// How one generation is asked for: its layout (prompt and grammar), its token budget and
/// which try it is.
#[derive(Clone, Copy)]
struct Shape<'a> {
    grammar: &'a str,
    max_tokens: u32,
    attempt: Attempt,
    /// Sampled, with a fixed seed, whatever the attempt: another wording of a line the greedy
    /// pick handed back unchanged.
    resample: Resample,
}

/// Whether and how a generation is sampled in place of its attempt's own decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resample {
    No,
    /// At [`RESAMPLE_TEMPERATURE`] with [`RESAMPLE_SEED`].
    Once,
    /// At [`WARMER_TEMPERATURE`] with [`WARMER_SEED`].
    Warmer,
}

/// The sampling of the one sampled try at a line the greedy pick handed back ([`LineTry`]),
/// with a fixed seed so the same note gets the same summary. Measured on the tuning notes with
/// the 0.5B model: at 0.8 it kept 0.88 of the key facts but dropped verbs and subjects ("CB-3
/// via DC isolator" for "Isolated CB-3 via DC isolator", "L2 should be replaced" for "L2
/// termination should be replaced"); at 0.5, 0.87, in the line's sense.
const RESAMPLE_TEMPERATURE: f32 = 0.5;
const RESAMPLE_TOP_P: f32 = 0.95;
const RESAMPLE_SEED: u32 = 7;
/// The third ask at a line ([`LineTry::Warmer`]), where a summary still has too few lines of
/// the model's: warmer, with another fixed seed. At this temperature the 0.5B model drops
/// verbs ("Offline filter P/N OLF-3-10UM" for "Replaced offline filter P/N OLF-3-10UM"), which
/// the checks refuse (`condense::Rejection::DroppedWork`).
const WARMER_TEMPERATURE: f32 = 0.7;
const WARMER_SEED: u32 = 11;

/// A finished generation: its text, cut back to the last complete bullet or sentence when the
/// budget ran out (`trimmed`).
struct Generated {
    text: String,
    stats: GenerationStats,
    trimmed: bool,
}

/// Tokens and decoding over all the generations of one summary.
#[derive(Debug, Default)]
struct Usage {
    input: usize,
    output: usize,
    decoding: Decoding,
    generations: usize,
}

impl Usage {
    fn add(&mut self, stats: &GenerationStats) {
        if self.generations == 0 {
            self.decoding.first_token_ms = stats.ttft_ms;
            self.decoding.warm_start = stats.warm_start;
        }
        self.generations += 1;
        self.input += stats.prompt_tokens as usize;
        self.output += stats.output_tokens as usize;
        self.decoding.drafted += stats.drafted_tokens as usize;
        self.decoding.accepted += stats.accepted_tokens as usize;
        self.decoding.decode_ms += stats.generate_ms;
    }
}

impl Generated {
    fn finish(raw: &str, stats: GenerationStats) -> Generated {
        let cut = matches!(stats.stop, StopReason::MaxTokens | StopReason::ContextFull);
        // A text with nothing complete in it stays as it is: the quality gate's clean_ending
        // check fails it, and the pipeline retries or serves the extractive summary.
        match cut.then(|| ending::trim_to_complete(raw)).flatten() {
            Some(text) => Generated { text, stats, trimmed: true },
            None => Generated { text: raw.trim().to_string(), stats, trimmed: false },
        }
    }
}

impl LocalEngine {
    pub fn new(command: WorkerCommand, model: LocalModel, settings: LocalSettings) -> LocalEngine {
        LocalEngine::with_cancel(command, model, settings, Arc::default())
    }

    /// With a cancel flag shared with the caller (Ctrl-C, the app's Cancel button).
    pub fn with_cancel(
        command: WorkerCommand,
        model: LocalModel,
        settings: LocalSettings,
        cancel: Arc<AtomicBool>,
    ) -> LocalEngine {
        LocalEngine {
            supervisor: Mutex::new(Supervisor::new(command)),
            model,
            settings,
            cancel,
            next_id: AtomicU64::new(1),
            cpu_only: AtomicBool::new(false),
        }
    }

    pub fn settings(&self) -> &LocalSettings {
        &self.settings
    }

    pub fn model(&self) -> &LocalModel {
        &self.model
    }

    /// Set it to stop the running generation; it is cleared when the next request starts.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The worker's pid while one runs (tests use it to kill the worker).
    pub fn worker_pid(&self) -> Option<u32> {
        self.supervisor.lock().ok().and_then(|s| s.worker_pid())
    }

    fn spec(&self) -> LoadSpec {
        LoadSpec {
            path: self.model.path.display().to_string(),
            gpu_layers: if self.cpu_only.load(Ordering::Relaxed) {
                Some(0)
            } else {
                self.settings.gpu_layers
            },
            n_ctx: self.settings.context,
            threads: self.settings.threads,
            batch: self.settings.batch,
            state_dir: self.settings.state_dir.as_ref().map(|d| d.display().to_string()),
        }
    }

    fn id(&self) -> String {
        format!("r{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn call(&self, request: Request, on_token: &mut dyn FnMut(&str)) -> Result<Event, EngineError> {
        match self.call_raw(request, on_token)? {
            Event::Error { kind, message, .. } => Err(match kind {
                ErrorKind::InvalidModel => EngineError::InvalidModel(message),
                _ => EngineError::Failed(message),
            }),
            event => Ok(event),
        }
    }

    /// Like `call`, with the worker's error events returned as events.
    fn call_raw(
        &self,
        request: Request,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Event, EngineError> {
        let mut supervisor = self
            .supervisor
            .lock()
            .map_err(|_| EngineError::Failed("engine lock poisoned".into()))?;
        match supervisor.call(&request, Some(&self.cancel), on_token) {
            Ok(event) => Ok(event),
            Err(e @ supervisor::Error::WorkerDied(_)) => Err(EngineError::Crashed(e.to_string())),
            Err(e) => Err(EngineError::Failed(e.to_string())),
        }
    }

    pub fn describe(&self) -> Result<ModelDescription, EngineError> {
        match self.call(Request::Info { id: self.id(), model: self.spec() }, &mut |_| {})? {
            Event::Info { model, .. } => Ok(model),
            other => Err(EngineError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    /// Token counts of `texts` with the model's tokenizer.
    pub fn count(&self, texts: Vec<String>) -> Result<Vec<u32>, EngineError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match self
            .call(Request::Tokenize { id: self.id(), model: self.spec(), texts }, &mut |_| {})?
        {
            Event::Tokens { counts, .. } => Ok(counts),
            other => Err(EngineError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    fn prompt_tokens(&self, messages: &[Message]) -> Result<usize, EngineError> {
        let counts = self.count(messages.iter().map(|m| m.content.clone()).collect())?;
        Ok(counts.iter().map(|&c| c as usize).sum::<usize>() + TEMPLATE_MARGIN)
    }

    fn output_budget(max_words: usize, context: usize) -> u32 {
        // Byte-level vocabularies spend more than one token per word; keep a quarter of the
        // context for the answer at most.
        (max_words * 2).clamp(32, (context / 4).max(32)) as u32
    }

    /// Measures the note against the model's context.
    pub fn plan(&self, doc: &Document, request: &SummaryRequest) -> Result<Plan, EngineError> {
        let model = self.describe()?;
        let context = model.n_ctx as usize;
        let layout = Layout::new(request.style, request.max_words, request.attempt);
        let overhead = self.prompt_tokens(&prompt::single_frame(&layout))?;
        let doc_tokens = self.count(vec![doc.text.clone()])?.first().copied().unwrap_or(0) as usize;
        let reserved = overhead + Self::output_budget(request.max_words, context) as usize;
        Ok(Plan { doc_tokens, context_tokens: context, reserved_tokens: reserved, model })
    }

    fn generate(
        &self,
        messages: Vec<Message>,
        shape: Shape<'_>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generated, EngineError> {
        match self.try_generate(messages, shape, on_token)? {
            Ok(done) => Ok(done),
            Err(overflow) => Err(EngineError::Failed(overflow)),
        }
    }

    /// Generates; `Ok(Err(why))` when the prompt turned out longer than the context (the
    /// measure before it is an estimate: the chat template adds tokens of its own).
    fn try_generate(
        &self,
        messages: Vec<Message>,
        shape: Shape<'_>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Result<Generated, String>, EngineError> {
        let sampling = sampling_for(&self.settings.sampling, shape);
        let mut text = String::new();
        let request = Request::Generate { id: self.id(), model: self.spec(), messages, sampling };
        let event = self.call_raw(request, &mut |t| {
            text.push_str(t);
            on_token(t);
        })?;
        match event {
            Event::Done { stats, .. } if stats.stop == StopReason::Cancelled => {
                Err(EngineError::Cancelled)
            }
            Event::Done { stats, .. } => Ok(Ok(Generated::finish(&text, stats))),
            Event::Error { kind: ErrorKind::ContextOverflow, message, .. } => Ok(Err(message)),
            Event::Error { kind: ErrorKind::InvalidModel, message, .. } => {
                Err(EngineError::InvalidModel(message))
            }
            Event::Error { message, .. } => Err(EngineError::Failed(message)),
            other => Err(EngineError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    /// Speed of the model through the same worker path summaries take.
    pub fn bench(
        &self,
        prompt_tokens: u32,
        gen_tokens: u32,
    ) -> Result<(BenchStats, usize), EngineError> {
        let mut streamed = 0usize;
        let request =
            Request::Bench { id: self.id(), model: self.spec(), prompt_tokens, gen_tokens };
        match self.call(request, &mut |_| streamed += 1)? {
            Event::Bench { stats, .. } => Ok((stats, streamed)),
            other => Err(EngineError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    /// Loads the model and generates `tokens` tokens, checking the output is well-formed
    /// (finite logits, tokens in the vocabulary, as many as asked for). `Ok(Err(why))` when
    /// it is not; a crash or load failure is an `EngineError`.
    pub fn smoke(
        &self,
        tokens: u32,
    ) -> Result<Result<crate::protocol::SmokeReport, String>, EngineError> {
        match self
            .call(Request::Smoke { id: self.id(), model: self.spec(), tokens }, &mut |_| {})?
        {
            Event::Smoke { report, .. } => Ok(match report.problem(tokens) {
                Some(why) => Err(why),
                None => Ok(report),
            }),
            other => Err(EngineError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    /// Outline, then write: the note's most telling lines are chosen as the extractive
    /// summarizer would choose them (facts, actions, centrality), sized for the target on the
    /// expectation that a rewrite keeps about [`condense::EXPECTED_RATIO`] of a line's words,
    /// and the model rewrites each one shorter. A rewrite that fails `condense::check_in` (a
    /// figure dropped, altered or invented, not shorter, not about its line, work or a "not"
    /// turned or left out) is asked for once more (with a looser word limit, or sampled where
    /// the model handed the line back), then the line keeps its own words; where the model has
    /// still written too few lines, the failed ones are asked a third time, warmer. When the
    /// rewrites leave room, more lines are outlined and written; the lowest-ranked lines go
    /// when they leave too little.
    fn summarize_outlined(
        &self,
        doc: &Document,
        request: &SummaryRequest,
        events: &mut dyn FnMut(EngineEvent),
        totals: &mut Usage,
    ) -> Result<(String, Lines), EngineError> {
        let seg = fieldbrief_extractive::units(&doc.text);
        let ranked = fieldbrief_extractive::rank(&seg, request.style);
        if ranked.is_empty() {
            return Err(EngineError::Unsummarizable(
                "the note has no sentences to summarize".into(),
            ));
        }
        let target = request.max_words.max(1);
        // The note's heading lines, where its own date may be left out of a rewrite.
        let opening: Vec<usize> = seg.content_units().map(|(i, _)| i).take(2).collect();
        let mut written: Vec<Line> = Vec::new();
        let mut taken: Vec<usize> = Vec::new();
        let mut counts = Lines { written: 0, kept: 0 };
        // Lines the model handed back unchanged: where in `written`, and how to ask again.
        let mut handed_back: Vec<(usize, LineTry)> = Vec::new();
        // Lines whose tries all failed: where in `written`, and the last word limit asked.
        let mut asked_again: Vec<(usize, usize)> = Vec::new();
        let mut used = 0usize;
        for round in 1..=2 {
            let room = target.saturating_sub(used);
            let budget = (room as f64 / condense::EXPECTED_RATIO) as usize;
            let mut outline =
                fieldbrief_extractive::outline(&seg, &ranked, request.style, budget, &taken);
            if outline.is_empty() {
                if round == 1 {
                    // Not even the best line fits: write it anyway, and let the layout cut.
                    outline.push(Line::of(&seg, &ranked[0]));
                } else {
                    break;
                }
            }
            taken.extend(outline.iter().map(|l| l.unit));
            let total = outline.len();
            for (i, mut line) in outline.into_iter().enumerate() {
                if condense::is_terse(&line.text) {
                    // As short as it can be: not the model's to write, nor held against it.
                } else {
                    let first =
                        LineTry::First(condense::words_for(quality::summary_words(&line.text)));
                    match self.condense_line(
                        &line.text,
                        opening.contains(&line.unit),
                        first,
                        totals,
                    )? {
                        Rewrite::Written(short) => {
                            line.text = short;
                            counts.written += 1;
                        }
                        Rewrite::HandedBack(again) => {
                            handed_back.push((written.len(), again));
                            counts.kept += 1;
                        }
                        Rewrite::Failed(last) => {
                            asked_again.push((written.len(), last));
                            counts.kept += 1;
                        }
                    }
                }
                written.push(line);
                events(EngineEvent::Progress {
                    stage: format!("lines (round {round})"),
                    done: i + 1,
                    total,
                });
            }
            used = quality::summary_words(&fieldbrief_extractive::render(request.style, &written));
            // Room for at least two more short lines: outline again.
            if used + 12 > target {
                break;
            }
        }
        // Too few lines written for the summary to be the model's: the lines it handed back
        // as they were are asked for once more, sampled, until enough are. (Measured on the
        // tuning notes, 0.5B model: the model wrote 24 of 32 summaries instead of 16, in 4.4 s
        // per note instead of 6.4, the whole-note retry being needed less. Asking again for
        // every line handed back kept 0.87 of the key facts instead of 0.86, in 5.8 s, and the
        // 1.5B model's long logs took 45 s instead of 36.)
        let mut handed_back = handed_back.into_iter();
        while !quality::lines_written(counts).passed {
            let Some((at, again)) = handed_back.next() else { break };
            let line = &mut written[at];
            match self.condense_line(&line.text, opening.contains(&line.unit), again, totals)? {
                Rewrite::Written(short) => written_after_all(line, short, &mut counts),
                Rewrite::Failed(last) => asked_again.push((at, last)),
                Rewrite::HandedBack(_) => {}
            }
        }
        // Still too few: the lines whose tries all failed (handed back twice, or a figure
        // dropped twice), best first, asked a third time, warmer and with another seed, until
        // enough are written. The alternative is the whole-note retry, which the 0.5B model
        // passed on none of 14 notes in the runs before this (it copies the note, or writes
        // the worked example's figures) at 5-35 s a note. Measured on the tuning notes, 0.5B:
        // 28 of 32 summaries by the model instead of 24 and the 1,294-word refurbishment log
        // in 35 s instead of 71 (the retry failed, the extract stood in), the same key facts.
        asked_again.sort_by_key(|&(at, _)| at);
        let mut asked_again = asked_again.into_iter();
        while !quality::lines_written(counts).passed {
            let Some((at, limit)) = asked_again.next() else { break };
            let line = &mut written[at];
            if let Rewrite::Written(short) = self.condense_line(
                &line.text,
                opening.contains(&line.unit),
                LineTry::Warmer(limit),
                totals,
            )? {
                written_after_all(line, short, &mut counts);
            }
        }
        // The rewrites may leave room: the next lines fill it in their own words.
        let (text, kept) =
            fieldbrief_extractive::fit_and_fill(&seg, &ranked, request.style, written, target);
        tracing::debug!(
            lines = kept.len(),
            written = counts.written,
            kept_own_words = counts.kept,
            "outlined summary"
        );
        events(EngineEvent::Token { text: text.clone() });
        Ok((text, counts))
    }

    /// The model's shorter rewrite of one line, starting with the try `ask`, at most two
    /// tries from there ([`LineTry`]); a line the greedy pick handed back as it was is left to
    /// the caller to ask for again, sampled, if the summary needs it, and a failed one to ask
    /// for a third time, warmer ([`LineTry::Warmer`]).
    fn condense_line(
        &self,
        line: &str,
        opening: bool,
        mut ask: LineTry,
        totals: &mut Usage,
    ) -> Result<Rewrite, EngineError> {
        let words = quality::summary_words(line);
        let greedy = Shape {
            grammar: prompt::CONDENSE_GRAMMAR,
            max_tokens: (words * 3 + 16) as u32,
            attempt: Attempt::Retry,
            resample: Resample::No,
        };
        loop {
            let (limit, shape) = match ask {
                LineTry::First(n) | LineTry::Roomier(n) => (n, greedy),
                LineTry::Resampled(n) => (n, Shape { resample: Resample::Once, ..greedy }),
                LineTry::Warmer(n) => (n, Shape { resample: Resample::Warmer, ..greedy }),
            };
            let g = self.generate(prompt::condense(limit, line), shape, &mut |_| {})?;
            totals.add(&g.stats);
            let rewrite = g.text.trim().trim_start_matches(['-', '*', '•', ' ']);
            let rewrite = condense::restore_labels(line, rewrite);
            match condense::check_in(line, &rewrite, opening) {
                Ok(()) => return Ok(Rewrite::Written(rewrite)),
                Err(why) => {
                    tracing::debug!(%why, line, rewrite, ?ask, "rewrite rejected");
                    match ask.next(&why, words) {
                        Some(again @ LineTry::Resampled(_)) => {
                            return Ok(Rewrite::HandedBack(again));
                        }
                        Some(next) => ask = next,
                        None => return Ok(Rewrite::Failed(limit)),
                    }
                }
            }
        }
    }

    /// Map-reduce over a note too long for the context. Returns the text, the number of parts
    /// and whether the final text was trimmed.
    fn summarize_in_parts(
        &self,
        doc: &Document,
        request: &SummaryRequest,
        plan: &Plan,
        events: &mut dyn FnMut(EngineEvent),
        totals: &mut Usage,
    ) -> Result<(String, usize, bool), EngineError> {
        let context = plan.context_tokens;
        let part_words = (request.max_words / 2).clamp(40, 120);
        let part_layout = Layout::new(Style::Bullets, part_words, request.attempt);
        let part_grammar = part_layout.grammar();
        let part_shape = Shape {
            grammar: &part_grammar,
            max_tokens: Self::output_budget(part_words, context),
            attempt: request.attempt,
            resample: Resample::No,
        };
        let part_overhead = self.prompt_tokens(&prompt::part(99, 99, &part_layout, ""))?;
        let budget = context
            .saturating_sub(part_overhead + part_shape.max_tokens as usize + TEMPLATE_MARGIN)
            .max(64) as u32;

        // Every unit of the note, headings included, in order.
        let units: Vec<String> =
            segment::segment(&doc.text).units.into_iter().map(|u| u.text).collect();
        let counts = self.count(units.clone())?;
        let pieces =
            units.into_iter().zip(counts).map(|(text, tokens)| Piece { text, tokens }).collect();
        let mut measure_error = None;
        let chunks = chunk::pack(pieces, budget, |windows| {
            self.count(windows.to_vec()).unwrap_or_else(|e| {
                measure_error = Some(e);
                vec![u32::MAX; windows.len()]
            })
        });
        if let Some(e) = measure_error {
            return Err(e);
        }

        let total = chunks.len();
        let mut partials = Vec::with_capacity(total);
        for (i, c) in chunks.iter().enumerate() {
            let g = self.generate(
                prompt::part(i + 1, total, &part_layout, &c.text),
                part_shape,
                &mut |_| {},
            )?;
            totals.add(&g.stats);
            partials.push(g.text);
            events(EngineEvent::Progress { stage: "parts".into(), done: i + 1, total });
        }

        // Combine, in rounds while the part summaries do not fit one prompt together.
        let layout = Layout::new(request.style, request.max_words, request.attempt);
        let grammar = layout.grammar();
        let shape = Shape {
            grammar: &grammar,
            max_tokens: Self::output_budget(request.max_words, context),
            attempt: request.attempt,
            resample: Resample::No,
        };
        for round in 1..=6 {
            let messages = prompt::combine(&layout, &partials);
            if self.prompt_tokens(&messages)? + shape.max_tokens as usize <= context {
                match self.try_generate(messages, shape, &mut |t| {
                    events(EngineEvent::Token { text: t.to_string() })
                })? {
                    Ok(g) => {
                        totals.add(&g.stats);
                        return Ok((g.text, total, g.trimmed));
                    }
                    // Measured to fit but did not (nothing was generated): shrink once more.
                    Err(overflow) => {
                        tracing::debug!(%overflow, round, "combined prompt overflowed; shrinking again")
                    }
                }
            }
            // A group's prompt is the combine instructions plus each part with its "Part N:"
            // label: budget for all of it, not only the parts' own tokens.
            let combine_overhead = self.prompt_tokens(&prompt::combine(&part_layout, &[]))?;
            let label =
                self.count(vec!["Part 999:\n\n".to_string()])?.first().copied().unwrap_or(8);
            let group_budget = context
                .saturating_sub(combine_overhead + part_shape.max_tokens as usize + TEMPLATE_MARGIN)
                .max(64) as u32;
            // One line per part: the packed groups are split back into parts at newlines.
            let lines: Vec<String> = partials
                .iter()
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            let pieces: Vec<Piece> = {
                let counts = self.count(lines.clone())?;
                lines
                    .into_iter()
                    .zip(counts)
                    .map(|(text, tokens)| Piece { text, tokens: tokens + label })
                    .collect()
            };
            let groups = chunk::pack(pieces, group_budget, |w| vec![group_budget; w.len()]);
            let n = groups.len();
            let mut next = Vec::with_capacity(n);
            for (i, g) in groups.into_iter().enumerate() {
                let parts: Vec<String> = g.text.split('\n').map(str::to_string).collect();
                let g =
                    self.generate(prompt::combine(&part_layout, &parts), part_shape, &mut |_| {})?;
                totals.add(&g.stats);
                next.push(g.text);
                events(EngineEvent::Progress {
                    stage: format!("combine round {round}"),
                    done: i + 1,
                    total: n,
                });
            }
            partials = next;
        }
        Err(EngineError::Failed("the part summaries did not shrink enough to combine".into()))
    }
}

/// The sampling of one generation: the settings' for a first try, greedy for a retry (the most
/// likely wording, not a sample of it), and for a [`Shape::resample`] the settings' at
/// [`RESAMPLE_TEMPERATURE`] or [`WARMER_TEMPERATURE`] with a fixed seed, so the same note gets
/// the same summary.
fn sampling_for(settings: &Sampling, shape: Shape<'_>) -> Sampling {
    let sampling = Sampling {
        max_tokens: shape.max_tokens,
        grammar: Some(shape.grammar.to_string()),
        ..settings.clone()
    };
    match (shape.resample, shape.attempt) {
        (Resample::Warmer, _) => Sampling {
            temperature: WARMER_TEMPERATURE,
            top_p: RESAMPLE_TOP_P,
            seed: WARMER_SEED,
            ..sampling
        },
        (Resample::Once, _) => Sampling {
            temperature: RESAMPLE_TEMPERATURE,
            top_p: RESAMPLE_TOP_P,
            seed: RESAMPLE_SEED,
            ..sampling
        },
        (Resample::No, Attempt::Retry) => Sampling {
            grammar: sampling.grammar,
            draft: sampling.draft,
            ..Sampling::deterministic(shape.max_tokens)
        },
        (Resample::No, Attempt::First) => sampling,
    }
}

/// A line that kept its own words, rewritten by the model on a later ask.
fn written_after_all(line: &mut Line, short: String, counts: &mut Lines) {
    line.text = short;
    counts.written += 1;
    counts.kept -= 1;
}

/// What came of asking the model to rewrite a line.
enum Rewrite {
    Written(String),
    /// The greedy pick gave the line back as it was; this is the try that may still change it.
    HandedBack(LineTry),
    /// The tries failed the checks: the line keeps its own words. The last try's word limit.
    Failed(usize),
}

/// One ask for a line's rewrite, with its word limit: two per line, and a third
/// ([`LineTry::Warmer`]) where the summary still has too few lines of the model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineTry {
    /// Greedy, at `condense::words_for` the line's words.
    First(usize),
    /// Greedy, with more room: most failures are a figure dropped to meet the word limit.
    Roomier(usize),
    /// Sampled, at the same limit: the greedy pick handed the line back as it was.
    Resampled(usize),
    /// Sampled warmer, with another seed: the summary still has too few lines of the model's.
    Warmer(usize),
}

impl LineTry {
    /// What to ask after this try's rewrite of a `line_words`-word line was rejected for
    /// `why`: a line handed back is asked for once more, sampled (the most likely wording of a
    /// terse line is often the line itself), where the summary needs it to be the model's
    /// (`quality::lines_written`); any other failure once more with room halfway to the line's
    /// length; nothing after a second try.
    fn next(self, why: &condense::Rejection, line_words: usize) -> Option<LineTry> {
        let LineTry::First(first) = self else { return None };
        let roomier = (first + line_words).div_ceil(2);
        match why {
            condense::Rejection::NotShorter { .. } => Some(LineTry::Resampled(first)),
            _ if roomier > first => Some(LineTry::Roomier(roomier)),
            _ => None,
        }
    }
}

impl Engine for LocalEngine {
    fn name(&self) -> &'static str {
        "local"
    }

    fn summarize(
        &self,
        doc: &Document,
        request: &SummaryRequest,
        events: &mut dyn FnMut(EngineEvent),
    ) -> Result<EngineOutput, EngineError> {
        match self.summarize_once(doc, request, events) {
            // A GPU that fails mid-request (out of memory, device lost): run it again on the
            // CPU, and say so.
            Err(EngineError::Failed(why)) if self.on_gpu() => {
                self.cpu_only.store(true, Ordering::Relaxed);
                let mut out = self.summarize_once(doc, request, events)?;
                out.gpu_fallback = Some(format!("the GPU failed ({why}); ran on the CPU"));
                Ok(out)
            }
            other => other,
        }
    }
}

impl LocalEngine {
    fn on_gpu(&self) -> bool {
        !self.cpu_only.load(Ordering::Relaxed) && self.describe().is_ok_and(|d| d.gpu_layers > 0)
    }

    /// The compute devices the worker's llama.cpp sees.
    pub fn devices(&self) -> Result<Vec<crate::protocol::Device>, EngineError> {
        match self.call(Request::Devices { id: self.id() }, &mut |_| {})? {
            Event::Devices { devices, .. } => Ok(devices),
            other => Err(EngineError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    fn summarize_once(
        &self,
        doc: &Document,
        request: &SummaryRequest,
        events: &mut dyn FnMut(EngineEvent),
    ) -> Result<EngineOutput, EngineError> {
        // The flag is the caller's to reset when a request starts (a Ctrl-C that arrives while
        // the request is still being routed must not be forgotten here).
        if self.cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        let plan = self.plan(doc, request)?;
        let mut totals = Usage::default();
        let mut lines = None;
        let (text, chunks, trimmed) = if plan.fits() && request.attempt == Attempt::First {
            // Outline, then write line by line, each line checked. The second try is another
            // way of writing, not the same one again: the whole note in one prompt. (Measured on
            // the holdout set with the first fitted salience ranking, 0.5B model: outline first
            // kept 0.75 of the key facts and the model served 6 of 8 notes, in 18 s per note;
            // the whole note first 0.68, 6 of 8, 40 s. A note too long for the context is read
            // in parts, and a failed one is not retried.)
            let (text, counts) = self.summarize_outlined(doc, request, events, &mut totals)?;
            lines = Some(counts);
            (text, 1, false)
        } else if plan.fits() {
            let layout = Layout::new(request.style, request.max_words, request.attempt);
            let grammar = layout.grammar();
            let shape = Shape {
                grammar: &grammar,
                max_tokens: Self::output_budget(request.max_words, plan.context_tokens),
                attempt: request.attempt,
                resample: Resample::No,
            };
            let g = self.generate(prompt::single(&layout, &doc.text), shape, &mut |t| {
                events(EngineEvent::Token { text: t.to_string() })
            })?;
            totals.add(&g.stats);
            (condense::restore_labels(&doc.text, &g.text), 1, g.trimmed)
        } else {
            self.summarize_in_parts(doc, request, &plan, events, &mut totals)?
        };
        Ok(EngineOutput {
            text,
            input_tokens: totals.input,
            output_tokens: totals.output,
            decoding: Some(totals.decoding),
            model: Some(ModelRef {
                id: self.model.id.clone(),
                version: self.model.version.clone(),
            }),
            prompt_version: prompt::version(request.style),
            chunks,
            gpu_fallback: plan.model.gpu_fallback.clone(),
            trimmed,
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbrief_core::condense::Rejection;

    #[test]
    fn a_line_handed_back_is_asked_for_once_more_sampled_and_other_failures_with_more_room() {
        let first = LineTry::First(6);
        // "6 words" asked of a 10-word line: the model gave the line back.
        let back = Rejection::NotShorter { line: 10, rewrite: 10 };
        assert_eq!(first.next(&back, 10), Some(LineTry::Resampled(6)));
        let dropped = Rejection::Dropped("12 V".into());
        assert_eq!(first.next(&dropped, 10), Some(LineTry::Roomier(8)));
        // No more room to give a line as short as its ask.
        assert_eq!(LineTry::First(5).next(&dropped, 5), None);
        // Two tries at most.
        for second in [LineTry::Resampled(6), LineTry::Roomier(8)] {
            assert_eq!(second.next(&back, 10), None);
            assert_eq!(second.next(&dropped, 10), None);
        }
    }

    #[test]
    fn a_resampled_line_is_sampled_with_a_fixed_seed_and_a_retry_is_greedy() {
        let settings = Sampling { seed: 1234, draft: 3, ..Sampling::default() };
        let shape = |attempt, resample| Shape {
            grammar: "root ::= \"x\"",
            max_tokens: 40,
            attempt,
            resample,
        };
        let first = sampling_for(&settings, shape(Attempt::First, Resample::No));
        assert_eq!(
            (first.temperature, first.seed, first.max_tokens),
            (settings.temperature, 1234, 40)
        );
        assert_eq!(first.grammar.as_deref(), Some("root ::= \"x\""));

        let retry = sampling_for(&settings, shape(Attempt::Retry, Resample::No));
        assert_eq!(retry.temperature, 0.0, "a retry is greedy");
        assert_eq!((retry.max_tokens, retry.draft), (40, 3));
        assert!(retry.grammar.is_some());

        let resampled = sampling_for(&settings, shape(Attempt::Retry, Resample::Once));
        assert!(resampled.temperature > settings.temperature, "warmer than the settings");
        assert_eq!((resampled.seed, resampled.max_tokens), (RESAMPLE_SEED, 40));
        assert_eq!(resampled.grammar.as_deref(), Some("root ::= \"x\""));
        assert_eq!(
            sampling_for(&settings, shape(Attempt::Retry, Resample::Once)),
            resampled,
            "the same every time"
        );

        // The third ask: warmer still, and another seed than the second's.
        let warmer = sampling_for(&settings, shape(Attempt::First, Resample::Warmer));
        assert!(warmer.temperature > resampled.temperature);
        assert_ne!(warmer.seed, resampled.seed);
        assert_eq!(warmer.grammar.as_deref(), Some("root ::= \"x\""));
        assert_eq!(sampling_for(&settings, shape(Attempt::First, Resample::Warmer)), warmer);
    }
}
