//! Shared helpers for the black-box CLI tests: run the real `fieldbrief` binary against a
//! temporary data directory and inspect the SQLite file it leaves.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("fieldbrief.sqlite3")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fieldbrief"));
        c.args(args)
            .env("FIELDBRIEF_HOME", self.path())
            .env_remove("FIELDBRIEF_LOG")
            .env("RUST_BACKTRACE", "1");
        // Routes depend on the power mode: tests run "on AC, cool" unless they give a trace of
        // their own (whatever the test machine's sensors say), and never see a developer's key.
        c.env("FIELDBRIEF_POWER_TRACE", self.power_trace(AC_COOL))
            .env_remove("FIELDBRIEF_CLOUD_API_KEY");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        match self.command(args).stdin(Stdio::null()).output() {
            Ok(out) => out,
            // Under Wine, starting a process has failed once in CI with "Internal error" (OS
            // error 1359) before fieldbrief.exe ran at all: that start, not fieldbrief, is
            // tried once more. Any outcome of fieldbrief itself stands.
            Err(e) if cfg!(windows) => {
                eprintln!("starting fieldbrief failed ({e}); starting it once more");
                self.command(args).stdin(Stdio::null()).output().expect("run fieldbrief")
            }
            Err(e) => panic!("run fieldbrief: {e:?}"),
        }
    }

    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        one_json_object(&out.stdout)
    }

    /// A command that prints one JSON array (`deferred list|run --json`).
    pub fn json_array(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.trim_end().lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert!(v.is_array(), "{v}");
        v
    }

    /// Writes a power trace file (see the device crate) and returns its path.
    pub fn power_trace(&self, lines: &str) -> PathBuf {
        let name = format!(
            "power-{:x}.jsonl",
            lines.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
        );
        let p = self.dir.path().join(name);
        if !p.exists() {
            std::fs::write(&p, lines).expect("write power trace");
        }
        p
    }

    /// Writes `<home>/config.toml`.
    pub fn config(&self, toml: &str) {
        std::fs::create_dir_all(self.path()).expect("home");
        std::fs::write(self.path().join("config.toml"), toml).expect("write config");
    }

    /// A read-only look at the database, as another process would take it.
    pub fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(self.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open db")
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write fixture");
        p
    }
}

pub const AC_COOL: &str =
    "{\"battery\": {\"percent\": 90, \"on_ac\": true}, \"cpu_celsius\": 45}\n";

pub fn one_json_object(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    assert_eq!(text.trim_end().lines().count(), 1, "expected exactly one JSON line, got:\n{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(v.is_object(), "{v}");
    v
}

pub fn samples() -> Vec<PathBuf> {
    let dir = fieldbrief_testkit::samples::samples_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    v.sort();
    v
}

pub fn sample(name: &str) -> PathBuf {
    fieldbrief_testkit::samples::samples_dir().join(name)
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A generated tiny Llama model (real llama.cpp architecture, random weights) in the test's
/// temporary directory.
pub fn tiny_model(home: &Home) -> PathBuf {
    let path = home.dir.path().join("tiny.gguf");
    if !path.exists() {
        fieldbrief_gguf::write::LlamaSpec::tiny().write(&path).expect("write tiny model");
    }
    path
}

/// Processes whose parent is `pid` and whose command line contains `needle`.
#[cfg(unix)]
pub fn children_with(pid: u32, needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // Field 4 (after the parenthesised name) is the parent pid.
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        if ppid == Some(pid) && String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(child);
        }
    }
    out
}

/// Processes whose parent is `pid` and whose command line contains `needle`.
#[cfg(windows)]
pub fn children_with(pid: u32, needle: &str) -> Vec<u32> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let Ok(mut system) = System::new() else { return Vec::new() };
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always),
    );
    system
        .processes()
        .iter()
        .filter(|(_, p)| {
            p.parent().map(|parent| parent.as_u32()) == Some(pid)
                && p.cmd().iter().any(|arg| arg.to_string_lossy().contains(needle))
        })
        .map(|(child, _)| child.as_u32())
        .collect()
}

/// Kills a process at once, with no chance to clean up: SIGKILL on Unix, TerminateProcess on
/// Windows (what Task Manager's "End task" and `taskkill /F` do), with an exit code of the
/// test's own ([`KILLED`]), which neither a panic nor a failing worker gives.
pub fn kill9(pid: u32) {
    #[cfg(unix)]
    {
        let status = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        assert!(status.expect("kill").success());
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::CloseHandle;
        use windows_sys::Win32::System::Threading::{
            OpenProcess, PROCESS_TERMINATE, TerminateProcess,
        };
        // SAFETY: plain calls on a handle this function opens and closes.
        unsafe {
            let process = OpenProcess(PROCESS_TERMINATE, 0, pid);
            assert!(!process.is_null(), "open process {pid}");
            let ended = TerminateProcess(process, 0xDEAD);
            CloseHandle(process);
            assert_ne!(ended, 0, "terminate process {pid}");
        }
    }
}

/// How the CLI describes a worker that [`kill9`] ended.
pub const KILLED: &str = if cfg!(windows) { "exit code 57005" } else { "killed by signal 9" };

/// Starts a summary of the long sample note (with `extra` arguments, e.g. a model), waits
/// until the worker is generating, and SIGKILLs the worker. Returns the CLI's JSON report.
pub fn summarize_long_note_and_kill_worker(home: &Home, extra: &[&str]) -> serde_json::Value {
    let long = sample("incident-report-long.md");
    let mut args = vec!["summarize", "--json"];
    args.extend_from_slice(extra);
    args.push(s(&long));
    let child =
        home.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let worker = wait_for_worker(child.id());
    // Let it get into the parts of the long note, then kill it.
    std::thread::sleep(std::time::Duration::from_millis(400));
    kill9(worker);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    one_json_object(&out.stdout)
}

/// Waits until `parent` has started its engine worker, and returns the worker's pid.
pub fn wait_for_worker(parent: u32) -> u32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(w) = children_with(parent, "__engine-worker").first() {
            return *w;
        }
        assert!(std::time::Instant::now() < deadline, "no worker appeared");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// A real model from `scripts/fetch-models` (`var` names its path; else the cache's default
/// place). Without it the test fails and says how to get it: a test of the main job that
/// quietly passes without a model would prove nothing.
pub fn real_model(var: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let cache =
            std::env::var_os("FIELDBRIEF_MODEL_CACHE").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/fieldbrief/models")
            });
        cache.join(name)
    });
    assert!(
        path.is_file(),
        "the real model {} is not there: run `scripts/fetch-models` (scripts/test does) or set {var}",
        path.display()
    );
    path
}

/// Qwen2.5-Coder-0.5B-Instruct, Q4_K_M.
pub fn qwen() -> PathBuf {
    real_model("FIELDBRIEF_REAL_MODEL", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
}
