//! The cloud tier: an OpenAI-compatible `/chat/completions` client with SSE streaming,
//! a connectivity probe, and the API key's lookup (environment, then the OS keychain).
//!
//! Invariant: this crate sends nothing on its own. The pipeline creates a [`Client`] only when
//! cloud escalation is enabled and permitted for the note, and calls [`Client::chat`] only for
//! a note the router sent to the cloud, with text that has already been redacted. Probing is a
//! connection too: [`Monitor`] probes only when asked, which the pipeline does only under the
//! same conditions.
//!
//! Failure is expected here (laptops in the field): every failure is a [`CloudError`] with a
//! stable [`CloudError::code`] for the ledger, and the caller falls back to a local route.
//! Nothing here can hang: connecting, the first byte and the whole answer each have a deadline,
//! and a stalled stream hits the total deadline.

mod key;
mod sse;

pub use key::{ApiKey, KEY_ENV, KeyError, KeySource, delete_api_key, find_api_key, store_api_key};

use fieldbrief_core::config::{CloudSettings, check_endpoint};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// A finished cloud answer with its accounting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    pub text: String,
    /// The model the endpoint says answered (may differ from the one asked for).
    pub model: String,
    /// Token counts from the endpoint's `usage`, when it sends them.
    pub input_tokens: Option<usize>,
    pub output_tokens: Option<usize>,
    /// Why the endpoint stopped: `"stop"`, `"length"` (out of `max_tokens`)…, when it says.
    pub finish_reason: Option<String>,
    /// Requests made, retries included.
    pub attempts: u32,
    /// What each retried attempt failed with, oldest first.
    pub retried: Vec<String>,
    pub first_byte_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Connect,
    FirstByte,
    Total,
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("cloud settings: {0}")]
    Config(String),
    #[error("cannot reach {endpoint}: {message}")]
    Unreachable { endpoint: String, message: String },
    #[error("the cloud did not answer in time ({stage:?} deadline of {secs} s)")]
    Timeout { stage: Stage, secs: u64 },
    #[error("the cloud answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the cloud kept refusing (HTTP {status}) after {attempts} attempts{}", retry_after.map(|s| format!("; it asked to wait {s} s")).unwrap_or_default())]
    GaveUp { status: u16, attempts: u32, retry_after: Option<u64> },
    #[error("the cloud sent a malformed answer: {0}")]
    Malformed(String),
    #[error("the connection dropped mid-answer: {0}")]
    Disconnected(String),
    #[error("cancelled")]
    Cancelled,
    /// Not sent: checked at the moment of sending, the note may not leave the laptop (kept on
    /// this device, deleted, or the cloud switched off since the request began).
    #[error("not sent: {0}")]
    Refused(String),
}

impl CloudError {
    /// The error with anything secret-looking in its text hidden (see [`scrub`]): what a
    /// server or a gateway says goes into the ledger and the window.
    fn scrubbed(self, key: Option<&ApiKey>) -> CloudError {
        let s = |text: String| scrub(&text, key);
        match self {
            CloudError::Config(m) => CloudError::Config(s(m)),
            CloudError::Unreachable { endpoint, message } => {
                CloudError::Unreachable { endpoint, message: s(message) }
            }
            CloudError::Status { status, body } => CloudError::Status { status, body: s(body) },
            CloudError::Malformed(m) => CloudError::Malformed(s(m)),
            CloudError::Disconnected(m) => CloudError::Disconnected(s(m)),
            other => other,
        }
    }

    /// Stable code for the ledger and reports.
    pub fn code(&self) -> &'static str {
        match self {
            CloudError::Config(_) => "cloud_config",
            CloudError::Unreachable { .. } => "cloud_unreachable",
            CloudError::Timeout { stage: Stage::Connect, .. } => "cloud_timeout_connect",
            CloudError::Timeout { stage: Stage::FirstByte, .. } => "cloud_timeout_first_byte",
            CloudError::Timeout { stage: Stage::Total, .. } => "cloud_timeout_total",
            CloudError::Status { .. } => "cloud_http_error",
            CloudError::GaveUp { .. } => "cloud_gave_up",
            CloudError::Malformed(_) => "cloud_malformed",
            CloudError::Disconnected(_) => "cloud_disconnected",
            CloudError::Cancelled => "cancelled",
            CloudError::Refused(_) => "cloud_refused",
        }
    }
}

