//! User settings: `<home>/config.toml`, every key optional. The CLI and the app read and
//! write the same file (see `cli-contract.md` in the design notes).

use crate::Style;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub cloud: CloudSettings,
    pub models: ModelSettings,
    pub limits: Limits,
    pub summary: SummaryDefaults,
    pub engine: EngineSettings,
    pub power: PowerSettings,
    pub routing: RoutingSettings,
    pub cache: CacheSettings,
    pub cost: crate::cost::CostSettings,
    pub ui: UiSettings,
}

/// `[ui]`: the desktop app's behaviour (its looks, theme and text size, are kept per laptop
/// by the window itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSettings {
    /// A desktop notification when a summary or a cloud refinement finishes while the window
    /// is not in front.
    pub notifications: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings { notifications: true }
    }
}

/// `[cache]`: the offline response cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Serve a summary again for the same note, style, length, model and prompt.
    pub enabled: bool,
    /// Most entries kept; the least recently used go first.
    pub max_entries: usize,
    /// Offer the summary of a very similar earlier note (never served in its place).
    pub offer_similar: bool,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings { enabled: true, max_entries: 5000, offer_similar: true }
    }
}

/// `[power]`: the power manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PowerSettings {
    /// `auto` follows the battery and the temperature; a mode name fixes the mode.
    pub mode: crate::power::Override,
    /// Seconds between readings of the battery and the sensors.
    pub poll_secs: u64,
}

impl Default for PowerSettings {
    fn default() -> Self {
        PowerSettings { mode: crate::power::Override::Auto, poll_secs: 5 }
    }
}

/// `[routing]`: the router's user preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingSettings {
    pub prefer: crate::route::Preference,
}

/// The local engine's settings (`[engine]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// Layers offloaded to the GPU in GPU builds. Unset: as many as the GPU's free memory
    /// holds; 0 keeps everything on the CPU. The power manager will lower this on battery.
    pub gpu_layers: Option<u32>,
    /// Context window in tokens; 0 uses the model's own.
    pub context: u32,
    /// CPU threads; 0 lets llama.cpp choose.
    pub threads: u32,
    /// The worker unloads the model after this many idle seconds.
    pub idle_unload_secs: u64,
    /// 0 means greedy decoding: the same note always gives the same summary.
    pub temperature: f32,
    pub top_p: f32,
    pub repeat_penalty: f32,
    pub seed: u32,
    /// Speculative decoding: at most this many tokens guessed per step from what followed the
    /// same words in the note (prompt-lookup decoding, e.g. 8); 0, the default, is off. Each
    /// token is still the one the model picks; it pays where a batch of tokens costs little
    /// more than one (GPUs), not on the CPUs measured (`fieldbrief bench --note` tells).
    pub draft_tokens: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            gpu_layers: None,
            context: 0,
            threads: 0,
            idle_unload_secs: 300,
            temperature: 0.2,
            top_p: 0.9,
            repeat_penalty: 1.1,
            seed: 1,
            draft_tokens: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudSettings {
    /// Opt-in. While false nothing is sent to, or probed at, any endpoint.
    pub enabled: bool,
    /// OpenAI-compatible base URL; `/chat/completions` is appended. HTTPS, except on loopback.
    pub endpoint: Option<String>,
    pub model: Option<String>,
    /// "Work offline": the cloud is treated as unreachable and never probed.
    pub work_offline: bool,
    /// Seconds to connect (TCP and TLS).
    pub connect_timeout_secs: u64,
    /// Seconds from sending the request to the first byte of the answer.
    pub first_byte_timeout_secs: u64,
    /// Seconds for the whole answer; also the longest a stream may stall.
    pub total_timeout_secs: u64,
    /// Retries on 429 and 5xx (with jittered backoff, honouring `Retry-After`).
    pub max_retries: u32,
    /// Longest `Retry-After` honoured, in seconds; a server asking for more is given up on.
    pub max_retry_after_secs: u64,
    /// The organisation's own redaction patterns, `name = "regex"` (e.g. `site = 'SITE-\d{4}'`),
    /// applied with the built-in e-mail, phone and IP address patterns.
    pub redact: std::collections::BTreeMap<String, String>,
}

impl Default for CloudSettings {
    fn default() -> Self {
        CloudSettings {
            enabled: false,
            endpoint: None,
            model: None,
            work_offline: false,
            connect_timeout_secs: 5,
            first_byte_timeout_secs: 30,
            total_timeout_secs: 180,
            max_retries: 3,
            max_retry_after_secs: 30,
            redact: Default::default(),
        }
    }
}

