//! One loaded model and its context: prompt formatting, tokenizing, generation with
//! prefix reuse, and the speed benchmark.

use crate::{Cancellations, Emitter, backend_name, is_cancelled};
use fieldbrief_engine::protocol::{
    BenchStats, ErrorKind, Event, GenerationStats, LoadSpec, Message, ModelDescription, Request,
    Sampling, SmokeReport, StopReason,
};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::vocab::LlamaVocab;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Instant;

type Failure = (ErrorKind, String);

pub(crate) struct Loaded {
    pub model: LlamaModel,
    pub desc: ModelDescription,
    /// The family's chat markup, for a file without a usable template.
    pub chat_format: Option<fieldbrief_gguf::ChatFormat>,
}

/// Prompt beginnings shorter than this are decoded, not restored: the file costs more.
const MIN_WARM_PREFIX: usize = 32;

/// The smallest context a session allocates: room for a short note, its prompt and answer,
/// so most requests never regrow it.
const MIN_CONTEXT: u32 = 2048;

/// The largest context the KV cache may take in `free` bytes of memory: at most half of it,
/// so the model, compute buffers and everything else on the laptop keep the rest.
fn memory_cap(kv_bytes_per_token: u64, free: u64) -> u32 {
    let tokens = (free / 2) / kv_bytes_per_token.max(1);
    (tokens.min(u32::MAX as u64) as u32 / 256 * 256).max(512)
}

/// The context to allocate for `needed` tokens (prompt and output): the next power of two, at
/// least [`MIN_CONTEXT`], at most `cap`.
pub(crate) fn context_size(needed: usize, cap: u32) -> u32 {
    let want = (needed.max(1) as u64).next_power_of_two().max(MIN_CONTEXT as u64);
    want.min(cap as u64) as u32
}

/// Validates the file first (llama.cpp answers a bad file with null, or aborts), then loads it
/// memory-mapped; if GPU offload fails, loads it again on the CPU and says so.
pub(crate) fn load(backend: &LlamaBackend, spec: &LoadSpec) -> Result<Loaded, Failure> {
    let path = Path::new(&spec.path);
    let info = fieldbrief_gguf::inspect(path)
        .map_err(|e| (ErrorKind::InvalidModel, format!("{}: {e}", spec.path)))?;
    let started = Instant::now();
    let (wanted, device) = match spec.gpu_layers {
        Some(0) => (0, "CPU".to_string()),
        Some(n) => (n, gpu_name().unwrap_or_else(|| "CPU".into())),
        None => auto_gpu_layers(&info),
    };
    let params = LlamaModelParams::default().with_n_gpu_layers(wanted).with_use_mmap(true);
    let (model, gpu_layers, gpu_fallback) = match LlamaModel::load_from_file(backend, path, &params)
    {
        Ok(m) => (m, wanted, None),
        Err(e) if wanted > 0 => {
            tracing::warn!(error = %e, "GPU load failed; retrying on the CPU");
            let cpu = LlamaModelParams::default().with_n_gpu_layers(0).with_use_mmap(true);
            let m = LlamaModel::load_from_file(backend, path, &cpu).map_err(|e| {
                (ErrorKind::LoadFailed, format!("llama.cpp could not load {}: {e}", spec.path))
            })?;
            (m, 0, Some(format!("GPU load failed ({e}); running on the CPU")))
        }
        Err(e) => {
            return Err((
                ErrorKind::LoadFailed,
                format!("llama.cpp could not load {}: {e}", spec.path),
            ));
        }
    };
    let n_ctx_train = model.n_ctx_train();
    // The most any request may use: what was asked for (the model's own maximum by default),
    // capped by the memory the KV cache may take on the device that holds it. Each request
    // then gets a context sized to its prompt and output (`context_size`), not this.
    let asked = if spec.n_ctx == 0 { n_ctx_train } else { spec.n_ctx };
    let free = memory_free(gpu_layers > 0);
    let n_ctx = match free {
        Some(free) => asked.min(memory_cap(info.kv_bytes_per_token, free)),
        None => asked,
    };
    let desc = ModelDescription {
        n_ctx_train,
        n_ctx,
        n_params: model.n_params(),
        has_chat_template: info.chat_template.is_some(),
        chat: match (&info.chat_template, info.chat_format) {
            (Some(_), _) => "template".into(),
            (None, format) => {
                serde_json::to_value(format.unwrap_or(fieldbrief_gguf::ChatFormat::ChatMl))
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            }
        },
        backend: if gpu_layers > 0 { backend_name().into() } else { "cpu".into() },
        device: if gpu_layers > 0 { device } else { "CPU".into() },
        gpu_layers,
        load_ms: started.elapsed().as_secs_f64() * 1000.0,
        gpu_fallback,
    };
    Ok(Loaded { model, desc, chat_format: info.chat_format })
}

