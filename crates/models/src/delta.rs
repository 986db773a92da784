//! Delta updates, the publisher's half and the plan: a model file described as parts — its
//! GGUF header (metadata and tensor table) and each tensor's data with the padding after it —
//! each with its SHA-256, so that a laptop holding an earlier version fetches only the parts it
//! does not already have. A fine-tune that changes one tensor changes one part; the header
//! part changes with any metadata.
//!
//! [`gguf_parts`] cuts a file (for `fieldbrief models parts`, which prints the list a catalog
//! entry carries); [`plan`] matches a new version's parts against the parts of files already
//! installed, by hash and size, wherever they sit in those files; [`assemble`] builds the new
//! file in staging — the parts on disk copied (and re-hashed), the others fetched with `Range`
//! (adjacent ones in one request), each part checked — and checks the whole file's SHA-256
//! before anything installs it. A server that ignores `Range` makes it give way to a full
//! download. A delta is not resumed across a pause: it starts again, and is small.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A byte range of a model file and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub offset: u64,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// The parts of a GGUF file: the header up to the tensor data, then each tensor's bytes up to
/// the next tensor (alignment padding included), in file order. Together they cover the file
/// exactly.
pub fn gguf_parts(path: &Path) -> Result<Vec<Part>> {
    let header = fieldbrief_gguf::read(path)
        .map_err(|e| Error::InvalidModel(format!("{}: {e}", path.display())))?;
    let mut starts: Vec<u64> =
        header.tensors.iter().map(|t| header.data_offset + t.offset).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut bounds = vec![0];
    bounds.extend(starts.into_iter().filter(|s| *s > 0));
    bounds.push(header.file_size);
    bounds.dedup();
    let mut file =
        std::fs::File::open(path).map_err(Error::io(format!("opening {}", path.display())))?;
    let mut parts = Vec::with_capacity(bounds.len());
    for w in bounds.windows(2) {
        let (offset, size) = (w[0], w[1] - w[0]);
        parts.push(Part { offset, size, sha256: hash_range(&mut file, offset, size, path)? });
    }
    Ok(parts)
}