/// Timeouts and retry policy, from `[cloud]` in the settings.
#[derive(Debug, Clone)]
pub struct Policy {
    pub connect: Duration,
    pub first_byte: Duration,
    pub total: Duration,
    pub max_retries: u32,
    pub max_retry_after: Duration,
    /// First backoff; doubled for each retry, with ±50 % jitter.
    pub backoff: Duration,
}

impl From<&CloudSettings> for Policy {
    fn from(c: &CloudSettings) -> Policy {
        Policy {
            connect: Duration::from_secs(c.connect_timeout_secs),
            first_byte: Duration::from_secs(c.first_byte_timeout_secs),
            total: Duration::from_secs(c.total_timeout_secs),
            max_retries: c.max_retries,
            max_retry_after: Duration::from_secs(c.max_retry_after_secs),
            backoff: Duration::from_millis(500),
        }
    }
}

/// An OpenAI-compatible endpoint.
pub struct Client {
    base: String,
    model: String,
    key: Option<ApiKey>,
    policy: Policy,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// Checks the settings (HTTPS unless loopback, a model name) and builds the client. Sends
    /// nothing.
    pub fn new(settings: &CloudSettings, key: Option<ApiKey>) -> Result<Client, CloudError> {
        let base = settings
            .endpoint
            .clone()
            .ok_or_else(|| CloudError::Config("no endpoint configured".into()))?;
        check_endpoint(&base).map_err(CloudError::Config)?;
        let model = settings
            .model
            .clone()
            .ok_or_else(|| CloudError::Config("no model configured ([cloud] model)".into()))?;
        let policy = Policy::from(settings);
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect)
            // Redirects could take a note to another host; an API has no reason to redirect.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("fieldbrief/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::Config(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CloudError::Config(format!("starting the network runtime: {e}")))?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            model,
            key,
            policy,
            http,
            runtime,
        })
    }

    pub fn with_policy(mut self, policy: Policy) -> Client {
        self.policy = policy;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.base
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Can the endpoint be reached (TCP, and TLS for HTTPS) within the connect timeout? Any
    /// HTTP answer counts, even 401 or 404: the question is the network, not the key.
    pub fn probe(&self) -> Result<(), CloudError> {
        let url = format!("{}/models", self.base);
        let request = self.http.get(&url).timeout(self.policy.connect + self.policy.connect);
        self.runtime.block_on(async {
            match request.send().await {
                Ok(_) => Ok(()),
                Err(e) => Err(CloudError::Unreachable {
                    endpoint: self.base.clone(),
                    message: describe(&e),
                }),
            }
        })
    }

    /// Streams a chat completion, calling `on_text` with each piece of text as it arrives.
    /// Retries 429 and 5xx answers (honouring `Retry-After`) before any text has arrived;
    /// never after, since the caller has shown that text already.
    pub fn chat(
        &self,
        messages: &[ChatMessage],
        max_tokens: u32,
        temperature: f32,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, CloudError> {
        let body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": max_tokens,
            "temperature": temperature,
        });
        let started = Instant::now();
        let deadline = started + self.policy.total;
        let mut retried = Vec::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if cancel.load(Ordering::Relaxed) {
                return Err(CloudError::Cancelled);
            }
            let outcome = self.runtime.block_on(self.attempt(&body, deadline, cancel, on_text));
            let (status, retry_after) = match outcome {
                Ok(mut c) => {
                    c.attempts = attempt;
                    c.retried = retried;
                    c.first_byte_ms = c.first_byte_ms.max(0.0);
                    return Ok(c);
                }
                Err(Attempt::Retryable { status, retry_after }) => (status, retry_after),
                Err(Attempt::Fatal(e)) => return Err(e.scrubbed(self.key.as_ref())),
            };
            let wait = match retry_after {
                Some(s) if Duration::from_secs(s) > self.policy.max_retry_after => {
                    return Err(CloudError::GaveUp {
                        status,
                        attempts: attempt,
                        retry_after: Some(s),
                    });
                }
                Some(s) => Duration::from_secs(s),
                None => jittered(self.policy.backoff * 2u32.saturating_pow(attempt - 1)),
            };
            if attempt > self.policy.max_retries || Instant::now() + wait >= deadline {
                return Err(CloudError::GaveUp { status, attempts: attempt, retry_after });
            }
            tracing::info!(
                status,
                wait_ms = wait.as_millis() as u64,
                attempt,
                "cloud asked to retry"
            );
            retried.push(format!("HTTP {status}"));
            sleep_unless_cancelled(wait, cancel)?;
        }
    }

    async fn attempt(
        &self,
        body: &serde_json::Value,
        deadline: Instant,
        cancel: &AtomicBool,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, Attempt> {
        let sent = Instant::now();
        let mut request = self.http.post(format!("{}/chat/completions", self.base)).json(body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        // `send` resolves when the status line and headers are in: the first-byte deadline.
        let first_byte = self.policy.first_byte.min(deadline.saturating_duration_since(sent));
        let response = match tokio::time::timeout(first_byte, request.send()).await {
            Err(_) => {
                return Err(Attempt::Fatal(CloudError::Timeout {
                    stage: Stage::FirstByte,
                    secs: first_byte.as_secs(),
                }));
            }
            Ok(Err(e)) if e.is_connect() && e.is_timeout() => {
                return Err(Attempt::Fatal(CloudError::Timeout {
                    stage: Stage::Connect,
                    secs: self.policy.connect.as_secs(),
                }));
            }
            Ok(Err(e)) if e.is_connect() => {
                return Err(Attempt::Fatal(CloudError::Unreachable {
                    endpoint: self.base.clone(),
                    message: describe(&e),
                }));
            }
            Ok(Err(e)) => return Err(Attempt::Fatal(CloudError::Disconnected(describe(&e)))),
            Ok(Ok(r)) => r,
        };
        let first_byte_ms = sent.elapsed().as_secs_f64() * 1000.0;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            return Err(Attempt::Retryable { status: status.as_u16(), retry_after });
        }
        if !status.is_success() {
            let text = tokio::time::timeout(Duration::from_secs(2), response.text())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            return Err(Attempt::Fatal(CloudError::Status {
                status: status.as_u16(),
                // Scrubbed whole, then cut: a key cut in half would slip past the scrub.
                body: error_message(&scrub(&text, self.key.as_ref())),
            }));
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));

        let mut parser = sse::Parser::default();
        let mut whole = Vec::new();
        let mut stream = response.bytes_stream();
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(Attempt::Fatal(CloudError::Cancelled));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            // Wake up now and then to notice a cancel while the server is silent.
            let wait = left.min(Duration::from_millis(250));
            let chunk = match tokio::time::timeout(wait, stream.next()).await {
                Err(_) if left <= wait => {
                    return Err(Attempt::Fatal(CloudError::Timeout {
                        stage: Stage::Total,
                        secs: self.policy.total.as_secs(),
                    }));
                }
                Err(_) => continue,
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(Attempt::Fatal(CloudError::Disconnected(describe(&e))));
                }
                Ok(Some(Ok(bytes))) => bytes,
            };
            if is_json {
                if whole.len() + chunk.len() > sse::MAX_ANSWER_BYTES {
                    return Err(Attempt::Fatal(CloudError::Malformed(format!(
                        "the answer is over {} bytes",
                        sse::MAX_ANSWER_BYTES
                    ))));
                }
                whole.extend_from_slice(&chunk);
                continue;
            }
            parser.feed(&chunk, on_text).map_err(|e| Attempt::Fatal(CloudError::Malformed(e)))?;
            if parser.done {
                break;
            }
        }
        let mut c = if is_json {
            sse::whole_answer(&whole).map_err(|e| Attempt::Fatal(CloudError::Malformed(e)))?
        } else {
            if !parser.done {
                return Err(Attempt::Fatal(CloudError::Disconnected(format!(
                    "the stream ended without [DONE] after {} characters",
                    parser.text.chars().count()
                ))));
            }
            parser.finish()
        };
        if is_json {
            on_text(&c.text);
        }
        if c.text.trim().is_empty() {
            return Err(Attempt::Fatal(CloudError::Malformed("the answer holds no text".into())));
        }
        if c.model.is_empty() {
            c.model = self.model.clone();
        }
        c.first_byte_ms = first_byte_ms;
        Ok(c)
    }
}