impl CloudSettings {
    /// The configured redaction patterns, compiled.
    pub fn redaction_patterns(
        &self,
    ) -> Result<Vec<crate::redact::Pattern>, crate::redact::PatternError> {
        self.redact.iter().map(|(name, re)| crate::redact::Pattern::new(name, re)).collect()
    }
}

/// Checks an endpoint URL as an HTTP client will read it: http(s), a host, no user name or
/// password in it, and HTTPS unless the host is this machine (a note in clear text over a
/// network is a leak). `http://127.0.0.1@example.invalid/v1` is a request to example.invalid.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| format!("endpoint {url:?}: not a URL ({e}; expected https://host/v1)"))?;
    // "https:///v1" is read as the host "v1": a typo, not an endpoint.
    let written_host =
        url.split_once("://").is_some_and(|(_, rest)| !rest.starts_with(['/', '\\']));
    if parsed.host().is_none() || !written_host {
        return Err(format!("endpoint {url:?}: no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "endpoint {url:?}: a user name or password in the URL is not allowed (it would be sent \
             as a credential; the API key is set with `fieldbrief cloud set-key`)"
        ));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(format!(
            "endpoint {url:?}: HTTPS is required except on loopback (notes must not cross a network in clear text)"
        )),
        other => Err(format!("endpoint {url:?}: unsupported scheme {other:?}")),
    }
}

/// Whether a URL's host is this machine: `localhost`, 127.0.0.0/8 or ::1 (also written as
/// an IPv4-mapped IPv6 address).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Where GGUF models live; `<home>/models` when unset.
    pub dir: Option<PathBuf>,
    /// The model `summarize` uses when none is named (an id in the models directory).
    pub active: Option<String>,
    /// An organisation's catalog: a signed JSON manifest at this URL (or path); its signature
    /// is `<catalog_url>.sig`.
    pub catalog_url: Option<String>,
    /// The public half of the organisation's signing key (raw Ed25519 in base64, or a minisign
    /// public key). Without it an organisation catalog is refused.
    pub catalog_public_key: Option<String>,
    /// Accept legacy minisign signatures (not prehashed: minisign before 0.8, or `-l`) on the
    /// organisation's catalog. Off: such a catalog is refused with the reason.
    pub allow_legacy_signatures: bool,
    /// Look for new versions in the organisation's catalog when online.
    pub check_updates: bool,
    /// The connection is metered: never download on its own (updates are offered only).
    pub metered: bool,
    /// Previous versions kept per model for rollback.
    pub keep_previous: usize,
    /// Seconds without a byte before a download reconnects.
    pub download_stall_secs: u64,
    /// First retry delay in milliseconds (doubles per attempt without progress).
    pub download_retry_ms: u64,
    /// Attempts in a row without progress before a download gives up (it resumes later).
    pub download_max_retries: u32,
    /// Disk space, in MiB, that a download must leave free.
    pub min_free_mib: u64,
    /// This laptop's cohort in the organisation's staged rollouts (e.g. "pilot-north"): a
    /// catalog entry for named cohorts is offered only to laptops in one of them.
    pub cohort: Option<String>,
    /// A newly installed version is on probation for this many local summaries: if its
    /// summaries pass the quality gate clearly less often, or fall back clearly more often,
    /// than the previous version's, it rolls back by itself (`model_regressed`). 0: never.
    pub probation_summaries: usize,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            dir: None,
            active: None,
            catalog_url: None,
            catalog_public_key: None,
            allow_legacy_signatures: false,
            check_updates: true,
            metered: false,
            keep_previous: 1,
            cohort: None,
            probation_summaries: 20,
            download_stall_secs: 30,
            download_retry_ms: 1000,
            download_max_retries: 8,
            min_free_mib: 256,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest input file accepted, in MiB. Checked before the file is read.
    pub max_input_mib: u64,
    /// How long PDF text extraction may take (wall clock, and CPU time in its own process),
    /// in seconds.
    pub pdf_timeout_secs: u64,
    /// The most memory PDF text extraction may use in its own process, in MiB.
    pub pdf_memory_mib: u64,
    /// The languages OCR reads scanned PDFs in, as Tesseract names them (`eng`, `deu+eng`);
    /// each needs its language package (e.g. `tesseract-ocr-deu`).
    pub ocr_languages: String,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_mib: 50,
            pdf_timeout_secs: 30,
            pdf_memory_mib: 2048,
            ocr_languages: "eng".into(),
        }
    }
}