/// Free memory of the device the KV cache lives on (the GPU's when layers are offloaded, else
/// the machine's), as llama.cpp's backends report it.
fn memory_free(on_gpu: bool) -> Option<u64> {
    let devices = if on_gpu {
        gpus()
    } else {
        llama_cpp_2::list_llama_ggml_backend_devices()
            .into_iter()
            .filter(|d| matches!(d.device_type, llama_cpp_2::LlamaBackendDeviceType::Cpu))
            .collect()
    };
    devices.into_iter().map(|d| d.memory_free as u64).filter(|&f| f > 0).max()
}

fn gpus() -> Vec<llama_cpp_2::LlamaBackendDevice> {
    use llama_cpp_2::LlamaBackendDeviceType::{Gpu, IntegratedGpu};
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .filter(|d| matches!(d.device_type, Gpu | IntegratedGpu))
        .collect()
}

fn gpu_name() -> Option<String> {
    gpus().into_iter().next().map(|d| if d.description.is_empty() { d.name } else { d.description })
}

/// As many layers as the GPU with the most free memory holds, keeping room for the KV cache and
/// compute buffers; 0 without a GPU (CPU builds have none).
fn auto_gpu_layers(info: &fieldbrief_gguf::ModelInfo) -> (u32, String) {
    let Some(gpu) = gpus().into_iter().max_by_key(|d| d.memory_free) else {
        return (0, "CPU".into());
    };
    let layers = info.block_count + 1; // the output layer counts too
    let per_layer = (info.file_size / layers).max(1);
    let reserve: u64 = 768 * 1024 * 1024;
    let fit = (gpu.memory_free as u64).saturating_sub(reserve) / per_layer;
    let name = if gpu.description.is_empty() { gpu.name } else { gpu.description };
    (fit.min(layers) as u32, name)
}