enum Attempt {
    Retryable { status: u16, retry_after: Option<u64> },
    Fatal(CloudError),
}

/// A reqwest error in words, with its causes (reqwest's own message is often just "error
/// sending request").
fn describe(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// `text` with credentials hidden: the API key itself wherever it appears, and whatever
/// follows `Bearer`, `Authorization`, `api-key` or `x-api-key`, or looks like an `sk-…` key.
/// A gateway that echoes the request's headers back in its error must not put the key into the
/// ledger or the window.
pub fn scrub(text: &str, key: Option<&ApiKey>) -> String {
    static SECRETS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?i)(\bbearer\s+|\b(?:authorization|x-api-key|api[-_]?key)["']?\s*[:=]\s*["']?(?:bearer\s+)?)[^\s"',;]+|\bsk-[A-Za-z0-9_\-]{8,}"#,
        )
        .expect("static regex")
    });
    let mut out = match key.map(ApiKey::expose).filter(|k| k.len() >= 4) {
        Some(k) => text.replace(k, "[hidden]"),
        None => text.to_string(),
    };
    out = SECRETS
        .replace_all(&out, |c: &regex::Captures| match c.get(1) {
            Some(prefix) => format!("{}[hidden]", prefix.as_str()),
            None => "[hidden]".to_string(),
        })
        .into_owned();
    out
}

