//! `fieldbrief bench`: a model's speed through the same worker path `summarize` uses, a real
//! summary cold and warm, and optionally one note with and without speculative decoding.

use crate::{Error, Fieldbrief, Result, ms};
use fieldbrief_core::Style;
use fieldbrief_core::engine::{
    Attempt, Engine, EngineError, LengthTarget, ModelRef, SummaryRequest,
};
use fieldbrief_core::quality;
use fieldbrief_engine::local::{LocalEngine, LocalModel, LocalSettings};
use fieldbrief_engine::protocol::{BenchStats, Sampling};
use fieldbrief_engine::supervisor::WorkerCommand;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// What `bench` measured for a model.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: ModelRef,
    pub stats: BenchStats,
    /// Token events that crossed the worker protocol in the measured run.
    pub tokens_streamed: usize,
    /// A real 16-word summary on the warm worker, then the same again: the second one reuses
    /// the prompt prefix in the KV cache.
    pub summary_cold_ms: f64,
    pub summary_warm_ms: f64,
    /// What formats the prompts (see `ModelDescription::chat`).
    pub chat: String,
    /// `bench --note`: a real summary of the note, with and without speculative decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteBench>,
}

/// One note summarized end to end on the local model, greedy, on a fresh worker each time,
/// both ways the engine writes a summary: outlined (the first try: the note's best lines, each
/// rewritten shorter, many short generations) and the whole note in one prompt (the retry).
#[derive(Debug, Clone, Serialize)]
pub struct NoteBench {
    pub name: String,
    pub words: usize,
    pub target_words: usize,
    pub paths: Vec<PathBench>,
}

/// One way of writing the note's summary, three times: without speculative decoding, with it,
/// and with it again from a warm start (the prompts' fixed beginnings restored from the states
/// the run before saved).
#[derive(Debug, Clone, Serialize)]
pub struct PathBench {
    /// `outlined` or `whole_note`.
    pub path: &'static str,
    /// Plain decoding (cold), speculative (cold), speculative (warm start).
    pub runs: Vec<NoteRun>,
    /// All runs wrote exactly the same summary (greedy decoding: they must).
    pub identical: bool,
    /// Decode speed with speculation over without.
    pub speedup: f64,
    /// Time to first token of the warm start over the cold one.
    pub warm_first_token_ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteRun {
    /// Tokens guessed per step (0 = plain decoding).
    pub draft: u32,
    pub warm_start: bool,
    pub seconds: f64,
    /// From the first prompt to its first token.
    pub first_token_ms: f64,
    pub output_tokens: usize,
    /// Output tokens over the time spent writing them (each generation's prompt excluded).
    pub decode_tok_s: f64,
    pub drafted: usize,
    pub accepted: usize,
    /// The summary it wrote.
    #[serde(rename = "summary")]
    pub text: String,
}

const BENCH_NOTE: &str = "Pump P-101 inspected on 2026-03-14. Discharge 4.2 bar, bearing 78 °C, \
vibration 7.1 mm/s at the drive end. Replaced bearing P/N 6309-2Z-C3. Seal kit to order.";

impl Fieldbrief {
    /// Speed of a model through the worker path `summarize` uses.
    pub fn bench(
        &mut self,
        model: &str,
        threads: u32,
        prompt_tokens: u32,
        gen_tokens: u32,
        note: Option<&Path>,
    ) -> Result<BenchReport> {
        let worker = self
            .local
            .worker()
            .cloned()
            .ok_or_else(|| Error::Home("no engine worker in this build".into()))?;
        let model = self.resolve_model(model)?;
        fieldbrief_gguf::inspect(&model.path)
            .map_err(|e| Error::InvalidModel(format!("{}: {e}", model.path.display())))?;
        let e = &self.settings.engine;
        // The model's own context (or the configured one) also holds the real summaries below.
        let settings = LocalSettings {
            gpu_layers: e.gpu_layers,
            context: e.context,
            threads,
            ..Default::default()
        };
        let engine = LocalEngine::new(worker.clone(), model.clone(), settings);
        let first =
            engine.bench(prompt_tokens, gen_tokens).map_err(|e| self.engine_error(&model, e))?;
        // A second, real request on the warm worker: its time to first token shows what the
        // prefix cache saves when a prompt starts like the previous one.
        let doc = fieldbrief_ingest::from_typed(BENCH_NOTE)?;
        let request = SummaryRequest::new(Style::Bullets, Some(16));
        let t = Instant::now();
        engine.summarize(&doc, &request, &mut |_| {}).map_err(|e| self.engine_error(&model, e))?;
        let cold = ms(t);
        let t = Instant::now();
        engine.summarize(&doc, &request, &mut |_| {}).map_err(|e| self.engine_error(&model, e))?;
        let warm = ms(t);
        let chat = engine.describe().map(|d| d.chat).unwrap_or_default();
        drop(engine);
        let note = match note {
            Some(path) => Some(self.bench_note(&worker, &model, threads, path)?),
            None => None,
        };
        Ok(BenchReport {
            model: ModelRef { id: model.id, version: model.version },
            stats: first.0,
            tokens_streamed: first.1,
            summary_cold_ms: cold,
            summary_warm_ms: warm,
            chat,
            note,
        })
    }

