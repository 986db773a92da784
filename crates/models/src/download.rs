//! Streaming downloads that survive a field connection.
//!
//! A download writes `<partial>` and a small sidecar `<partial>.json` (the URL, the expected
//! hash and size, the server's validator). Whatever stops it — a cut connection, a stall, a
//! pause, the app being killed — the next attempt re-hashes the bytes already on disk and asks
//! for the rest with `Range`; a server that answers the whole file instead (or a file that
//! changed, per `If-Range`) starts it over. Attempts that make progress never use up the retry
//! budget; attempts that don't back off exponentially. The free space is checked before the
//! first byte is asked for, and again once the server says how big the file is. The SHA-256 is
//! computed as the bytes arrive; a file whose hash or size differs from the catalog's is
//! deleted and refused.

use crate::{Error, Result, hex, human_bytes};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    /// No byte for this long: the connection is dropped and resumed.
    pub stall: Duration,
    /// First retry delay; doubles per attempt without progress, up to 30 s.
    pub retry_base: Duration,
    /// Attempts in a row without a new byte before giving up.
    pub max_retries: u32,
    /// Space to leave free on the disk after the download.
    pub min_free: u64,
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stall: Duration::from_secs(30),
            retry_base: Duration::from_secs(1),
            max_retries: 8,
            min_free: 256 << 20,
            connect_timeout: Duration::from_secs(15),
        }
    }
}

/// Pause and cancel, from another thread (the app's buttons, Ctrl-C).
#[derive(Debug, Clone, Default)]
pub struct Control(Arc<AtomicU8>);

impl Control {
    pub(crate) const RUN: u8 = 0;
    pub(crate) const PAUSE: u8 = 1;
    pub(crate) const CANCEL: u8 = 2;

    pub fn pause(&self) {
        self.0.store(Self::PAUSE, Ordering::SeqCst);
    }

    pub fn cancel(&self) {
        self.0.store(Self::CANCEL, Ordering::SeqCst);
    }

    /// Paused or cancelled, and the download may not have stopped yet.
    pub fn is_stopping(&self) -> bool {
        self.check() != Self::RUN
    }