pub(crate) struct Session<'a> {
    backend: &'a LlamaBackend,
    loaded: &'a Loaded,
    spec: &'a LoadSpec,
    out: &'a Emitter,
    cancellations: &'a Cancellations,
    ctx: Option<LlamaContext<'a>>,
    /// Tokens the context holds (0 before there is one).
    ctx_size: u32,
    /// Tokens whose KV entries are in the context, in order.
    cached: Vec<LlamaToken>,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        backend: &'a LlamaBackend,
        loaded: &'a Loaded,
        spec: &'a LoadSpec,
        out: &'a Emitter,
        cancellations: &'a Cancellations,
    ) -> Session<'a> {
        Session {
            backend,
            loaded,
            spec,
            out,
            cancellations,
            ctx: None,
            ctx_size: 0,
            cached: Vec::new(),
        }
    }

    pub(crate) fn serve(&mut self, request: Request) {
        let id = request.id().map(str::to_string);
        let result = match request {
            Request::Info { id, .. } => Ok(Event::Info { id, model: self.loaded.desc.clone() }),
            Request::Tokenize { id, texts, .. } => {
                let counts = texts.iter().map(|t| self.tokenize(t, false).len() as u32).collect();
                Ok(Event::Tokens { id, counts })
            }
            Request::Generate { id, messages, sampling, .. } => self
                .generate(&id, &messages, &sampling)
                .map(|stats| Event::Done { id: id.clone(), stats }),
            Request::Bench { id, prompt_tokens, gen_tokens, .. } => self
                .bench(&id, prompt_tokens, gen_tokens)
                .map(|stats| Event::Bench { id: id.clone(), stats }),
            Request::Smoke { id, tokens, .. } => {
                self.smoke(&id, tokens).map(|report| Event::Smoke { id: id.clone(), report })
            }
            Request::Devices { .. } | Request::Cancel { .. } | Request::Shutdown => return,
        };
        match result {
            Ok(event) => self.out.emit(&event),
            Err((kind, message)) => self.out.error(id.as_deref(), kind, message),
        }
        if let (Some(id), Ok(mut set)) = (id, self.cancellations.lock()) {
            set.remove(&id);
        }
    }

    /// The configured thread count, else one per logical CPU (llama.cpp's own default is a
    /// fixed 4, too many for a 2-core laptop).
    fn threads(&self) -> u32 {
        if self.spec.threads > 0 {
            self.spec.threads
        } else {
            std::thread::available_parallelism().map_or(4, |n| n.get() as u32)
        }
    }

    fn batch(&self) -> u32 {
        if self.spec.batch > 0 { self.spec.batch.clamp(32, 2048) } else { 512 }
    }

    fn tokenize(&self, text: &str, add_special: bool) -> Vec<LlamaToken> {
        self.loaded.model.vocab().tokenize(text.as_bytes(), add_special, add_special)
    }

    /// The context, created at the smallest size when there is none yet.
    fn context(&mut self) -> Result<&mut LlamaContext<'a>, Failure> {
        if self.ctx.is_none() {
            self.ensure_context(0)?;
        }
        self.ctx.as_mut().ok_or((ErrorKind::LoadFailed, "no context".into()))
    }

    /// Makes sure the context holds `needed` tokens: a context is sized to the work
    /// ([`context_size`]), not to the model's maximum, and is made again, larger, when a request
    /// needs more (the KV prefix it held is lost then).
    fn ensure_context(&mut self, needed: usize) -> Result<(), Failure> {
        let cap = self.loaded.desc.n_ctx;
        if needed > cap as usize {
            return Err((
                ErrorKind::ContextOverflow,
                format!("the request needs {needed} tokens; the context holds {cap}"),
            ));
        }
        if self.ctx.is_some() && needed <= self.ctx_size as usize {
            return Ok(());
        }
        let size = context_size(needed, cap);
        self.ctx = None;
        let threads = self.threads() as i32;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(size))
            .with_n_batch(self.batch().min(size))
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = self.loaded.model.new_context(self.backend, params).map_err(|e| {
            (ErrorKind::LoadFailed, format!("could not create a {size}-token context: {e}"))
        })?;
        tracing::debug!(size, needed, cap, "context created");
        self.ctx = Some(ctx);
        self.ctx_size = size;
        self.cached.clear();
        Ok(())
    }

    /// The model's own chat template when it has one that llama.cpp knows; else its family's
    /// markup, told by the vocabulary (`crate::chat`); ChatML when neither is known.
    fn format(&self, messages: &[Message]) -> String {
        let model = &self.loaded.model;
        if let Ok(template) = model.chat_template(None) {
            let chat: Result<Vec<LlamaChatMessage>, _> = messages
                .iter()
                .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
                .collect();
            if let Ok(chat) = chat
                && let Ok(text) = model.apply_chat_template(&template, &chat, true)
            {
                return text;
            }
            tracing::warn!(
                "the model's chat template could not be applied; using its family's markup"
            );
        }
        let format = self.loaded.chat_format.unwrap_or(fieldbrief_gguf::ChatFormat::ChatMl);
        crate::chat::render(format, messages)
    }

    /// The fixed beginning of a prompt: the tokens before the last message's content (the
    /// instructions and worked examples), found as the tokens the prompt shares with the same
    /// messages around two other contents. 0 for a prompt of one message.
    fn fixed_prefix(&self, messages: &[Message], tokens: &[LlamaToken]) -> usize {
        let Some((last, earlier)) = messages.split_last() else { return 0 };
        if earlier.is_empty() {
            return 0;
        }
        let with = |content: &str| {
            let mut m = earlier.to_vec();
            m.push(Message { role: last.role.clone(), content: content.into() });
            self.tokenize(&self.format(&m), true)
        };
        let (a, b) = (with("x"), with("y"));
        let shared = |p: &[LlamaToken], q: &[LlamaToken]| {
            p.iter().zip(q).take_while(|(x, y)| x == y).count()
        };
        shared(&a, &b).min(shared(&a, tokens))
    }

    /// Warm start: when the KV cache is empty (a new worker, a new context), the prompt's
    /// fixed beginning ([`Session::fixed_prefix`]) is restored from the state saved by an
    /// earlier request, or decoded and saved for the next one. Kept per model file and
    /// beginning, so a new prompt version or model gets its own. Returns whether it restored.
    fn warm_start(
        &mut self,
        id: &str,
        messages: &[Message],
        tokens: &[LlamaToken],
        reserve: usize,
    ) -> Result<bool, Failure> {
        let Some(dir) = self.spec.state_dir.clone() else { return Ok(false) };
        if !self.cached.is_empty() {
            return Ok(false);
        }
        let prefix = self.fixed_prefix(messages, tokens);
        if prefix < MIN_WARM_PREFIX {
            return Ok(false);
        }
        let store = crate::warm::Store::new(Path::new(&dir), Path::new(&self.spec.path));
        let key = store.key(tokens[..prefix].iter().map(|t| t.0));
        self.ensure_context((tokens.len() + reserve).min(self.loaded.desc.n_ctx as usize))?;
        if let Some(path) = store.verified(&key) {
            let ctx = self.context()?;
            match ctx.state_seq_load_file(&path, 0, prefix + 1) {
                Ok((restored, _)) if restored.as_slice() == &tokens[..prefix] => {
                    self.cached = restored;
                    return Ok(true);
                }
                outcome => {
                    tracing::warn!(path = %path.display(), ok = outcome.is_ok(), "saved prompt state unusable; discarded");
                    ctx.clear_kv_cache();
                    self.cached.clear();
                    store.discard(&key);
                }
            }
        }
        // Cold: decode the beginning alone, save it, and the caller decodes the rest after it.
        self.prefill(id, &tokens[..prefix], tokens.len() - prefix + reserve)?;
        if self.cached.len() == prefix {
            let ctx = self.context()?;
            let saved = store.save(&key, |tmp| {
                ctx.state_seq_save_file(tmp, 0, &tokens[..prefix])
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not save the prompt state for warm starts");
            }
        }
        Ok(false)
    }

    /// Decodes `tokens` after the longest prefix already in the KV cache, in a context with
    /// room for `reserve` more (the output). Returns how many tokens were reused.
    fn prefill(
        &mut self,
        id: &str,
        tokens: &[LlamaToken],
        reserve: usize,
    ) -> Result<usize, Failure> {
        let n_ctx = self.loaded.desc.n_ctx as usize;
        if tokens.len() >= n_ctx {
            return Err((
                ErrorKind::ContextOverflow,
                format!("the prompt is {} tokens; the context holds {n_ctx}", tokens.len()),
            ));
        }
        // The output may be cut by a full context, never the prompt.
        self.ensure_context((tokens.len() + reserve).min(n_ctx))?;
        let mut reuse = self.cached.iter().zip(tokens).take_while(|(a, b)| a == b).count();
        // The last prompt token is always decoded again: its logits start the generation.
        reuse = reuse.min(tokens.len().saturating_sub(1));
        let cancellations = self.cancellations.clone();
        let n_batch = self.batch() as usize;
        let ctx = self.context()?;
        if ctx.kv_cache_seq_rm(0, Some(reuse as u32), None).is_err() {
            ctx.clear_kv_cache();
            reuse = 0;
        }
        self.cached.truncate(reuse);
        let ctx = self.context()?;
        let mut batch = LlamaBatch::new(n_batch, 1);
        let last = tokens.len() - 1;
        // Only what was decoded is in the cache: a cancel stops between batches.
        let mut decoded = reuse;
        for (chunk_start, chunk) in
            tokens[reuse..].chunks(n_batch).enumerate().map(|(i, c)| (reuse + i * n_batch, c))
        {
            if is_cancelled(&cancellations, id) {
                break;
            }
            batch.clear();
            for (k, &tok) in chunk.iter().enumerate() {
                let pos = chunk_start + k;
                batch
                    .add(tok, pos as i32, &[0], pos == last)
                    .map_err(|e| (ErrorKind::DecodeFailed, format!("batch: {e}")))?;
            }
            ctx.decode(&mut batch)
                .map_err(|e| (ErrorKind::DecodeFailed, format!("prompt decode failed: {e}")))?;
            decoded = chunk_start + chunk.len();
        }
        self.cached.extend_from_slice(&tokens[reuse..decoded]);
        Ok(reuse)
    }

    fn generate(
        &mut self,
        id: &str,
        messages: &[Message],
        sampling: &Sampling,
    ) -> Result<GenerationStats, Failure> {
        let started = Instant::now();
        let prompt = self.format(messages);
        let tokens = self.tokenize(&prompt, true);
        if tokens.is_empty() {
            return Err((ErrorKind::BadRequest, "empty prompt".into()));
        }
        let reserve = sampling.max_tokens as usize;
        let warm_start = self.warm_start(id, messages, &tokens, reserve)?;
        let reused = self.prefill(id, &tokens, reserve)?;
        let prompt_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut sampler = Picker::new(sampling, &self.loaded.model)?;
        let how = Decoding {
            max_tokens: sampling.max_tokens,
            emit: true,
            stop_at_eog: true,
            draft_max: sampling.draft,
        };
        let done = self.decode_loop(id, &mut sampler, started, how)?;
        Ok(GenerationStats {
            prompt_tokens: tokens.len() as u32,
            cached_tokens: reused as u32,
            output_tokens: done.tokens,
            prompt_ms,
            generate_ms: started.elapsed().as_secs_f64() * 1000.0 - prompt_ms,
            ttft_ms: done.ttft_ms,
            stop: done.stop,
            context_tokens: self.ctx_size,
            drafted_tokens: done.drafted,
            accepted_tokens: done.accepted,
            warm_start,
        })
    }

    /// Samples and decodes until end of text (when `stop_at_eog`), the token limit, a full
    /// context or a cancel, streaming text when `emit`.
    ///
    /// With `draft_max` > 0 it decodes speculatively from the prompt (prompt-lookup decoding,
    /// [`draft`]): after each token, the tokens that followed the latest earlier occurrence of
    /// the text's last few tokens are guessed to come next, and the token and its guesses are
    /// decoded in one batch. Each position is then sampled in order, exactly as plain decoding
    /// samples it; a guess is kept while it equals what was sampled, and the first mismatch
    /// ends the batch (its sample is the next token; the KV entries after it are dropped). So
    /// the text is the one plain decoding gives, at the cost of one batch where several
    /// one-token decodes would be.
    fn decode_loop(
        &mut self,
        id: &str,
        sampler: &mut Picker,
        started: Instant,
        how: Decoding,
    ) -> Result<Decoded, Failure> {
        let Decoding { max_tokens, emit, stop_at_eog, draft_max } = how;
        let n_ctx = self.ctx_size as usize;
        let cancellations = self.cancellations.clone();
        let out = self.out.clone();
        let vocab = self.loaded.model.vocab();
        let mut text = Utf8Stream::default();
        let mut batch = LlamaBatch::new(draft_max as usize + 1, 1);
        let mut done = Decoded {
            stop: StopReason::MaxTokens,
            tokens: 0,
            ttft_ms: 0.0,
            drafted: 0,
            accepted: 0,
        };
        let mut emit_token = |token: LlamaToken, done: &mut Decoded| {
            if done.tokens == 0 {
                done.ttft_ms = started.elapsed().as_secs_f64() * 1000.0;
            }
            done.tokens += 1;
            if emit {
                // One event per token, so clients can count them; the text is empty while a
                // character split across tokens is incomplete.
                let chunk = text.push(&vocab.token_to_piece(token, false, None));
                out.emit(&Event::Token { id: id.into(), text: chunk });
            }
        };
        // A prompt cancelled while it was being read has no logits to sample from.
        if is_cancelled(&cancellations, id) {
            done.stop = StopReason::Cancelled;
            return Ok(done);
        }
        // The next token, sampled but not yet decoded.
        let mut next = {
            let ctx = self.context()?;
            sampler.pick(ctx, -1, &vocab)
        };
        done.stop = loop {
            if is_cancelled(&cancellations, id) {
                break StopReason::Cancelled;
            }
            if stop_at_eog && vocab.is_eog(next) {
                break StopReason::EndOfText;
            }
            if done.tokens >= max_tokens {
                break StopReason::MaxTokens;
            }
            if self.cached.len() >= n_ctx {
                break StopReason::ContextFull;
            }
            emit_token(next, &mut done);
            self.cached.push(next);
            // Guesses never run past the token limit or the context.
            let room =
                (max_tokens - done.tokens).min(n_ctx.saturating_sub(self.cached.len() + 1) as u32);
            let guesses: Vec<LlamaToken> =
                draft(&self.cached, draft_max.min(room) as usize).to_vec();
            batch.clear();
            let start = self.cached.len() - 1;
            for (k, &tok) in std::iter::once(&next).chain(&guesses).enumerate() {
                batch
                    .add(tok, (start + k) as i32, &[0], true)
                    .map_err(|e| (ErrorKind::DecodeFailed, format!("batch: {e}")))?;
            }
            let ctx = self.context()?;
            ctx.decode(&mut batch)
                .map_err(|e| (ErrorKind::DecodeFailed, format!("decode failed: {e}")))?;
            done.drafted += guesses.len() as u32;
            let mut k = 0;
            next = loop {
                let ctx = self.context()?;
                let token = sampler.pick(ctx, k as i32, &vocab);
                let keep = guesses.get(k) == Some(&token)
                    && !(stop_at_eog && vocab.is_eog(token))
                    && done.tokens < max_tokens
                    && !is_cancelled(&cancellations, id);
                if !keep {
                    break token;
                }
                emit_token(token, &mut done);
                self.cached.push(token);
                done.accepted += 1;
                k += 1;
            };
            if k < guesses.len() {
                // The KV entries of the guesses after the first wrong one.
                let keep = self.cached.len() as u32;
                let ctx = self.context()?;
                if ctx.kv_cache_seq_rm(0, Some(keep), None).is_err() {
                    return Err((
                        ErrorKind::DecodeFailed,
                        "could not drop rejected draft tokens from the KV cache".into(),
                    ));
                }
            }
        };
        let rest = text.finish();
        if emit && !rest.is_empty() {
            out.emit(&Event::Token { id: id.into(), text: rest });
        }
        Ok(done)
    }

    /// Greedy generation from a short chat prompt, checking every step's logits are finite and
    /// every token is in the vocabulary; end-of-text does not stop it.
    fn smoke(&mut self, id: &str, tokens: u32) -> Result<SmokeReport, Failure> {
        let started = Instant::now();
        let prompt = self.format(&[Message {
            role: "user".into(),
            content: "Summarize in one line: pump P-101 seal replaced, pressure 4.2 bar, no leaks."
                .into(),
        }]);
        let prompt_tokens = self.tokenize(&prompt, true);
        if prompt_tokens.is_empty() {
            return Err((ErrorKind::BadRequest, "the smoke prompt tokenized to nothing".into()));
        }
        if let Some(ctx) = self.ctx.as_mut() {
            ctx.clear_kv_cache();
        }
        self.cached.clear();
        self.prefill(id, &prompt_tokens, tokens as usize)?;
        let n_ctx = self.ctx_size as usize;
        let n_vocab = self.loaded.model.n_vocab();
        let vocab = self.loaded.model.vocab();
        let mut sampler = LlamaSampler::greedy();
        let mut batch = LlamaBatch::new(1, 1);
        let mut report = SmokeReport {
            tokens: 0,
            non_finite_logits: 0,
            out_of_vocabulary: false,
            text: String::new(),
            ms: 0.0,
        };
        let mut bytes = Vec::new();
        let mut logits_at = -1;
        while report.tokens < tokens && self.cached.len() < n_ctx {
            let ctx = self.context()?;
            let bad = ctx.get_logits_ith(logits_at).iter().filter(|x| !x.is_finite()).count();
            if bad > 0 {
                report.non_finite_logits = bad as u32;
                break;
            }
            let token = sampler.sample(ctx, logits_at);
            if token.0 < 0 || token.0 >= n_vocab {
                report.out_of_vocabulary = true;
                break;
            }
            report.tokens += 1;
            bytes.extend_from_slice(&vocab.token_to_piece(token, false, None));
            batch.clear();
            let pos = self.cached.len() as i32;
            batch
                .add(token, pos, &[0], true)
                .map_err(|e| (ErrorKind::DecodeFailed, format!("batch: {e}")))?;
            let ctx = self.context()?;
            ctx.decode(&mut batch)
                .map_err(|e| (ErrorKind::DecodeFailed, format!("decode failed: {e}")))?;
            self.cached.push(token);
            logits_at = 0;
        }
        report.text = String::from_utf8_lossy(&bytes).into_owned();
        report.ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(report)
    }

    /// Prompt processing and generation speed on a synthetic prompt, through the same decode
    /// loop `generate` uses: once streaming every token through the protocol, once silent.
    fn bench(
        &mut self,
        id: &str,
        prompt_tokens: u32,
        gen_tokens: u32,
    ) -> Result<BenchStats, Failure> {
        let seed =
            self.tokenize("The pump seal was replaced and the bearing checked at 4.2 bar.", false);
        let filler = if seed.is_empty() { vec![LlamaToken(0)] } else { seed };
        let mut tokens: Vec<LlamaToken> = Vec::with_capacity(prompt_tokens as usize + 1);
        tokens.push(self.loaded.model.vocab().bos());
        tokens.extend(filler.iter().cycle().take(prompt_tokens.max(1) as usize));
        let n_ctx = self.loaded.desc.n_ctx as usize;
        if tokens.len() + gen_tokens as usize >= n_ctx {
            return Err((
                ErrorKind::ContextOverflow,
                format!(
                    "{} prompt + {gen_tokens} generated tokens exceed the {n_ctx}-token context",
                    tokens.len()
                ),
            ));
        }
        // The context is made before the clock starts, as llama-bench does: its allocation is
        // not prompt processing.
        self.ensure_context(tokens.len() + gen_tokens as usize)?;
        let run = |emit: bool, this: &mut Self| -> Result<(f64, f64, f64), Failure> {
            if let Some(ctx) = this.ctx.as_mut() {
                ctx.clear_kv_cache();
            }
            this.cached.clear();
            let started = Instant::now();
            this.prefill(id, &tokens, gen_tokens as usize)?;
            let prompt_s = started.elapsed().as_secs_f64();
            let mut sampler = Picker::greedy();
            let gen_started = Instant::now();
            // Random weights end text early: benchmarks decode end-of-text like any token.
            let how = Decoding { max_tokens: gen_tokens, emit, stop_at_eog: false, draft_max: 0 };
            let done = this.decode_loop(id, &mut sampler, started, how)?;
            let gen_s = gen_started.elapsed().as_secs_f64();
            Ok((tokens.len() as f64 / prompt_s, done.tokens as f64 / gen_s.max(1e-9), done.ttft_ms))
        };
        // The first run is a request as the app makes one, streamed: its time to first token
        // is a cold one (the first computation starts llama.cpp's threads and touches every
        // weight). The second, silent, is what llama-bench measures after its warm-up run:
        // prompt processing and decoding, warm, with nothing sent per token.
        let (_, gen_tok_s, ttft_ms) = run(true, self)?;
        let (prompt_tok_s, gen_tok_s_silent, _) = run(false, self)?;
        Ok(BenchStats {
            load_ms: self.loaded.desc.load_ms,
            prompt_tokens: tokens.len() as u32,
            gen_tokens,
            prompt_tok_s,
            gen_tok_s,
            ttft_ms,
            gen_tok_s_silent,
            threads: self.threads(),
            backend: self.loaded.desc.backend.clone(),
            peak_rss_mib: peak_rss_mib(),
            cpu_variant: crate::cpu_variant().into(),
        })
    }
}