impl Limits {
    pub fn max_input_bytes(&self) -> u64 {
        self.max_input_mib.saturating_mul(1024 * 1024)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SummaryDefaults {
    pub style: Style,
    pub max_words: Option<usize>,
}

/// Watching `config.toml` while long work goes on (a refinement streaming from the cloud, an
/// automatic model download), so that the work stops as soon as the user switches the cloud off
/// or says "work offline" — in the app's Settings or by editing the file. The one watcher of the
/// settings file: it looks at most once per interval, and only a file that is there and reads
/// whole counts; one missing, empty or half written for a moment (an editor saving it) would
/// otherwise read as the defaults, "cloud off" included.
#[derive(Debug)]
pub struct SettingsWatch {
    path: PathBuf,
    every: Duration,
    last_look: Option<Instant>,
}

impl SettingsWatch {
    pub fn new(path: PathBuf, every: Duration) -> SettingsWatch {
        SettingsWatch { path, every, last_look: None }
    }

    /// How long until the next look is due (zero when it is due now).
    pub fn until_due(&self) -> Duration {
        self.last_look.map_or(Duration::ZERO, |t| self.every.saturating_sub(t.elapsed()))
    }

    /// The settings as saved now, if a look is due and the file reads whole; `None` otherwise
    /// (the settings in use stand).
    pub fn poll(&mut self) -> Option<Settings> {
        if !self.until_due().is_zero() {
            return None;
        }
        self.last_look = Some(Instant::now());
        Settings::read_saved(&self.path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Settings {
    /// Reads `path`; a missing file means all defaults.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
        };
        Settings::parse(&text)
            .map_err(|message| ConfigError::Parse { path: path.to_path_buf(), message })
    }

    /// The settings as saved in `path` for a watcher ([`SettingsWatch`]): `None` for a file
    /// that is missing, empty or does not read (that last one logged).
    pub fn read_saved(path: &Path) -> Option<Settings> {
        let text = std::fs::read_to_string(path).ok()?;
        if text.trim().is_empty() {
            return None;
        }
        match Settings::parse(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "the settings file does not read; the settings in use stand");
                None
            }
        }
    }

    pub fn parse(text: &str) -> Result<Settings, String> {
        // toml's messages carry line, column and the offending snippet; keep them on one line.
        let settings: Settings = toml::from_str(text).map_err(|e| {
            e.to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(n) = self.summary.max_words
            && !(1..=5000).contains(&n)
        {
            return Err(format!("[summary] max_words = {n}: must be between 1 and 5000"));
        }
        if self.limits.max_input_mib == 0 {
            return Err("[limits] max_input_mib must be at least 1".into());
        }
        if !(0.0..=2.0).contains(&self.engine.temperature)
            || !(0.0..=1.0).contains(&self.engine.top_p)
        {
            return Err("[engine] temperature must be within 0..2 and top_p within 0..1".into());
        }
        if let Some(url) = &self.cloud.endpoint {
            check_endpoint(url).map_err(|e| format!("[cloud] {e}"))?;
        }
        self.cloud.redaction_patterns().map_err(|e| format!("[cloud.redact] {e}"))?;
        let c = &self.cloud;
        if c.connect_timeout_secs == 0
            || c.first_byte_timeout_secs == 0
            || c.total_timeout_secs == 0
        {
            return Err("[cloud] timeouts must be at least 1 second".into());
        }
        if self.power.poll_secs == 0 {
            return Err("[power] poll_secs must be at least 1".into());
        }
        if self.cache.max_entries == 0 {
            return Err("[cache] max_entries must be at least 1 (set enabled = false to turn the cache off)".into());
        }
        self.cost.validate()?;
        if self.limits.pdf_timeout_secs == 0 {
            return Err("[limits] pdf_timeout_secs must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watcher_sees_a_saved_change_and_nothing_half_written() {
        let dir = std::env::temp_dir().join(format!("fieldbrief-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, "[cloud]\nenabled = true\n").unwrap();
        let mut watch = SettingsWatch::new(path.clone(), Duration::ZERO);
        assert!(watch.poll().unwrap().cloud.enabled);
        // Missing, empty (an editor mid-save) and unreadable files are no news, not defaults.
        for text in [None, Some(""), Some("  \n"), Some("[cloud]\nenabled = tru")] {
            match text {
                None => std::fs::remove_file(&path).unwrap(),
                Some(t) => std::fs::write(&path, t).unwrap(),
            }
            assert!(watch.poll().is_none(), "{text:?}");
        }
        std::fs::write(&path, "[cloud]\nenabled = false\n").unwrap();
        assert!(!watch.poll().unwrap().cloud.enabled);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_watcher_looks_at_most_once_per_interval() {
        let dir =
            std::env::temp_dir().join(format!("fieldbrief-watch-rate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, "[cloud]\nenabled = true\n").unwrap();
        let mut watch = SettingsWatch::new(path.clone(), Duration::from_secs(3600));
        assert_eq!(watch.until_due(), Duration::ZERO);
        assert!(watch.poll().is_some());
        assert!(watch.until_due() > Duration::from_secs(3500));
        assert!(watch.poll().is_none(), "a second look within the interval");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn empty_file_is_all_defaults_and_cloud_is_off() {
        let s = Settings::parse("").unwrap();
        assert_eq!(s, Settings::default());
        assert!(!s.cloud.enabled);
        assert_eq!(s.limits.max_input_bytes(), 50 * 1024 * 1024);
    }

    #[test]
    fn contract_example_parses() {
        let s = Settings::parse(
            "[cloud]\nenabled = false\nendpoint = \"https://host/v1\"\nmodel = \"m\"\n[models]\ndir = \"/x/models\"\n[limits]\nmax_input_mib = 2\n[summary]\nstyle = \"handover\"\n",
        )
        .unwrap();
        assert_eq!(s.cloud.endpoint.as_deref(), Some("https://host/v1"));
        assert_eq!(s.models.dir, Some(PathBuf::from("/x/models")));
        assert_eq!(s.limits.max_input_mib, 2);
        assert_eq!(s.limits.pdf_timeout_secs, 30);
        assert_eq!(s.summary.style, Style::Handover);
    }

    #[test]
    fn typos_and_bad_values_are_errors_that_say_where() {
        let err = Settings::parse("[cloud]\nenabeld = true\n").unwrap_err();
        assert!(err.contains("enabeld"), "{err}");
        let err = Settings::parse("[limits]\nmax_input_mib = \"lots\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_errors() {
        for bad in [
            "[summary]\nmax_words = 0",
            "[limits]\nmax_input_mib = 0",
            "[limits]\npdf_timeout_secs = 0",
        ] {
            assert!(Settings::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cloud_power_and_routing_settings() {
        let s = Settings::parse(
            "[cloud]\nenabled = true\nendpoint = \"http://127.0.0.1:8080/v1\"\nwork_offline = true\n[cloud.redact]\nsite = 'SITE-\\d{4}'\n[power]\nmode = \"saver\"\n[routing]\nprefer = \"local\"\n",
        )
        .unwrap();
        assert!(s.cloud.work_offline);
        assert_eq!(s.cloud.redaction_patterns().unwrap().len(), 1);
        assert_eq!(s.power.mode, crate::power::Override::Saver);
        assert_eq!(s.routing.prefer, crate::route::Preference::Local);
        let err =
            Settings::parse("[cloud]\nendpoint = \"http://api.example.com/v1\"\n").unwrap_err();
        assert!(err.contains("HTTPS is required"), "{err}");
        let err = Settings::parse("[cloud.redact]\ncust = 'CUST-('\n").unwrap_err();
        assert!(err.contains("cust"), "{err}");
        for ok in [
            "https://api.example.com/v1",
            "http://localhost:9/v1",
            "http://[::1]:8080/v1",
            "http://127.0.0.1/v1",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x/v1",
            "api.example.com",
            "https:///v1",
            "http://10.0.0.5/v1",
            // Userinfo: an HTTP client connects to example.invalid and sends "127.0.0.1" as a
            // Basic-auth user name, in clear text.
            "http://127.0.0.1@example.invalid/v1",
            "http://localhost:1@example.invalid/v1",
            "https://user:secret@api.example.com/v1",
            "http://127.0.0.1.example.invalid/v1",
            "http://localhost.example.invalid/v1",
            "http://[::2]/v1",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
        for ok in
            ["http://LOCALHOST/v1", "http://127.1.2.3:8080/v1", "http://[::ffff:127.0.0.1]/v1"]
        {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn missing_file_is_defaults() {
        let s = Settings::load(Path::new("/nonexistent/dir/config.toml")).unwrap();
        assert_eq!(s, Settings::default());
    }
}