    pub(crate) fn check(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    Downloading,
    Retrying,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub phase: Phase,
    pub downloaded: u64,
    pub total: Option<u64>,
    /// Bytes per second over the last few seconds.
    pub rate_bps: f64,
    pub eta_s: Option<f64>,
    /// Why a retry is happening.
    pub message: Option<String>,
}

/// What to fetch and where to put it.
#[derive(Debug, Clone)]
pub struct Job {
    pub url: String,
    /// Where the bytes go while downloading (the sidecar is this path + ".json").
    pub partial: PathBuf,
    pub sha256: Option<String>,
    /// The exact size (checked; only given together with `sha256`).
    pub size: Option<u64>,
    /// The publisher's estimate where no exact size is known: used only to check the free
    /// space before the first byte (the server's length decides after that).
    pub size_hint: Option<u64>,
    /// Where no exact size is known (trust on first use), the most bytes accepted: a server
    /// that announces or sends more is refused, so an endless body cannot fill the disk.
    pub max_size: Option<u64>,
}

impl Job {
    /// The ceiling for a download whose publisher gave only an estimate: the estimate with a
    /// margin of a quarter (and 16 MiB), as catalogs round their sizes.
    pub fn ceiling_for(estimate: u64) -> u64 {
        estimate.saturating_add(estimate / 4).saturating_add(16 << 20)
    }
}

/// An attempt that brings less than this is no progress: it counts against the retry budget
/// (a server that sends a byte and hangs up must run the budget out).
pub const MIN_PROGRESS: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Downloaded {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Bytes that were already on disk from an earlier attempt or session.
    pub resumed_from: u64,
    /// Connections it took.
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sidecar {
    url: String,
    sha256: Option<String>,
    size: Option<u64>,
    validator: Option<String>,
    total: Option<u64>,
}

/// The sidecar of a download that is paused or was interrupted, if any.
pub fn partial_state(partial: &Path) -> Option<(u64, Option<u64>)> {
    let sidecar: Sidecar =
        serde_json::from_slice(&std::fs::read(sidecar_path(partial)).ok()?).ok()?;
    let have = std::fs::metadata(partial).ok()?.len();
    Some((have, sidecar.total.or(sidecar.size)))
}

/// Deletes a partial download and its sidecar.
pub fn discard(partial: &Path) {
    let _ = std::fs::remove_file(partial);
    let _ = std::fs::remove_file(sidecar_path(partial));
}

fn sidecar_path(partial: &Path) -> PathBuf {
    let mut s = partial.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// Plain HTTP only to this machine: integrity comes from the hash, but a trust-on-first-use
/// download has nothing else to rely on.
pub fn check_url(url: &str) -> Result<()> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| Error::BadInput(format!("{url}: not a URL ({e})")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(Error::BadInput(format!(
            "{url}: models are downloaded over HTTPS only (plain HTTP is allowed to this machine alone)"
        ))),
        _ => Err(Error::BadInput(format!("{url}: not an http(s) URL"))),
    }
}

/// Free bytes on the disk holding `dir`.
pub fn free_space(dir: &Path) -> Result<u64> {
    fs4::available_space(dir)
        .map_err(Error::io(format!("measuring free space at {}", dir.display())))
}

pub(crate) fn check_space(dir: &Path, still_needed: u64, opts: &Options, what: &str) -> Result<()> {
    let free = free_space(dir)?;
    let needed = still_needed.saturating_add(opts.min_free);
    if free < needed {
        return Err(Error::DiskSpace(format!(
            "not enough disk space for {what}: it needs {} more (plus {} kept free), and {} has {} free",
            human_bytes(still_needed),
            human_bytes(opts.min_free),
            dir.display(),
            human_bytes(free)
        )));
    }
    Ok(())
}

/// The HTTP client downloads use: HTTPS (plain HTTP to loopback only, redirects included), at
/// most eight redirects, the connect timeout of `opts`.
pub(crate) fn client(opts: &Options) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 8 {
                attempt.error("too many redirects")
            } else if check_url(attempt.url().as_str()).is_err() {
                attempt.error("redirected to plain HTTP")
            } else {
                attempt.follow()
            }
        }))
        .user_agent(concat!("fieldbrief/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Network(format!("setting up the download: {e}")))
}

/// Downloads `job`, resuming whatever is on disk, calling `progress` a few times a second.
pub fn download(
    job: &Job,
    opts: &Options,
    control: &Control,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Downloaded> {
    check_url(&job.url)?;
    let dir = job.partial.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let what = job.url.rsplit('/').next().unwrap_or(&job.url).to_string();

    // What is on disk from before, if it was the same file.
    let mut sidecar = Sidecar {
        url: job.url.clone(),
        sha256: job.sha256.clone(),
        size: job.size,
        validator: None,
        total: job.size,
    };
    if let Some(old) = std::fs::read(sidecar_path(&job.partial))
        .ok()
        .and_then(|b| serde_json::from_slice::<Sidecar>(&b).ok())
    {
        if old.url == job.url && old.sha256 == job.sha256 && old.size == job.size {
            sidecar = old;
        } else {
            discard(&job.partial);
        }
    } else if job.partial.exists() {
        discard(&job.partial);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(&job.partial)
        .map_err(Error::io(format!("opening {}", job.partial.display())))?;
    let mut existing = Sha256::new();
    let mut have = hash_existing(&mut file, &mut existing, &job.partial)?;
    let resumed_from = have;
    if let Some(total) = sidecar.total.or(job.size) {
        if have > total {
            file.set_len(0).map_err(Error::io("truncating the partial download"))?;
            existing = Sha256::new();
            have = 0;
        }
        check_space(&dir, total.saturating_sub(have), opts, &what)?;
    } else if let Some(estimate) = job.size_hint {
        check_space(&dir, estimate.saturating_sub(have), opts, &what)?;
    }
    save_sidecar(&job.partial, &sidecar)?;
    let hasher = Hashing::start(existing);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("starting the network runtime"))?;
    let client = client(opts)?;

    let mut meter = Meter::new(have);
    let mut failures = 0u32;
    let mut attempts = 0u32;
    progress(&meter.report(Phase::Starting, have, sidecar.total, None));
    loop {
        match control.check() {
            Control::PAUSE => return pause(&mut file, &job.partial, &sidecar, have),
            Control::CANCEL => return cancel(file, &job.partial),
            _ => {}
        }
        attempts += 1;
        let before = have;
        let step = runtime.block_on(fetch(
            &client,
            job,
            &dir,
            &what,
            opts,
            control,
            &mut sidecar,
            &mut file,
            &hasher,
            &mut have,
            &mut meter,
            progress,
        ));
        match step {
            Ok(Fetched::Complete) => break,
            Ok(Fetched::Restart) => {
                // Starting over makes no progress: it counts against the retry budget.
                failures += 1;
                if failures > opts.max_retries {
                    let _ = save_sidecar(&job.partial, &sidecar);
                    return Err(Error::Network(format!(
                        "downloading {what}: the server kept changing the file or its length; try again later"
                    )));
                }
                file.set_len(0).map_err(Error::io("truncating the partial download"))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(Error::io("rewinding the partial download"))?;
                hasher.reset();
                have = 0;
                continue;
            }
            Ok(Fetched::Paused) => return pause(&mut file, &job.partial, &sidecar, have),
            Ok(Fetched::Cancelled) => return cancel(file, &job.partial),
            Err(Attempt::Fatal(e @ Error::Integrity(_))) => {
                // Not the file the catalog describes: nothing of it is worth resuming.
                drop(file);
                discard(&job.partial);
                return Err(e);
            }
            Err(Attempt::Fatal(e)) => {
                let _ = file.sync_all();
                let _ = save_sidecar(&job.partial, &sidecar);
                return Err(e);
            }
            Err(Attempt::Retry(why)) => {
                let _ = file.sync_data();
                save_sidecar(&job.partial, &sidecar)?;
                failures = if have >= before + MIN_PROGRESS { 1 } else { failures + 1 };
                if failures > opts.max_retries {
                    return Err(Error::Network(format!(
                        "downloading {what} failed {} times in a row without progress ({why}); {} of it is kept, and the next try resumes there",
                        failures,
                        human_bytes(have)
                    )));
                }
                let delay = opts
                    .retry_base
                    .saturating_mul(1 << (failures - 1).min(5))
                    .min(Duration::from_secs(30));
                tracing::info!(%why, attempt = attempts, delay_ms = delay.as_millis() as u64, have, "download interrupted; resuming");
                progress(&meter.report(Phase::Retrying, have, sidecar.total, Some(why)));
                let until = Instant::now() + delay;
                while Instant::now() < until {
                    if control.check() != Control::RUN {
                        break;
                    }
                    std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
                }
            }
        }
    }
    file.sync_all().map_err(Error::io(format!("writing {}", job.partial.display())))?;
    drop(file);
    let sha256 = hasher.finish()?;
    let size_wrong = job.sha256.is_some() && job.size.is_some_and(|s| s != have);
    if size_wrong || job.sha256.as_ref().is_some_and(|h| *h != sha256) {
        discard(&job.partial);
        return Err(Error::Integrity(format!(
            "{what} is not the published file: its sha256 is {sha256} ({}), the catalog says {} ({}); it was deleted",
            human_bytes(have),
            job.sha256.as_deref().unwrap_or("?"),
            job.size.map(human_bytes).unwrap_or_default()
        )));
    }
    // The sidecar stays until the caller has installed the file (then `discard`): a file
    // that was complete but not installed (a kill, a failed install) is not fetched again.
    sidecar.total = Some(have);
    save_sidecar(&job.partial, &sidecar)?;
    progress(&meter.report(Phase::Downloading, have, Some(have), None));
    Ok(Downloaded { path: job.partial.clone(), sha256, size: have, resumed_from, attempts })
}

fn hash_existing(file: &mut std::fs::File, hasher: &mut Sha256, path: &Path) -> Result<u64> {
    file.seek(SeekFrom::Start(0)).map_err(Error::io(format!("reading {}", path.display())))?;
    crate::hash_into(file, hasher, path)
}

fn save_sidecar(partial: &Path, s: &Sidecar) -> Result<()> {
    let path = sidecar_path(partial);
    let bytes = serde_json::to_vec(s).map_err(|e| Error::BadInput(e.to_string()))?;
    fieldbrief_fs::write_atomically(&path, &bytes)
        .map_err(Error::io(format!("writing {}", path.display())))
}

fn pause(
    file: &mut std::fs::File,
    partial: &Path,
    sidecar: &Sidecar,
    have: u64,
) -> Result<Downloaded> {
    file.sync_all().map_err(Error::io(format!("writing {}", partial.display())))?;
    save_sidecar(partial, sidecar)?;
    Err(Error::Paused(have))
}

fn cancel(file: std::fs::File, partial: &Path) -> Result<Downloaded> {
    drop(file);
    discard(partial);
    Err(Error::Cancelled)
}

enum Fetched {
    Complete,
    Restart,
    Paused,
    Cancelled,
}

enum Attempt {
    Retry(String),
    Fatal(Error),
}

/// How long a download waits for data before it looks at the clock and reports progress.
const QUIET_STEP: Duration = Duration::from_millis(250);

enum Waited<T> {
    Done(T),
    TimedOut,
    Stopped(Fetched),
}

/// Awaits `fut` for at most `limit`, looking at `control` every 100 ms so that a pause or a
/// cancel takes effect at once, even while the server sends nothing. (`fut` is polled in
/// place, never restarted: reqwest's `send` and `chunk` lose nothing between polls.)
async fn unless_stopped<T>(
    fut: impl std::future::Future<Output = T>,
    limit: Duration,
    control: &Control,
) -> Waited<T> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut fut = std::pin::pin!(fut);
    loop {
        let tick = deadline.min(tokio::time::Instant::now() + Duration::from_millis(100));
        if let Ok(out) = tokio::time::timeout_at(tick, fut.as_mut()).await {
            return Waited::Done(out);
        }
        match control.check() {
            Control::PAUSE => return Waited::Stopped(Fetched::Paused),
            Control::CANCEL => return Waited::Stopped(Fetched::Cancelled),
            _ if tokio::time::Instant::now() >= deadline => return Waited::TimedOut,
            _ => {}
        }
    }
}

/// One connection: asks for the bytes after `have` and appends what arrives.
#[allow(clippy::too_many_arguments)]
async fn fetch(
    client: &reqwest::Client,
    job: &Job,
    dir: &Path,
    what: &str,
    opts: &Options,
    control: &Control,
    sidecar: &mut Sidecar,
    file: &mut std::fs::File,
    hasher: &Hashing,
    have: &mut u64,
    meter: &mut Meter,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Fetched, Attempt> {
    use reqwest::StatusCode;
    use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
    if *have > 0 && job.sha256.is_none() && sidecar.validator.is_none() {
        // Nothing would tell a changed file from the one begun, and no hash would catch a
        // splice: a trust-on-first-use download without a validator starts over.
        return Ok(Fetched::Restart);
    }
    let mut request = client.get(&job.url);
    if *have > 0 {
        request = request.header(RANGE, format!("bytes={}-", *have));
        // A weak validator cannot be used with If-Range (RFC 9110); it is compared below.
        if let Some(v) = sidecar.validator.as_ref().filter(|v| !v.starts_with("W/")) {
            request = request.header(IF_RANGE, v);
        }
    }
    let response =
        match unless_stopped(request.send(), opts.stall + opts.connect_timeout, control).await {
            Waited::Stopped(f) => return Ok(f),
            Waited::TimedOut => return Err(Attempt::Retry("the server did not answer".into())),
            Waited::Done(Err(e)) => return Err(Attempt::Retry(describe(&e))),
            Waited::Done(Ok(r)) => r,
        };
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let validator = header(ETAG).or_else(|| header(LAST_MODIFIED));
    let total = match status {
        StatusCode::PARTIAL_CONTENT => {
            // "bytes START-END/TOTAL": it must start where we are.
            let range = header(CONTENT_RANGE).unwrap_or_default();
            let start = range
                .strip_prefix("bytes ")
                .and_then(|r| r.split('-').next())
                .and_then(|s| s.parse::<u64>().ok());
            let total = range.rsplit('/').next().and_then(|t| t.parse::<u64>().ok());
            let changed_length = matches!((sidecar.total, total), (Some(a), Some(b)) if a != b);
            let changed_validator =
                matches!((&sidecar.validator, &validator), (Some(a), Some(b)) if a != b);
            if start != Some(*have) || changed_length || changed_validator {
                tracing::info!(
                    changed_length,
                    changed_validator,
                    "the file on the server is not the one begun; starting over"
                );
                return Ok(Fetched::Restart);
            }
            total
        }
        StatusCode::OK => {
            if *have > 0 {
                // The server ignored the range, or the file changed: start over.
                tracing::info!("server sent the whole file; starting over");
                *have = 0;
                file.set_len(0)
                    .map_err(|e| Attempt::Fatal(Error::io("truncating the partial download")(e)))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| Attempt::Fatal(Error::io("rewinding")(e)))?;
                hasher.reset();
            }
            header(CONTENT_LENGTH).and_then(|t| t.parse::<u64>().ok())
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let total = header(CONTENT_RANGE)
                .and_then(|r| r.rsplit('/').next().and_then(|t| t.parse::<u64>().ok()));
            return if total == Some(*have) { Ok(Fetched::Complete) } else { Ok(Fetched::Restart) };
        }
        s if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT =>
        {
            return Err(Attempt::Retry(format!("the server answered {s}")));
        }
        s => {
            return Err(Attempt::Fatal(Error::Network(format!(
                "{}: the server answered {s}",
                job.url
            ))));
        }
    };
    if let Some(t) = total {
        if let Some(max) = job.max_size.filter(|&m| t > m) {
            return Err(Attempt::Fatal(Error::Integrity(format!(
                "{what}: the server offers {}, more than the {} the catalog leads to expect; nothing was installed",
                human_bytes(t),
                human_bytes(max)
            ))));
        }
        if job.sha256.is_some() && job.size.is_some_and(|s| s != t) {
            return Err(Attempt::Fatal(Error::Integrity(format!(
                "{what}: the server offers {} bytes, the catalog says {}; nothing was installed",
                t,
                job.size.unwrap_or(0)
            ))));
        }
        if sidecar.total != Some(t) {
            check_space(dir, t.saturating_sub(*have), opts, what).map_err(Attempt::Fatal)?;
        }
        sidecar.total = Some(t);
    }
    sidecar.validator = validator;
    save_sidecar(&job.partial, sidecar).map_err(Attempt::Fatal)?;
    file.seek(SeekFrom::Start(*have))
        .map_err(|e| Attempt::Fatal(Error::io("seeking the partial download")(e)))?;
    let mut response = response;
    // Writes go out in 1 MiB blocks; `have` counts only bytes in the file.
    let mut pending: Vec<u8> = Vec::with_capacity(WRITE_BLOCK);
    let mut last_data = Instant::now();
    let outcome = loop {
        match control.check() {
            Control::PAUSE => break Ok(Fetched::Paused),
            Control::CANCEL => break Ok(Fetched::Cancelled),
            _ => {}
        }
        let received = *have + pending.len() as u64;
        // Waits in short steps (a chunk future that is dropped loses nothing), so that while
        // the server is quiet the progress still shows every byte that came.
        let chunk = match unless_stopped(response.chunk(), QUIET_STEP.min(opts.stall), control)
            .await
        {
            Waited::Stopped(f) => break Ok(f),
            Waited::TimedOut if last_data.elapsed() >= opts.stall => {
                break Err(Attempt::Retry(format!("no data for {} s", opts.stall.as_secs_f64())));
            }
            Waited::TimedOut => {
                // Every byte that came is shown, and the rate falls while nothing comes.
                if meter.due() {
                    progress(&meter.report(Phase::Downloading, received, sidecar.total, None));
                }
                continue;
            }
            Waited::Done(Err(e)) => break Err(Attempt::Retry(describe(&e))),
            Waited::Done(Ok(None)) => {
                break match sidecar.total {
                    Some(t) if received < t => {
                        Err(Attempt::Retry(format!("the connection closed at {received} of {t}")))
                    }
                    _ => Ok(Fetched::Complete),
                };
            }
            Waited::Done(Ok(Some(c))) => c,
        };
        if sidecar.total.is_some_and(|t| received + chunk.len() as u64 > t) {
            if job.sha256.is_some() && job.size.is_some() {
                break Err(Attempt::Fatal(Error::Integrity(format!(
                    "{what}: the server sent more than the catalog's {} bytes; nothing was installed",
                    job.size.unwrap_or(0)
                ))));
            }
            break Ok(Fetched::Restart);
        }
        if let Some(max) = job.max_size.filter(|&m| received + chunk.len() as u64 > m) {
            break Err(Attempt::Fatal(Error::Integrity(format!(
                "{what}: the server sent more than the {} the catalog leads to expect; nothing was installed",
                human_bytes(max)
            ))));
        }
        pending.extend_from_slice(&chunk);
        hasher.update(chunk);
        if pending.len() >= WRITE_BLOCK {
            // Without a length from the server the space was never checked for the whole: it
            // is, block by block, so the disk keeps its reserve.
            if sidecar.total.is_none()
                && let Err(e) = check_space(dir, pending.len() as u64, opts, what)
            {
                break Err(Attempt::Fatal(e));
            }
            if let Err(e) = write_block(file, &mut pending, have, what, &job.partial) {
                return Err(Attempt::Fatal(e));
            }
        }
        last_data = Instant::now();
        if meter.due() {
            progress(&meter.report(
                Phase::Downloading,
                *have + pending.len() as u64,
                sidecar.total,
                None,
            ));
        }
    };
    if let Err(e) = write_block(file, &mut pending, have, what, &job.partial) {
        return Err(Attempt::Fatal(e));
    }
    outcome
}

const WRITE_BLOCK: usize = 1 << 20;

fn write_block(
    file: &mut std::fs::File,
    pending: &mut Vec<u8>,
    have: &mut u64,
    what: &str,
    partial: &Path,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    if let Err(e) = file.write_all(pending) {
        let full = e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull;
        return Err(if full {
            Error::DiskSpace(format!(
                "the disk filled up while downloading {what}; {} are kept to resume",
                human_bytes(*have)
            ))
        } else {
            Error::io(format!("writing {}", partial.display()))(e)
        });
    }
    *have += pending.len() as u64;
    pending.clear();
    Ok(())
}

/// SHA-256 on its own thread, so hashing overlaps the network and the disk.
struct Hashing {
    tx: Option<std::sync::mpsc::SyncSender<HashMsg>>,
    handle: Option<std::thread::JoinHandle<Sha256>>,
}

enum HashMsg {
    Data(bytes::Bytes),
    Reset,
}

impl Hashing {
    fn start(initial: Sha256) -> Hashing {
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashMsg>(256);
        let handle = std::thread::spawn(move || {
            let mut h = initial;
            for m in rx {
                match m {
                    HashMsg::Data(b) => h.update(&b),
                    HashMsg::Reset => h = Sha256::new(),
                }
            }
            h
        });
        Hashing { tx: Some(tx), handle: Some(handle) }
    }

    fn update(&self, b: bytes::Bytes) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(HashMsg::Data(b));
        }
    }

    fn reset(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(HashMsg::Reset);
        }
    }

    fn finish(mut self) -> Result<String> {
        drop(self.tx.take());
        let h = self
            .handle
            .take()
            .and_then(|h| h.join().ok())
            .ok_or_else(|| Error::Network("the hashing thread failed".into()))?;
        Ok(hex(&h.finalize()))
    }
}

