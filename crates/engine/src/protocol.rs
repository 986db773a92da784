//! The worker protocol: JSON lines over the worker's stdin (requests) and stdout (events).
//!
//! Versioned so a supervisor never talks to a worker from another build: the worker's first
//! line is [`Event::Ready`] carrying [`VERSION`], and the supervisor refuses a mismatch.
//! Every request carries an id; every event about a request carries the same id.

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 3;

/// The hidden subcommand that turns the `fieldbrief` binary into a worker.
pub const WORKER_ARG: &str = "__engine-worker";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// 0 means greedy (deterministic).
    pub temperature: f32,
    pub top_p: f32,
    pub repeat_penalty: f32,
    pub max_tokens: u32,
    pub seed: u32,
    /// A GBNF grammar (llama.cpp's format, rule `root`) the text must follow: the layout of
    /// the summary style, which also bounds how many bullets it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grammar: Option<String>,
    /// Speculative decoding from the prompt: at most this many tokens guessed per step from
    /// the text that followed the same words earlier (prompt-lookup decoding); 0 = off. The
    /// text is the same either way.
    #[serde(default)]
    pub draft: u32,
}

/// Tokens guessed per step when speculative decoding is on (see [`Sampling::draft`]), and what
/// `fieldbrief bench --note` measures it with. It is off by default: on the CPUs measured
/// (README, Performance) verifying a batch of guesses costs about as much as decoding them one
/// by one, so it saves nothing, and with AVX-512 kernels a batch's rounding can tip a near-tie
/// the other way.
pub const DRAFT: u32 = 8;

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.2,
            top_p: 0.9,
            repeat_penalty: 1.1,
            max_tokens: 384,
            seed: 1,
            grammar: None,
            draft: 0,
        }
    }
}