/// What a decode loop is asked to do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoding {
    /// The most tokens to generate.
    pub max_tokens: u32,
    /// Send each piece of text as a token event.
    pub emit: bool,
    /// Stop at the model's end-of-generation token (a benchmark runs on past it).
    pub stop_at_eog: bool,
    /// The most tokens guessed from the prompt per batch; 0 decodes plainly.
    pub draft_max: u32,
}

/// How a decode loop ended.
pub(crate) struct Decoded {
    pub stop: StopReason,
    /// Tokens generated.
    pub tokens: u32,
    /// From the request's start to the first generated token.
    pub ttft_ms: f64,
    /// Tokens guessed from the prompt, and how many of them were right.
    pub drafted: u32,
    pub accepted: u32,
}

/// The longest n-gram this short (and at least this long) that ends the text is looked up
/// earlier in it.
const DRAFT_NGRAM_MAX: usize = 4;
const DRAFT_NGRAM_MIN: usize = 2;

/// Prompt-lookup drafting: finds the latest earlier occurrence of the last
/// [`DRAFT_NGRAM_MAX`]…[`DRAFT_NGRAM_MIN`] tokens of `history` (longest first) and returns up
/// to `max` of the tokens that followed it. Summaries copy figures, part numbers and phrases
/// from their note, so what followed in the note is often what comes next.
pub(crate) fn draft<T: PartialEq>(history: &[T], max: usize) -> &[T] {
    if max == 0 {
        return &[];
    }
    let len = history.len();
    for n in (DRAFT_NGRAM_MIN..=DRAFT_NGRAM_MAX).rev() {
        if len <= n {
            continue;
        }
        let tail = &history[len - n..];
        // Latest occurrence first; one that ends right before the tail still has a follower.
        if let Some(start) = (0..len - n).rev().find(|&i| &history[i..i + n] == tail) {
            let from = start + n;
            return &history[from..(from + max).min(len)];
        }
    }
    &[]
}