impl Drop for Hashing {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Rate over a sliding window of a few seconds, and when to report.
struct Meter {
    samples: std::collections::VecDeque<(Instant, u64)>,
    last_report: Option<Instant>,
}

impl Meter {
    fn new(have: u64) -> Meter {
        let mut samples = std::collections::VecDeque::new();
        samples.push_back((Instant::now(), have));
        Meter { samples, last_report: None }
    }

    fn due(&mut self) -> bool {
        self.last_report.is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
    }

    fn report(
        &mut self,
        phase: Phase,
        have: u64,
        total: Option<u64>,
        message: Option<String>,
    ) -> Progress {
        let now = Instant::now();
        self.last_report = Some(now);
        self.samples.push_back((now, have));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(5))
        {
            self.samples.pop_front();
        }
        let rate = match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 && b1 >= b0 => {
                (b1 - b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        };
        let eta_s = match total {
            Some(t) if rate > 0.0 => Some(t.saturating_sub(have) as f64 / rate),
            _ => None,
        };
        Progress { phase, downloaded: have, total, rate_bps: rate, eta_s, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_allowed_only_to_this_machine() {
        check_url("https://huggingface.co/x.gguf").unwrap();
        check_url("http://127.0.0.1:8080/x.gguf").unwrap();
        check_url("http://localhost/x").unwrap();
        check_url("http://[::1]:9/x").unwrap();
        assert!(check_url("http://models.example/x.gguf").is_err());
        assert!(check_url("http://127.0.0.1.evil.example/x").is_err());
        assert!(check_url("http://evil.example#@localhost/x.gguf").is_err());
        assert!(check_url("http://evil.example?@127.0.0.1/x").is_err());
        assert!(check_url("ftp://x/y").is_err());
    }
}