impl Sampling {
    /// Greedy decoding: the same prompt always gives the same tokens. For tests and benchmarks.
    pub fn deterministic(max_tokens: u32) -> Sampling {
        Sampling {
            temperature: 0.0,
            top_p: 1.0,
            repeat_penalty: 1.0,
            max_tokens,
            seed: 0,
            grammar: None,
            draft: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSpec {
    pub path: String,
    /// Layers to offload to the GPU: `None` = as many as the GPU's free memory holds,
    /// `Some(0)` = CPU only, more than the model has = all.
    pub gpu_layers: Option<u32>,
    /// Context window to allocate; 0 = the model's training context.
    pub n_ctx: u32,
    /// CPU threads; 0 = one per physical core as llama.cpp decides.
    pub threads: u32,
    /// Prompt tokens decoded per batch (the power mode lowers it); 0 = 512.
    #[serde(default)]
    pub batch: u32,
    /// Where the KV state of prompts' fixed beginnings (the instructions and examples before
    /// the note, never the note) is kept across restarts, for warm starts; none = not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Load (if not loaded) and describe the model.
    Info {
        id: String,
        model: LoadSpec,
    },
    /// Token counts of each text with the model's own tokenizer.
    Tokenize {
        id: String,
        model: LoadSpec,
        texts: Vec<String>,
    },
    /// Chat-format `messages` with the model's template (ChatML when it has none) and generate.
    Generate {
        id: String,
        model: LoadSpec,
        messages: Vec<Message>,
        sampling: Sampling,
    },
    /// Measure prompt processing and generation speed on synthetic tokens.
    Bench {
        id: String,
        model: LoadSpec,
        prompt_tokens: u32,
        gen_tokens: u32,
    },
    /// Load, generate `tokens` tokens greedily from a short prompt, and report whether the
    /// numbers coming out of the model are numbers (before a new model is activated).
    Smoke {
        id: String,
        model: LoadSpec,
        tokens: u32,
    },
    /// The compute devices llama.cpp sees (no model needed).
    Devices {
        id: String,
    },
    /// Stop the generation with this id as soon as possible.
    Cancel {
        id: String,
    },
    Shutdown,
}

impl Request {
    pub fn id(&self) -> Option<&str> {
        match self {
            Request::Info { id, .. }
            | Request::Tokenize { id, .. }
            | Request::Generate { id, .. }
            | Request::Bench { id, .. }
            | Request::Smoke { id, .. }
            | Request::Devices { id }
            | Request::Cancel { id } => Some(id),
            Request::Shutdown => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDescription {
    pub n_ctx_train: u32,
    pub n_ctx: u32,
    pub n_params: u64,
    pub has_chat_template: bool,
    /// What formats the prompts: `"template"` (the file's own, through llama.cpp), or the
    /// family markup told by the vocabulary (`"chat_ml"`, `"llama3"`, `"gemma"`, `"phi3"`) for
    /// a file without one; `"chat_ml"` when nothing else is known.
    #[serde(default)]
    pub chat: String,
    pub backend: String,
    /// What runs the model, e.g. "CPU" or the GPU's name.
    pub device: String,
    pub gpu_layers: u32,
    pub load_ms: f64,
    /// Set when GPU offload failed and the model was loaded on the CPU instead.
    pub gpu_fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Device {
    pub name: String,
    pub description: String,
    /// "CPU", "CUDA", "Vulkan", "Metal"…
    pub backend: String,
    pub memory_total: u64,
    pub memory_free: u64,
    pub gpu: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfText,
    MaxTokens,
    Cancelled,
    ContextFull,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    pub prompt_tokens: u32,
    /// Prompt tokens whose KV entries were reused from the previous request.
    pub cached_tokens: u32,
    pub output_tokens: u32,
    pub prompt_ms: f64,
    pub generate_ms: f64,
    pub ttft_ms: f64,
    pub stop: StopReason,
    /// Tokens the context was sized to hold for this request.
    #[serde(default)]
    pub context_tokens: u32,
    /// Speculative decoding: tokens guessed from the prompt, and how many were right.
    #[serde(default)]
    pub drafted_tokens: u32,
    #[serde(default)]
    pub accepted_tokens: u32,
    /// The prompt's fixed beginning came from a saved KV state (a warm start).
    #[serde(default)]
    pub warm_start: bool,
}

/// What a smoke test saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmokeReport {
    /// Tokens generated (greedy, end-of-text not stopping it).
    pub tokens: u32,
    /// Logits that were NaN or infinite (generation stops at the first such step).
    pub non_finite_logits: u32,
    /// A sampled token outside the vocabulary (generation stops there).
    pub out_of_vocabulary: bool,
    pub text: String,
    pub ms: f64,
}

impl SmokeReport {
    /// Why the output is not well-formed, if it is not.
    pub fn problem(&self, wanted: u32) -> Option<String> {
        if self.non_finite_logits > 0 {
            return Some(format!(
                "the model computes NaN or infinite values ({} logits), so its weights are broken",
                self.non_finite_logits
            ));
        }
        if self.out_of_vocabulary {
            return Some("the model produced a token outside its own vocabulary".into());
        }
        if self.tokens < wanted {
            return Some(format!("it generated {} of the {wanted} tokens asked for", self.tokens));
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchStats {
    pub load_ms: f64,
    pub prompt_tokens: u32,
    pub gen_tokens: u32,
    pub prompt_tok_s: f64,
    pub gen_tok_s: f64,
    pub ttft_ms: f64,
    /// Generation speed of the same loop with nothing sent per token: the protocol's share
    /// is the difference.
    pub gen_tok_s_silent: f64,
    pub threads: u32,
    pub backend: String,
    pub peak_rss_mib: f64,
    /// The CPU instruction set the worker's kernels were built for.
    #[serde(default)]
    pub cpu_variant: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file is not a usable model (exact reason in the message).
    InvalidModel,
    /// llama.cpp refused to load it.
    LoadFailed,
    /// Decoding failed (out of memory, device lost…).
    DecodeFailed,
    /// The prompt does not fit the context window.
    ContextOverflow,
    BadRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Ready {
        version: u32,
        pid: u32,
        backend: String,
        /// The CPU instruction set its kernels were built for (`x86-64-v3`, …).
        #[serde(default)]
        cpu: String,
    },
    Info {
        id: String,
        model: ModelDescription,
    },
    Tokens {
        id: String,
        counts: Vec<u32>,
    },
    Token {
        id: String,
        text: String,
    },
    Done {
        id: String,
        stats: GenerationStats,
    },
    Bench {
        id: String,
        stats: BenchStats,
    },
    Smoke {
        id: String,
        report: SmokeReport,
    },
    Devices {
        id: String,
        devices: Vec<Device>,
    },
    Error {
        id: Option<String>,
        kind: ErrorKind,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smoke_report_is_judged_on_numbers_vocabulary_and_length() {
        let good = SmokeReport {
            tokens: 8,
            non_finite_logits: 0,
            out_of_vocabulary: false,
            text: "x".into(),
            ms: 1.0,
        };
        assert_eq!(good.problem(8), None);
        assert!(
            SmokeReport { non_finite_logits: 512, tokens: 0, ..good.clone() }
                .problem(8)
                .unwrap()
                .contains("NaN")
        );
        assert!(
            SmokeReport { out_of_vocabulary: true, ..good.clone() }
                .problem(8)
                .unwrap()
                .contains("vocabulary")
        );
        assert!(SmokeReport { tokens: 3, ..good }.problem(8).unwrap().contains("3 of the 8"));
    }

    #[test]
    fn requests_and_events_are_single_json_lines_that_round_trip() {
        let spec = LoadSpec {
            path: "/m/tiny.gguf".into(),
            gpu_layers: Some(0),
            n_ctx: 0,
            threads: 2,
            batch: 0,
            state_dir: None,
        };
        let requests = vec![
            Request::Generate {
                id: "r1".into(),
                model: spec.clone(),
                messages: vec![Message {
                    role: "user".into(),
                    content: "line one\nline two".into(),
                }],
                sampling: Sampling::deterministic(8),
            },
            Request::Tokenize { id: "r2".into(), model: spec, texts: vec!["a".into()] },
            Request::Cancel { id: "r1".into() },
            Request::Shutdown,
        ];
        for r in requests {
            let line = serde_json::to_string(&r).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r);
        }
        let e: Event = serde_json::from_str(r#"{"type":"token","id":"r1","text":"- "}"#).unwrap();
        assert_eq!(e, Event::Token { id: "r1".into(), text: "- ".into() });
    }
}
