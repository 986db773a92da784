//! A loopback HTTP file server for download tests: serves files with `Range` support and
//! misbehaves on demand — cuts the connection at given offsets, stalls, ignores ranges, fails
//! with 500 — while recording every request's range.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    /// Send up to this absolute offset of the file, then drop the connection.
    CutAt(u64),
    /// Send up to this offset, then send nothing more (keep the connection open).
    StallAt(u64),
    /// Answer 500.
    ServerError,
    /// Answer 200 with the whole file even when a range was asked for.
    IgnoreRange,
    /// Answer 200 with no length and a body that never ends (zeros, as fast as it is read).
    Endless,
}

#[derive(Default)]
struct Shared {
    files: Mutex<BTreeMap<String, Arc<Vec<u8>>>>,
    /// Planned misbehaviours, each for any path (`None`) or for one.
    plan: Mutex<VecDeque<(Option<String>, Misbehave)>>,
    /// (path, first byte asked for)
    requests: Mutex<Vec<(String, u64)>>,
    served_bytes: AtomicUsize,
    /// Bytes sent, per path.
    served_by_path: Mutex<BTreeMap<String, usize>>,
}

pub struct FileServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FileServer {
    pub fn start() -> FileServer {
        let shared = Arc::new(Shared::default());
        let std_listener =
            std::net::TcpListener::bind(("127.0.0.1", 0)).expect("binding a loopback port");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("a tokio listener");
                let app = Router::new().route("/{*path}", get(serve)).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        FileServer { addr, shared, stop: Some(stop) }
    }

    /// Serves `bytes` at `/path`.
    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        if let Ok(mut f) = self.shared.files.lock() {
            f.insert(path.trim_start_matches('/').to_string(), Arc::new(bytes));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Misbehaviours for the next requests, one each, in order.
    pub fn plan(&self, steps: impl IntoIterator<Item = Misbehave>) {
        if let Ok(mut p) = self.shared.plan.lock() {
            p.extend(steps.into_iter().map(|s| (None, s)));
        }
    }

    /// Misbehaviours for the next requests of `/path` only, one each, in order.
    pub fn plan_for(&self, path: &str, steps: impl IntoIterator<Item = Misbehave>) {
        let path = path.trim_start_matches('/').to_string();
        if let Ok(mut p) = self.shared.plan.lock() {
            p.extend(steps.into_iter().map(|s| (Some(path.clone()), s)));
        }
    }

    /// Every request so far: (path, first byte asked for).
    pub fn requests(&self) -> Vec<(String, u64)> {
        self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn served_bytes(&self) -> usize {
        self.shared.served_bytes.load(Ordering::SeqCst)
    }

    /// Bytes sent of one file (its name as given to [`FileServer::put`]).
    pub fn served_bytes_of(&self, path: &str) -> usize {
        let path = path.trim_start_matches('/');
        self.shared.served_by_path.lock().ok().and_then(|m| m.get(path).copied()).unwrap_or(0)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(
    State(s): State<Arc<Shared>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(file) = s.files.lock().ok().and_then(|f| f.get(&path).cloned()) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .map(str::to_string);
    let asked =
        range.as_deref().and_then(|r| r.split('-').next()).and_then(|n| n.parse::<u64>().ok());
    // `bytes=A-B` asks for A to B inclusive; `bytes=A-` for the rest.
    let last =
        range.as_deref().and_then(|r| r.split('-').nth(1)).and_then(|n| n.parse::<u64>().ok());
    if let Ok(mut r) = s.requests.lock() {
        r.push((path.clone(), asked.unwrap_or(0)));
    }
    let step = s.plan.lock().ok().and_then(|mut p| {
        let i = p.iter().position(|(only, _)| only.as_ref().is_none_or(|o| *o == path))?;
        p.remove(i).map(|(_, step)| step)
    });
    let len = file.len() as u64;
    if step == Some(Misbehave::Endless) {
        let counter = s.clone();
        let endless = futures_util::stream::unfold((), move |()| {
            let counter = counter.clone();
            async move {
                counter.served_bytes.fetch_add(16 * 1024, Ordering::SeqCst);
                Some((Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 16 * 1024])), ()))
            }
        });
        return Response::builder()
            .status(StatusCode::OK)
            .body(Body::from_stream(endless))
            .unwrap_or_default();
    }
    let (start, status) = match (asked, step) {
        (_, Some(Misbehave::ServerError)) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "try later").into_response();
        }
        (Some(a), _) if a >= len => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(Body::empty())
                .unwrap_or_default();
        }
        (Some(a), s) if s != Some(Misbehave::IgnoreRange) => (a, StatusCode::PARTIAL_CONTENT),
        _ => (0, StatusCode::OK),
    };
    let stop = match (status, last) {
        (StatusCode::PARTIAL_CONTENT, Some(last)) if last < start => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(Body::empty())
                .unwrap_or_default();
        }
        (StatusCode::PARTIAL_CONTENT, Some(last)) => last.saturating_add(1).min(len),
        _ => len,
    };
    let (end, after) = match step {
        Some(Misbehave::CutAt(at)) if at > start && at < stop => (at, After::Cut),
        Some(Misbehave::StallAt(at)) if at >= start && at < stop => (at, After::Stall),
        _ => (stop, After::End),
    };
    let counter = s.clone();
    let stream = async_stream(file, start, end, after, counter, path.clone());
    let mut b = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, (stop - start).to_string())
        .header(header::ETAG, format!("\"{len:x}\""))
        .header(header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        b = b.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{len}", stop - 1));
    }
    b.body(Body::from_stream(stream)).unwrap_or_default()
}

#[derive(Clone, Copy)]
enum After {
    End,
    Cut,
    Stall,
}

fn async_stream(
    file: Arc<Vec<u8>>,
    start: u64,
    end: u64,
    after: After,
    counter: Arc<Shared>,
    path: String,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    const CHUNK: u64 = 16 * 1024;
    futures_util::stream::unfold((start, false), move |(pos, done)| {
        let file = file.clone();
        let counter = counter.clone();
        let path = path.clone();
        async move {
            if done {
                return None;
            }
            if pos < end {
                let next = (pos + CHUNK).min(end);
                counter.served_bytes.fetch_add((next - pos) as usize, Ordering::SeqCst);
                if let Ok(mut m) = counter.served_by_path.lock() {
                    *m.entry(path).or_default() += (next - pos) as usize;
                }
                return Some((
                    Ok(Bytes::copy_from_slice(&file[pos as usize..next as usize])),
                    (next, false),
                ));
            }
            match after {
                After::End => None,
                After::Cut => {
                    // Let the server flush what it buffered first, so the client has every
                    // byte before the cut (a reset drops unsent buffers).
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "cut by the test",
                        )),
                        (pos, true),
                    ))
                }
                After::Stall => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    None
                }
            }
        }
    })
}