/// Picks each next token: the sampling chain, held to a grammar when the request has one
/// (the layout of a summary style, see `fieldbrief_engine::prompt::grammar`).
///
/// The grammar is checked on the token the chain picked first, and applied to the whole
/// vocabulary only when that token breaks it, as llama.cpp's own common sampler does: running
/// it over 150,000 candidates for every token would cost more than the decode itself. Only
/// tokens the grammar allows are ever accepted into it, so it never reaches a dead state.
pub(crate) struct Picker {
    chain: LlamaSampler,
    grammar: Option<LlamaSampler>,
    /// The chain is llama.cpp's greedy sampler alone: the pick is the largest logit
    /// ([`argmax`]), read off the logits without the candidate list the chain would build.
    greedy: bool,
}

impl Picker {
    fn new(s: &Sampling, model: &LlamaModel) -> Result<Picker, Failure> {
        let grammar = match &s.grammar {
            Some(g) => Some(LlamaSampler::grammar(model, g, "root").map_err(|e| {
                (ErrorKind::BadRequest, format!("the layout grammar was refused: {e}"))
            })?),
            None => None,
        };
        let greedy = s.temperature <= 0.0;
        Ok(Picker { chain: sampler(s, model.n_vocab()), grammar, greedy })
    }

    fn greedy() -> Picker {
        Picker { chain: LlamaSampler::greedy(), grammar: None, greedy: true }
    }