/// The `error.message` of an OpenAI-style error body, else its first 200 characters.
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

fn jittered(d: Duration) -> Duration {
    // ±50 %, from the clock's nanoseconds: enough to keep many laptops from retrying in step.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    d.mul_f64(factor)
}

fn sleep_unless_cancelled(d: Duration, cancel: &AtomicBool) -> Result<(), CloudError> {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return Err(CloudError::Cancelled);
        }
        std::thread::sleep(
            until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)),
        );
    }
    Ok(())
}

/// Whether the endpoint is reachable, probing at most as often as a backoff allows: every
/// minute while online, and after 5 s, 10 s, 20 s … up to 5 minutes while offline, so a laptop
/// in a dead zone does not keep its radio busy.
#[derive(Debug, Clone, Default)]
pub struct Monitor {
    last: Option<(Instant, bool)>,
    backoff: Duration,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    Online,
    Offline,
}

impl Monitor {
    const ONLINE_RECHECK: Duration = Duration::from_secs(60);
    const FIRST_BACKOFF: Duration = Duration::from_secs(5);
    const MAX_BACKOFF: Duration = Duration::from_secs(300);

    pub fn check(&mut self, client: &Client) -> Connectivity {
        if let Some((at, online)) = self.last {
            let fresh = if online { Self::ONLINE_RECHECK } else { self.backoff };
            if at.elapsed() < fresh {
                return if online { Connectivity::Online } else { Connectivity::Offline };
            }
        }
        match client.probe() {
            Ok(()) => {
                self.last = Some((Instant::now(), true));
                self.backoff = Duration::ZERO;
                self.last_error = None;
                Connectivity::Online
            }
            Err(e) => {
                self.backoff = if self.backoff.is_zero() {
                    Self::FIRST_BACKOFF
                } else {
                    (self.backoff * 2).min(Self::MAX_BACKOFF)
                };
                self.last = Some((Instant::now(), false));
                self.last_error = Some(e.to_string());
                Connectivity::Offline
            }
        }
    }

    /// Forget the last answer (the user switched "work offline" off, the settings changed).
    pub fn reset(&mut self) {
        *self = Monitor::default();
    }

    /// The last answer without probing; `None` before the first probe.
    pub fn last(&self) -> Option<Connectivity> {
        self.last
            .map(|(_, online)| if online { Connectivity::Online } else { Connectivity::Offline })
    }
}

#[cfg(test)]
mod tests;