    fn bench_note(
        &self,
        worker: &WorkerCommand,
        model: &LocalModel,
        threads: u32,
        path: &Path,
    ) -> Result<NoteBench> {
        let limits = self.input_limits();
        let doc = fieldbrief_ingest::read_path(path, &limits)?;
        let words = quality::summary_words(&doc.text);
        let target = LengthTarget::choose(Style::Bullets, None, None, &doc.text).words;
        let e = &self.settings.engine;
        let draft =
            if e.draft_tokens > 0 { e.draft_tokens } else { fieldbrief_engine::protocol::DRAFT };
        // Their own states, started empty: the first runs are cold starts.
        let states = self.home.engine_state_dir().join("bench");
        let _ = std::fs::remove_dir_all(&states);
        let mut paths = Vec::new();
        for (path, attempt) in [("outlined", Attempt::First), ("whole_note", Attempt::Retry)] {
            let request =
                SummaryRequest { attempt, ..SummaryRequest::new(Style::Bullets, Some(target)) };
            let mut runs = Vec::new();
            for (d, state) in [(0, "plain"), (draft, "speculative"), (draft, "speculative")] {
                let sampling = Sampling { draft: d, ..Sampling::deterministic(0) };
                let settings = LocalSettings {
                    gpu_layers: e.gpu_layers,
                    context: e.context,
                    threads,
                    sampling,
                    state_dir: Some(states.join(path).join(state)),
                    ..Default::default()
                };
                let engine = LocalEngine::new(worker.clone(), model.clone(), settings);
                // Loaded first: the run measures the summary, not the model load.
                engine.describe().map_err(|err| self.engine_error(model, err))?;
                let t = Instant::now();
                let out = engine
                    .summarize(&doc, &request, &mut |_| {})
                    .map_err(|err| self.engine_error(model, err))?;
                let seconds = t.elapsed().as_secs_f64();
                let decoding = out.decoding.unwrap_or_default();
                runs.push(NoteRun {
                    draft: d,
                    warm_start: decoding.warm_start,
                    seconds,
                    first_token_ms: decoding.first_token_ms,
                    output_tokens: out.output_tokens,
                    decode_tok_s: out.output_tokens as f64 * 1000.0 / decoding.decode_ms.max(1e-6),
                    drafted: decoding.drafted,
                    accepted: decoding.accepted,
                    text: out.text,
                });
            }
            paths.push(PathBench {
                path,
                identical: runs.iter().all(|r| r.text == runs[0].text),
                speedup: runs[1].decode_tok_s / runs[0].decode_tok_s.max(1e-9),
                warm_first_token_ratio: runs[2].first_token_ms / runs[1].first_token_ms.max(1e-9),
                runs,
            });
        }
        let _ = std::fs::remove_dir_all(&states);
        Ok(NoteBench { name: doc.name.clone(), words, target_words: target, paths })
    }

    fn engine_error(&self, model: &LocalModel, e: EngineError) -> Error {
        match e {
            EngineError::InvalidModel(m) => Error::InvalidModel(m),
            other => Error::Engine { input: model.id.clone(), source: other },
        }
    }
}