    /// The token the chain picks, before any grammar. Greedy decoding reads it off the logits:
    /// the chain would first copy all of them into a candidate list, about 1.8 MB for a
    /// 150,000-token vocabulary on every token, which a GPU decoding hundreds of tokens a second
    /// spends a sizeable share of its time on (issue 15's measurements).
    fn first_choice(&mut self, ctx: &LlamaContext, idx: i32) -> Option<LlamaToken> {
        if self.greedy {
            return argmax(ctx.get_logits_ith(idx));
        }
        let mut all = ctx.token_data_array_ith(idx);
        all.apply_sampler(&mut self.chain);
        all.selected_token()
    }

    fn pick(&mut self, ctx: &LlamaContext, idx: i32, vocab: &LlamaVocab) -> LlamaToken {
        if self.grammar.is_none() && !self.greedy {
            return self.chain.sample(ctx, idx);
        }
        let first = self.first_choice(ctx, idx);
        let Some(grammar) = self.grammar.as_mut() else {
            // Greedy and free: the greedy sampler keeps no state to accept the token into.
            return first.unwrap_or_else(|| vocab.eos());
        };
        let allowed = first.is_some_and(|t| {
            let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(t, 1.0, 0.0)], false);
            one.apply_sampler(grammar);
            one.data.first().is_some_and(|d| d.logit().is_finite())
        });
        let token = match first {
            Some(t) if allowed => t,
            _ => {
                let mut all = ctx.token_data_array_ith(idx);
                all.apply_sampler(grammar);
                all.apply_sampler(&mut self.chain);
                // Nothing the grammar allows: end the text (the caller treats it as the end).
                all.selected_token().unwrap_or_else(|| vocab.eos())
            }
        };
        self.chain.accept(token);
        if !vocab.is_eog(token) {
            grammar.accept(token);
        }
        token
    }
}

