//! A loopback OpenAI-compatible server standing in for the cloud, which tests cannot reach.
//!
//! It answers `POST /v1/chat/completions` (streamed as server-sent events) and `GET /v1/models`,
//! counts every TCP connection it accepts (the privacy tests assert zero), records every
//! request body (to check what left the laptop), and misbehaves on demand: each request takes
//! the next [`Fault`] from a queue, or the default when the queue is empty.
//!
//! Its "summary" is made from the note in the request: the first sentences, as bullets, with
//! any redaction placeholders kept as they came, so the restoring side is tested too.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A good streamed answer.
    Ok,
    /// A good answer as one JSON object (a server that ignores `stream: true`).
    WholeJson,
    /// Accept, read the request, and send nothing for a minute.
    TimeoutBeforeHeaders,
    /// HTTP 500 with an OpenAI-style error body.
    ServerError,
    /// HTTP 429 with `Retry-After: N`.
    RateLimited { retry_after_s: u64 },
    /// HTTP 401.
    Unauthorized,
    /// A stream whose second event is not JSON.
    MalformedSse,
    /// A good stream, one byte every 200 ms.
    SlowDrip,
    /// Two events, then the connection is cut.
    DisconnectMidStream,
    /// A good stream of text that is unrelated to the note (fails a quality gate).
    Nonsense,
    /// HTTP 400 whose error message echoes the request's headers, the `Authorization` header
    /// included (as some misconfigured gateways do).
    EchoHeaders,
}