fn hash_range(file: &mut std::fs::File, offset: u64, size: u64, path: &Path) -> Result<String> {
    file.seek(SeekFrom::Start(offset)).map_err(Error::io(format!("reading {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut left = size;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        file.read_exact(&mut buf[..n]).map_err(Error::io(format!("reading {}", path.display())))?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Where each part of a new version comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Copied from an installed file, at this offset in it.
    Local { file: PathBuf, offset: u64 },
    /// Fetched from the server with a `Range` request.
    Remote,
}

/// The new version's parts, each with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub parts: Vec<(Part, Source)>,
}

impl Plan {
    /// Bytes to download.
    pub fn remote_bytes(&self) -> u64 {
        self.parts.iter().filter(|(_, s)| *s == Source::Remote).map(|(p, _)| p.size).sum()
    }

    pub fn total_bytes(&self) -> u64 {
        self.parts.iter().map(|(p, _)| p.size).sum()
    }
}

/// Checks that `parts` describe a file of `size` bytes exactly, in order, without gaps.
pub fn check_parts(parts: &[Part], size: u64) -> Result<()> {
    let mut at: u64 = 0;
    for p in parts {
        let hex = p.sha256.len() == 64
            && p.sha256.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        let end = at.checked_add(p.size).filter(|end| *end <= size);
        match end {
            Some(end) if p.offset == at && p.size > 0 && hex => at = end,
            _ => {
                return Err(Error::BadInput(format!(
                    "the parts do not describe the file: a part at {} of {} bytes where byte {at} was expected",
                    p.offset, p.size
                )));
            }
        }
    }
    if at != size {
        return Err(Error::BadInput(format!("the parts cover {at} bytes of a {size}-byte file")));
    }
    Ok(())
}

/// Matches `wanted` (a catalog entry's parts) against the parts of files already on the
/// laptop (`have`: each file with its parts), by hash and size.
pub fn plan(wanted: &[Part], have: &[(PathBuf, Vec<Part>)]) -> Plan {
    let mut index: std::collections::HashMap<(&str, u64), (&Path, u64)> = Default::default();
    for (file, parts) in have {
        for p in parts {
            index.entry((p.sha256.as_str(), p.size)).or_insert((file.as_path(), p.offset));
        }
    }
    Plan {
        parts: wanted
            .iter()
            .map(|p| {
                let source = match index.get(&(p.sha256.as_str(), p.size)) {
                    Some((file, offset)) => {
                        Source::Local { file: file.to_path_buf(), offset: *offset }
                    }
                    None => Source::Remote,
                };
                (p.clone(), source)
            })
            .collect(),
    }
}

/// A file assembled from its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Bytes fetched from the server.
    pub downloaded: u64,
}

/// Builds the file `plan` describes at `out` (replaced if there), fetching its remote parts
/// from `url`. `Ok(None)`: the server does not answer byte ranges (nothing is kept; download
/// the whole file instead). The whole file must hash to `sha256`.
pub fn assemble(
    url: &str,
    plan: &Plan,
    out: &Path,
    sha256: &str,
    opts: &crate::download::Options,
    control: &crate::download::Control,
    progress: &mut dyn FnMut(&crate::download::Progress),
) -> Result<Option<Assembled>> {
    use crate::download::{Control, Phase, Progress};
    crate::download::check_url(url)?;
    let dir = out.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let total = plan.total_bytes();
    crate::download::check_space(&dir, total, opts, "the update")?;
    let remote_total = plan.remote_bytes();
    let result = (|| -> Result<Option<u64>> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(out)
            .map_err(Error::io(format!("creating {}", out.display())))?;
        file.set_len(total).map_err(Error::io(format!("sizing {}", out.display())))?;
        // Parts already on the laptop; one whose bytes changed since is fetched instead.
        let mut remote: Vec<&Part> = Vec::new();
        for (part, source) in &plan.parts {
            match source {
                Source::Local { file: from, offset }
                    if copy_part(from, *offset, part, &mut file)? => {}
                _ => remote.push(part),
            }
        }
        let remote_total = remote.iter().map(|p| p.size).sum::<u64>().max(remote_total);
        let started = std::time::Instant::now();
        let mut downloaded = 0u64;
        let report = |downloaded: u64, phase: Phase, message: Option<String>| {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let rate = downloaded as f64 / secs;
            Progress {
                phase,
                downloaded,
                total: Some(remote_total),
                rate_bps: rate,
                eta_s: (rate > 0.0).then(|| (remote_total - downloaded) as f64 / rate),
                message,
            }
        };
        progress(&report(
            0,
            Phase::Starting,
            Some(format!(
                "{} of {} to download; the rest is already on this laptop",
                crate::human_bytes(remote_total),
                crate::human_bytes(total)
            )),
        ));
        // Adjacent parts in one request.
        let mut ranges: Vec<(u64, u64, Vec<&Part>)> = Vec::new();
        for p in remote {
            match ranges.last_mut() {
                Some((_, end, parts)) if *end == p.offset => {
                    *end += p.size;
                    parts.push(p);
                }
                _ => ranges.push((p.offset, p.offset + p.size, vec![p])),
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::io("starting the network runtime"))?;
        let client = crate::download::client(opts)?;
        for (start, end, parts) in ranges {
            let mut failures = 0u32;
            // Where the range continues: a short reply or a cut connection resumes there.
            let mut pos = start;
            loop {
                match control.check() {
                    Control::PAUSE => return Err(Error::Paused(0)),
                    Control::CANCEL => return Err(Error::Cancelled),
                    _ => {}
                }
                let done_before = downloaded + (pos - start);
                let (got, result) = runtime.block_on(fetch_range(
                    &client,
                    url,
                    pos,
                    end,
                    &mut file,
                    opts,
                    control,
                    &mut |n| progress(&report(done_before + n, Phase::Downloading, None)),
                ));
                pos += got;
                match result {
                    Ok(Fetched::WholeFile) => return Ok(None),
                    Ok(Fetched::Range) if pos < end => {
                        // A server that caps its replies: ask for the rest.
                        if got == 0 {
                            failures += 1;
                            if failures > opts.max_retries {
                                return Err(Error::Network(format!(
                                    "{url} sends nothing of bytes {pos}–{end}"
                                )));
                            }
                        }
                        continue;
                    }
                    Ok(Fetched::Range) => {}
                    Err(e @ (Error::Paused(_) | Error::Cancelled)) => return Err(e),
                    Err(e) => {
                        // Only attempts without a new byte count against the retries.
                        if got < crate::download::MIN_PROGRESS {
                            failures += 1;
                        }
                        if failures > opts.max_retries {
                            return Err(e);
                        }
                        progress(&report(
                            downloaded + (pos - start),
                            Phase::Retrying,
                            Some(e.to_string()),
                        ));
                        std::thread::sleep(
                            opts.retry_base
                                .saturating_mul(1 << failures.min(5))
                                .min(std::time::Duration::from_secs(30)),
                        );
                        continue;
                    }
                }
                // Each part as published, or the range again from its start.
                let mut bad = None;
                for p in &parts {
                    if hash_range(&mut file, p.offset, p.size, out)? != p.sha256 {
                        bad = Some(p.offset);
                    }
                }
                match bad {
                    None => break,
                    Some(at) => {
                        failures += 1;
                        pos = start;
                        if failures > opts.max_retries {
                            return Err(Error::Integrity(format!(
                                "the part at byte {at} of {url} is not the one the catalog publishes"
                            )));
                        }
                    }
                }
            }
            downloaded += end - start;
            progress(&report(downloaded, Phase::Downloading, None));
        }
        file.sync_all().map_err(Error::io(format!("writing {}", out.display())))?;
        Ok(Some(downloaded))
    })();
    let downloaded = match result {
        Ok(Some(d)) => d,
        Ok(None) => {
            let _ = std::fs::remove_file(out);
            return Ok(None);
        }
        Err(e) => {
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
    };
    let mut file =
        std::fs::File::open(out).map_err(Error::io(format!("opening {}", out.display())))?;
    let whole = hash_range(&mut file, 0, total, out)?;
    if whole != sha256 {
        let _ = std::fs::remove_file(out);
        return Err(Error::Integrity(format!(
            "the assembled update hashes to {whole}, not the catalog's {sha256}; it was deleted"
        )));
    }
    Ok(Some(Assembled { path: out.to_path_buf(), sha256: whole, size: total, downloaded }))
}

/// Copies `part` from `from` at `offset` into `out`, if those bytes still hash as published.
fn copy_part(from: &Path, offset: u64, part: &Part, out: &mut std::fs::File) -> Result<bool> {
    use std::io::Write;
    let Ok(mut src) = std::fs::File::open(from) else { return Ok(false) };
    if src.seek(SeekFrom::Start(offset)).is_err() {
        return Ok(false);
    }
    out.seek(SeekFrom::Start(part.offset)).map_err(Error::io("writing the update"))?;
    let mut hasher = Sha256::new();
    let mut left = part.size;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        if src.read_exact(&mut buf[..n]).is_err() {
            return Ok(false);
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Error::io("writing the update"))?;
        left -= n as u64;
    }
    Ok(crate::hex(&hasher.finalize()) == part.sha256)
}

enum Fetched {
    Range,
    /// The server answered the whole file: it does not do ranges.
    WholeFile,
}

/// GET `url` bytes `start..end` into `file` at `start`; `on_bytes` gets the bytes so far.
/// Returns how many bytes were written, with how it ended (a reply may be shorter than asked).
#[allow(clippy::too_many_arguments)]
async fn fetch_range(
    client: &reqwest::Client,
    url: &str,
    start: u64,
    end: u64,
    file: &mut std::fs::File,
    opts: &crate::download::Options,
    control: &crate::download::Control,
    on_bytes: &mut dyn FnMut(u64),
) -> (u64, Result<Fetched>) {
    use std::io::Write;
    let request =
        client.get(url).header(reqwest::header::RANGE, format!("bytes={start}-{}", end - 1)).send();
    let mut response = match tokio::time::timeout(opts.stall, request).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return (0, Err(Error::Network(format!("fetching part of {url}: {e}")))),
        Err(_) => {
            return (
                0,
                Err(Error::Network(format!("{url} did not answer within {:?}", opts.stall))),
            );
        }
    };
    match response.status() {
        reqwest::StatusCode::PARTIAL_CONTENT => {}
        reqwest::StatusCode::OK => return (0, Ok(Fetched::WholeFile)),
        s => return (0, Err(Error::Network(format!("{url} answered {s} to a range request")))),
    }
    // The reply must start where it was asked to.
    let first = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.parse::<u64>().ok());
    if first != Some(start) {
        return (
            0,
            Err(Error::Network(format!("{url} answered another range than bytes {start}–{end}"))),
        );
    }
    if let Err(e) = file.seek(SeekFrom::Start(start)) {
        return (0, Err(Error::io("writing the update")(e)));
    }
    let mut got = 0u64;
    loop {
        if control.is_stopping() {
            let stop = match control.check() {
                crate::download::Control::PAUSE => Error::Paused(0),
                _ => Error::Cancelled,
            };
            return (got, Err(stop));
        }
        let chunk = match tokio::time::timeout(opts.stall, response.chunk()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return (got, Err(Error::Network(format!("reading part of {url}: {e}")))),
            Err(_) => {
                return (got, Err(Error::Network(format!("{url} stalled for {:?}", opts.stall))));
            }
        };
        let Some(chunk) = chunk else { break };
        if got + chunk.len() as u64 > end - start {
            return (got, Err(Error::Network(format!("{url} sent more than the range asked for"))));
        }
        if let Err(e) = file.write_all(&chunk) {
            return (got, Err(Error::io("writing the update")(e)));
        }
        got += chunk.len() as u64;
        on_bytes(got);
    }
    (got, Ok(Fetched::Range))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbrief_gguf::write::{Fill, LlamaSpec};

    fn model(dir: &Path, name: &str, seed: u64, change: Option<&str>) -> PathBuf {
        let mut writer = LlamaSpec { seed, ..LlamaSpec::tiny() }.writer();
        if let Some(tensor) = change {
            assert!(writer.refill(tensor, Fill::Random { seed: 999, scale: 0.05 }));
        }
        let path = dir.join(name);
        std::fs::write(&path, writer.to_bytes()).unwrap();
        path
    }

    #[test]
    fn the_parts_cover_the_file_and_one_changed_tensor_changes_one_part() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = model(dir.path(), "v1.gguf", 1, None);
        let v2 = model(dir.path(), "v2.gguf", 1, Some("blk.1.ffn_down.weight"));
        let (p1, p2) = (gguf_parts(&v1).unwrap(), gguf_parts(&v2).unwrap());
        let size = std::fs::metadata(&v1).unwrap().len();
        check_parts(&p1, size).unwrap();
        assert!(p1.len() > 10, "{} parts", p1.len());
        let differing: Vec<usize> = (0..p1.len()).filter(|i| p1[*i] != p2[*i]).collect();
        assert_eq!(differing.len(), 1, "{differing:?}");

        let plan = plan(&p2, &[(v1.clone(), p1.clone())]);
        let changed = &p2[differing[0]];
        assert_eq!(plan.remote_bytes(), changed.size);
        assert_eq!(plan.total_bytes(), size);
        assert!(plan.parts.iter().all(|(p, s)| (*s == Source::Remote) == (p == changed)));
        // With nothing installed, everything is fetched.
        assert_eq!(super::plan(&p2, &[]).remote_bytes(), size);
    }

    #[test]
    fn parts_that_do_not_describe_the_file_are_refused() {
        let part = |offset, size| Part { offset, size, sha256: "a".repeat(64) };
        check_parts(&[part(0, 10), part(10, 5)], 15).unwrap();
        assert!(check_parts(&[part(0, 10), part(11, 4)], 15).is_err());
        assert!(check_parts(&[part(0, 10)], 15).is_err());
        assert!(check_parts(&[part(0, 15), part(15, 0)], 15).is_err());
        assert!(check_parts(&[part(0, u64::MAX), part(u64::MAX, 11)], 10).is_err());
        let upper = Part { offset: 0, size: 15, sha256: "A".repeat(64) };
        assert!(check_parts(&[upper], 15).is_err());
    }
}