/// What llama.cpp's greedy sampler picks from these logits: the largest, the first of equal
/// ones (and the first when the first is NaN, as its `>` comparison gives).
fn argmax(logits: &[f32]) -> Option<LlamaToken> {
    let (first, rest) = logits.split_first()?;
    let mut best = (0usize, *first);
    for (i, &logit) in rest.iter().enumerate() {
        if logit > best.1 {
            best = (i + 1, logit);
        }
    }
    Some(LlamaToken::new(best.0 as i32))
}

fn sampler(s: &Sampling, n_vocab: i32) -> LlamaSampler {
    if s.temperature <= 0.0 {
        return LlamaSampler::greedy();
    }
    LlamaSampler::chain_simple([
        LlamaSampler::penalties(n_vocab, 64, s.repeat_penalty, 0.0, 0.0),
        LlamaSampler::top_p(s.top_p, 1),
        LlamaSampler::temp(s.temperature),
        LlamaSampler::dist(s.seed),
    ])
}

/// Token pieces are bytes, and a UTF-8 character can be split across tokens: hold back an
/// incomplete tail until the next piece completes it.
#[derive(Default)]
struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let s = s.to_string();
                self.pending.clear();
                s
            }
            Err(e) if e.error_len().is_none() => {
                // Incomplete sequence at the end: emit what is complete.
                let valid = e.valid_up_to();
                let s = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
                self.pending.drain(..valid);
                s
            }
            Err(_) => {
                let s = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                s
            }
        }
    }

    fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), MiB; 0 where unknown.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::{Utf8Stream, argmax, context_size, draft, memory_cap};
    use llama_cpp_2::sampling::LlamaSampler;
    use llama_cpp_2::token::LlamaToken;
    use llama_cpp_2::token::data::LlamaTokenData;
    use llama_cpp_2::token::data_array::LlamaTokenDataArray;

    #[test]
    fn argmax_picks_what_llama_cpps_greedy_sampler_picks() {
        // Ties, a NaN first and later, infinities, negatives: the same token as the sampler.
        let cases: [&[f32]; 6] = [
            &[0.5, 2.0, 2.0, -1.0],
            &[f32::NAN, 3.0, 1.0],
            &[1.0, f32::NAN, 3.0, 3.0],
            &[-5.0, -2.0, -2.5],
            &[f32::NEG_INFINITY, f32::INFINITY, f32::INFINITY],
            &[7.0],
        ];
        for logits in cases {
            let data = logits
                .iter()
                .enumerate()
                .map(|(i, &l)| LlamaTokenData::new(LlamaToken::new(i as i32), l, 0.0))
                .collect();
            let mut array = LlamaTokenDataArray::new(data, false);
            array.apply_sampler(&mut LlamaSampler::greedy());
            assert_eq!(argmax(logits), array.selected_token(), "{logits:?}");
        }
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn drafts_continue_the_latest_earlier_occurrence_of_the_longest_tail() {
        // "… 4 . 2 bar" seen before: after "4 ." comes "2 bar".
        let h = [1, 4, 9, 2, 7, 5, 4, 9, 2, 8, 3, 4, 9];
        // tail [4, 9] occurs at 6 (latest) and 1: the latest one's followers.
        assert_eq!(draft(&h, 3), &[2, 8, 3]);
        // A longer matching tail wins over a later short one.
        let h = [5, 6, 7, 1, 0, 0, 7, 1, 9, 9, 5, 6, 7];
        assert_eq!(draft(&h, 2), &[1, 0]);
        // Followers stop at the end of the history.
        let h = [3, 3, 3];
        assert_eq!(draft(&h, 8), &[3]);
        // No earlier occurrence, too short a history, or nothing wanted: no guesses.
        assert!(draft(&[1, 2, 3, 4], 4).is_empty());
        assert!(draft(&[1, 2], 4).is_empty());
        assert!(draft(&[1, 2, 1, 2], 0).is_empty());
    }

    #[test]
    fn contexts_are_sized_to_the_work_within_the_cap() {
        assert_eq!(context_size(10, 32768), 2048);
        assert_eq!(context_size(2049, 32768), 4096);
        assert_eq!(context_size(5000, 32768), 8192);
        assert_eq!(context_size(40000, 32768), 32768);
        assert_eq!(context_size(3000, 1024), 1024);
        // Qwen2.5 0.5B: 24 layers × 2 KV heads × (64 + 64) × 2 bytes = 12 KiB a token; with
        // 1 GiB free, at most half of it: 43,690 tokens, rounded down to 256.
        assert_eq!(memory_cap(12288, 1 << 30), 43520);
        assert_eq!(memory_cap(12288, 0), 512);
    }

    #[test]
    fn characters_split_across_tokens_come_out_whole() {
        let mut s = Utf8Stream::default();
        let bytes = "78 °C".as_bytes();
        let (a, b) = bytes.split_at(4); // splits the two bytes of '°'
        assert_eq!(s.push(a), "78 ");
        assert_eq!(s.push(b), "°C");
        assert_eq!(s.push(b"\xFF"), "\u{FFFD}");
        assert_eq!(s.finish(), "");
    }
}