impl Fault {
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "ok" => Fault::Ok,
            "json" => Fault::WholeJson,
            "timeout" => Fault::TimeoutBeforeHeaders,
            "500" => Fault::ServerError,
            "429" => Fault::RateLimited { retry_after_s: 1 },
            "401" => Fault::Unauthorized,
            "malformed" => Fault::MalformedSse,
            "drip" => Fault::SlowDrip,
            "disconnect" => Fault::DisconnectMidStream,
            "nonsense" => Fault::Nonsense,
            "echo" => Fault::EchoHeaders,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

struct Shared {
    faults: Mutex<VecDeque<Fault>>,
    default: Fault,
    connections: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeCloud {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeCloud {
    /// Starts on a free loopback port; `faults` are used in order, then `default`.
    pub fn start(faults: &[Fault], default: Fault) -> FakeCloud {
        FakeCloud::start_on(0, faults, default).expect("binding a loopback port")
    }

    pub fn start_on(port: u16, faults: &[Fault], default: Fault) -> std::io::Result<FakeCloud> {
        let shared = Arc::new(Shared {
            faults: Mutex::new(faults.iter().copied().collect()),
            default,
            connections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let counter = state.clone();
                let listener = tokio::net::TcpListener::from_std(std_listener)
                    .expect("a tokio listener")
                    .tap_io(move |_| {
                        counter.connections.fetch_add(1, Ordering::SeqCst);
                    });
                let app = Router::new()
                    .route("/v1/chat/completions", post(chat))
                    .route("/v1/models", get(models))
                    .with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(FakeCloud { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    /// The base URL to configure: `http://127.0.0.1:PORT/v1`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far (probes included).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn push(&self, fault: Fault) {
        if let Ok(mut q) = self.shared.faults.lock() {
            q.push_back(fault);
        }
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A connection held open by a test's slow fault would keep graceful shutdown waiting;
        // the thread is detached rather than joined, and dies with the test process.
        drop(self.thread.take());
    }
}

async fn models(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    record(&s, "/v1/models", &headers, String::new());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"object":"list","data":[{"id":"fake-1"}]}"#,
    )
        .into_response()
}

fn record(s: &Shared, path: &str, headers: &HeaderMap, body: String) {
    let authorization =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Ok(mut r) = s.requests.lock() {
        r.push(Recorded { path: path.into(), authorization, body });
    }
}

async fn chat(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body).to_string();
    record(&s, "/v1/chat/completions", &headers, body.clone());
    let fault = s.faults.lock().ok().and_then(|mut q| q.pop_front()).unwrap_or(s.default);
    let request: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let note = request
        .get("messages")
        .and_then(|m| m.as_array())
        .and_then(|m| m.last())
        .and_then(|m| m.get("content"))
        .and_then(|c| c.as_str())
        .unwrap_or_default()
        .to_string();
    let summary = if fault == Fault::Nonsense {
        "- Quarterly marketing synergy roadmap aligned with stakeholder visions.".to_string()
    } else {
        summarize(&note)
    };
    let prompt_tokens = note.split_whitespace().count();
    let completion_tokens = summary.split_whitespace().count();
    let sse = |pieces: &[String]| -> Vec<String> {
        let mut events: Vec<String> = pieces
            .iter()
            .map(|p| format!("data: {}\n\n", serde_json::json!({"model": "fake-1", "choices": [{"index": 0, "delta": {"content": p}}]})))
            .collect();
        events.push(format!(
            "data: {}\n\n",
            serde_json::json!({"model": "fake-1", "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}})
        ));
        events.push("data: [DONE]\n\n".into());
        events
    };
    let pieces: Vec<String> = summary.split_inclusive(' ').map(str::to_string).collect();
    let stream_response = |body: Body| {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(body)
            .unwrap_or_default()
    };
    match fault {
        Fault::Ok | Fault::Nonsense => stream_response(Body::from(sse(&pieces).concat())),
        Fault::WholeJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "model": "fake-1",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": summary}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
            })
            .to_string(),
        )
            .into_response(),
        Fault::TimeoutBeforeHeaders => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Fault::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":{"message":"the model crashed","type":"server_error"}}"#,
        )
            .into_response(),
        Fault::RateLimited { retry_after_s } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_s.to_string())],
            r#"{"error":{"message":"rate limited"}}"#,
        )
            .into_response(),
        Fault::EchoHeaders => {
            let echoed: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                .collect();
            let message = format!("bad request; you sent {}", echoed.join("; "));
            (
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": {"message": message}}).to_string(),
            )
                .into_response()
        }
        Fault::Unauthorized => {
            (StatusCode::UNAUTHORIZED, r#"{"error":{"message":"Incorrect API key provided"}}"#)
                .into_response()
        }
        Fault::MalformedSse => {
            let events = sse(&pieces);
            stream_response(Body::from(format!("{}data: {{not json\n\n", events[0])))
        }
        Fault::SlowDrip => {
            let bytes: Vec<u8> = sse(&pieces).concat().into_bytes();
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let bytes = bytes.clone();
                async move {
                    if i >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((Ok::<_, std::io::Error>(Bytes::copy_from_slice(&bytes[i..i + 1])), i + 1))
                }
            });
            stream_response(Body::from_stream(stream))
        }
        Fault::DisconnectMidStream => {
            let events = sse(&pieces);
            let first: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from(events[0].clone())),
                Ok(Bytes::from(events.get(1).cloned().unwrap_or_default())),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut")),
            ];
            stream_response(Body::from_stream(futures_util::stream::iter(first)))
        }
    }
}

/// The first three sentences of the note in a prompt, as bullets of at most 40 words in all.
fn summarize(prompt: &str) -> String {
    let note = prompt.rsplit_once("Note:\n").map_or(prompt, |(_, n)| n);
    let mut words = 0;
    let mut bullets = Vec::new();
    for sentence in
        sentences(note).into_iter().filter(|s| s.split_whitespace().count() >= 3).take(3)
    {
        let n = sentence.split_whitespace().count();
        if words + n > 40 {
            break;
        }
        words += n;
        // A summarizer shortens: articles and auxiliaries go (so the answer is not the note's
        // sentences verbatim), figures stay as written.
        let short: Vec<&str> = sentence
            .split_whitespace()
            .filter(|w| {
                !matches!(w.to_lowercase().as_str(), "the" | "a" | "an" | "was" | "were" | "is")
            })
            .collect();
        bullets.push(format!("- {}", short.join(" ")));
    }
    if bullets.is_empty() {
        bullets
            .push(format!("- {}", note.split_whitespace().take(20).collect::<Vec<_>>().join(" ")));
    }
    bullets.join("\n")
}

/// Sentences end at a full stop followed by white space, or at a line break ("4.2 bar" is not
/// two sentences).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_none_or(|(_, n)| n.is_whitespace());
        if c == '\n' || (matches!(c, '.' | '!' | '?') && next_is_space) {
            let end = at + c.len_utf8();
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    out
}
