//! Runs the worker process and talks to it.
//!
//! The worker is started on first use and kept for the next request (it keeps its model
//! loaded). If it dies — llama.cpp aborted, the OS killed it, a GPU fault — the request in
//! flight fails with [`Error::WorkerDied`] and the next request starts a fresh worker. The
//! worker's stderr (llama.cpp's and the worker's logs) is forwarded to `tracing` at debug level,
//! never to the user's terminal.

use crate::protocol::{Event, Request, VERSION};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start the engine worker {program} ({attempts} attempts): {source}")]
    Spawn { program: String, attempts: u32, source: std::io::Error },
    #[error("the engine worker stopped unexpectedly ({0})")]
    WorkerDied(String),
    #[error("the engine worker speaks protocol version {found}, this build version {VERSION}")]
    Version { found: u32 },
    #[error("the engine worker did not answer within {0:?}")]
    Timeout(Duration),
    #[error("engine worker: {0}")]
    Protocol(String),
}

/// How to start a worker: normally this executable with the hidden worker argument.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl WorkerCommand {
    /// The running executable in worker mode.
    pub fn current_exe(extra: &[String]) -> std::io::Result<WorkerCommand> {
        let mut args = vec![crate::protocol::WORKER_ARG.to_string()];
        args.extend_from_slice(extra);
        Ok(WorkerCommand { program: std::env::current_exe()?, args })
    }

    /// This command, or the best CPU-specific worker beside its program that this CPU runs
    /// (`fieldbrief-engine-<variant>`, built with that instruction set's llama.cpp kernels; the
    /// bundles carry them). Without one, the program itself serves: built for the baseline CPU
    /// it runs everywhere, only slower.
    pub fn for_this_cpu(self) -> WorkerCommand {
        self.with_variant_from(&supported_cpu_variants())
    }

    /// [`WorkerCommand::for_this_cpu`] for a CPU that runs `supported` (best first).
    pub fn with_variant_from(self, supported: &[&str]) -> WorkerCommand {
        let Some(dir) = self.program.parent() else { return self };
        for variant in supported {
            let candidate =
                dir.join(format!("{VARIANT_PREFIX}{variant}{}", std::env::consts::EXE_SUFFIX));
            if candidate.is_file() {
                return WorkerCommand { program: candidate, args: self.args };
            }
        }
        self
    }
}

/// CPU-specific workers are named this, then the variant.
pub const VARIANT_PREFIX: &str = "fieldbrief-engine-";

/// The CPU-specific worker builds this CPU runs, best first: AVX-512 with VNNI and VBMI
/// (`x86-64-v4-vnni`: Ice Lake, Tiger Lake, Sapphire Rapids, Zen 4 and newer, whose int8 dot
/// product instruction llama.cpp's quantized matrix kernels use), then the x86-64 psABI level v4
/// (AVX-512), v3 with AVX-VNNI (`x86-64-v3-vnni`: the same instruction without AVX-512, as on
/// Alder Lake and later Intel laptop CPUs), and v3 (AVX2, FMA, F16C).
pub fn supported_cpu_variants() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let v3 = has!("avx")
            && has!("avx2")
            && has!("bmi1")
            && has!("bmi2")
            && has!("f16c")
            && has!("fma")
            && has!("lzcnt")
            && has!("movbe");
        let v4 = v3
            && has!("avx512f")
            && has!("avx512bw")
            && has!("avx512cd")
            && has!("avx512dq")
            && has!("avx512vl");
        if v4 && has!("avx512vnni") && has!("avx512vbmi") {
            found.push("x86-64-v4-vnni");
        }
        if v4 {
            found.push("x86-64-v4");
        }
        if v3 && has!("avxvnni") {
            found.push("x86-64-v3-vnni");
        }
        if v3 {
            found.push("x86-64-v3");
        }
    }
    found
}

/// The pauses before starting a worker again after the OS refused to start it.
const SPAWN_PAUSES: &[Duration] =
    &[Duration::from_millis(50), Duration::from_millis(250), Duration::from_secs(1)];

/// Starts `command`, again after each of `pauses` while the OS refuses for a reason that can
/// pass: an executable just written and still open ("text file busy" on Linux), one a virus
/// scanner holds on Windows, a process table or Wine server briefly out of room (Windows'
/// "internal error"). A program that is not there is not there: that fails at once. On failure,
/// the last error and how many attempts were made.
fn start(command: &mut Command, pauses: &[Duration]) -> Result<Child, (std::io::Error, u32)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match command.spawn() {
            Ok(child) => return Ok(child),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err((e, attempts)),
            Err(e) => match pauses.get(attempts as usize - 1) {
                Some(pause) => {
                    tracing::warn!("could not start the engine worker ({e}); trying again");
                    std::thread::sleep(*pause);
                }
                None => return Err((e, attempts)),
            },
        }
    }
}

enum Incoming {
    Event(Event),
    Unreadable(String),
    Closed,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Incoming>,
}

pub struct Supervisor {
    command: WorkerCommand,
    worker: Option<Worker>,
    /// How long to wait for a worker to start, and for any event while a request runs.
    pub patience: Duration,
    /// The CPU variant the last worker started said it was built for.
    cpu_variant: Option<String>,
}

impl Supervisor {
    pub fn new(command: WorkerCommand) -> Supervisor {
        Supervisor { command, worker: None, patience: Duration::from_secs(600), cpu_variant: None }
    }

    /// The running worker's pid, if one is running.
    pub fn worker_pid(&self) -> Option<u32> {
        self.worker.as_ref().map(|w| w.child.id())
    }

    /// The CPU instruction set the last worker started was built for (`x86-64-v3`, …).
    pub fn cpu_variant(&self) -> Option<&str> {
        self.cpu_variant.as_deref()
    }

    fn worker(&mut self) -> Result<&mut Worker, Error> {
        if self.worker.is_none() {
            let (worker, cpu) = self.spawn()?;
            self.worker = Some(worker);
            self.cpu_variant = Some(cpu).filter(|c| !c.is_empty());
        }
        self.worker.as_mut().ok_or_else(|| Error::Protocol("no worker".into()))
    }

    fn spawn(&self) -> Result<(Worker, String), Error> {
        let program = self.command.program.display().to_string();
        let mut command = Command::new(&self.command.program);
        // The worker reads notes and model files, never the network: it gets no credential
        // (the cloud's API key above all) from the environment it would otherwise inherit.
        for (name, _) in std::env::vars_os() {
            if is_credential(&name.to_string_lossy()) {
                command.env_remove(&name);
            }
        }
        command
            .args(&self.command.args)
            // On an abort ggml would attach gdb to print a backtrace: seconds of delay for a
            // trace nobody reads.
            .env("GGML_NO_BACKTRACE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = start(&mut command, SPAWN_PAUSES).map_err(|(source, attempts)| {
            Error::Spawn { program: program.clone(), attempts, source }
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(Error::Protocol("worker pipes missing".into()));
        };
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let msg = match serde_json::from_str::<Event>(&line) {
                    Ok(e) => Incoming::Event(e),
                    Err(_) => Incoming::Unreadable(line),
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
            let _ = tx.send(Incoming::Closed);
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                tracing::debug!(target: "fieldbrief::worker", "{line}");
            }
        });
        let mut worker = Worker { child, stdin, events };
        match recv(&mut worker, self.patience)? {
            Event::Ready { version, cpu, .. } if version == VERSION => Ok((worker, cpu)),
            Event::Ready { version, .. } => Err(Error::Version { found: version }),
            other => Err(Error::Protocol(format!("expected ready, got {other:?}"))),
        }
    }

    /// Sends `request` and returns its final event (done, info, tokens, bench or error).
    /// Token events go to `on_token` as they arrive. When `cancel` becomes true the worker is
    /// asked to stop; the final event then says `cancelled`.
    pub fn call(
        &mut self,
        request: &Request,
        cancel: Option<&AtomicBool>,
        mut on_token: impl FnMut(&str),
    ) -> Result<Event, Error> {
        let id = request.id().unwrap_or_default().to_string();
        let result = self.exchange(request, &id, cancel, &mut on_token);
        if matches!(result, Err(Error::WorkerDied(_) | Error::Timeout(_) | Error::Protocol(_))) {
            // Whatever state the worker is in, the next request gets a fresh one.
            if let Some(mut w) = self.worker.take() {
                let _ = w.child.kill();
                let _ = w.child.wait();
            }
        }
        result
    }

    fn exchange(
        &mut self,
        request: &Request,
        id: &str,
        cancel: Option<&AtomicBool>,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Event, Error> {
        let patience = self.patience;
        let worker = self.worker()?;
        send(worker, request)?;
        let mut cancel_sent = false;
        let mut last_event = Instant::now();
        loop {
            if let Some(flag) = cancel
                && flag.load(Ordering::Relaxed)
                && !cancel_sent
            {
                send(worker, &Request::Cancel { id: id.into() })?;
                cancel_sent = true;
            }
            // Short waits so a cancel is forwarded within a few milliseconds.
            match worker.events.recv_timeout(Duration::from_millis(5)) {
                Ok(Incoming::Event(event)) => {
                    last_event = Instant::now();
                    match event {
                        Event::Token { id: ref eid, ref text } if eid == id => on_token(text),
                        Event::Error { id: None, ref message, .. } => {
                            tracing::warn!("engine worker: {message}")
                        }
                        ref e if event_id(e) == Some(id) => return Ok(event),
                        other => tracing::debug!(?other, "event for another request"),
                    }
                }
                Ok(Incoming::Unreadable(line)) => {
                    tracing::debug!(target: "fieldbrief::worker", "stdout: {line}")
                }
                Ok(Incoming::Closed) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(died(worker));
                }
                Err(RecvTimeoutError::Timeout) => {
                    if last_event.elapsed() > patience {
                        return Err(Error::Timeout(patience));
                    }
                }
            }
        }
    }

    /// Asks the worker to exit and waits briefly; kills it if it does not.
    pub fn shutdown(&mut self) {
        if let Some(mut w) = self.worker.take() {
            let _ = send(&mut w, &Request::Shutdown);
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = w.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn event_id(e: &Event) -> Option<&str> {
    match e {
        Event::Info { id, .. }
        | Event::Tokens { id, .. }
        | Event::Token { id, .. }
        | Event::Done { id, .. }
        | Event::Bench { id, .. }
        | Event::Smoke { id, .. }
        | Event::Devices { id, .. } => Some(id),
        Event::Error { id, .. } => id.as_deref(),
        Event::Ready { .. } => None,
    }
}

fn send(worker: &mut Worker, request: &Request) -> Result<(), Error> {
    let line = serde_json::to_string(request).map_err(|e| Error::Protocol(e.to_string()))?;
    writeln!(worker.stdin, "{line}").and_then(|_| worker.stdin.flush()).map_err(|_| died(worker))
}

fn recv(worker: &mut Worker, patience: Duration) -> Result<Event, Error> {
    let deadline = Instant::now() + patience;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match worker.events.recv_timeout(left) {
            Ok(Incoming::Event(e)) => return Ok(e),
            Ok(Incoming::Unreadable(line)) => {
                tracing::debug!(target: "fieldbrief::worker", "stdout: {line}")
            }
            Ok(Incoming::Closed) | Err(RecvTimeoutError::Disconnected) => return Err(died(worker)),
            Err(RecvTimeoutError::Timeout) => return Err(Error::Timeout(patience)),
        }
    }
}

/// Describes how the worker ended, waiting a moment for its exit status.
fn died(worker: &mut Worker) -> Error {
    let deadline = Instant::now() + Duration::from_secs(2);
    let status = loop {
        match worker.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => break None,
        }
    };
    Error::WorkerDied(match status {
        Some(s) => describe_exit(s),
        None => "its output closed".into(),
    })
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => "SIGABRT, an abort inside llama.cpp",
                9 => "SIGKILL",
                11 => "SIGSEGV, a crash inside llama.cpp",
                15 => "SIGTERM",
                _ => "a signal",
            };
            return format!("killed by signal {sig}: {name}");
        }
    }
    #[cfg(windows)]
    if let Some(code) = status.code() {
        // A crash ends a Windows process with an NTSTATUS code; name the ones llama.cpp meets.
        let name = match code as u32 {
            0xC000_0005 => Some("an access violation, a crash inside llama.cpp"),
            0xC000_001D => Some("an illegal instruction: a CPU feature this machine lacks"),
            0xC000_00FD => Some("a stack overflow inside llama.cpp"),
            0xC000_0135 => Some("a DLL it needs is missing"),
            0xC000_0409 => Some("a fail-fast abort inside llama.cpp"),
            3 => Some("abort() inside llama.cpp"),
            _ => None,
        };
        if let Some(name) = name {
            return format!("exit code {:#X}: {name}", code as u32);
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "unknown exit".into(),
    }
}

/// Whether an environment variable holds a credential, by its name: the cloud's API key
/// (`FIELDBRIEF_CLOUD_API_KEY`), and the usual keys, tokens, secrets, passwords, credentials
/// and URLs with a password in them of other tools (`AWS_SECRET_ACCESS_KEY`,
/// `AZURE_OPENAI_KEY`, `GITHUB_TOKEN`, `PGPASSWORD`, `DATABASE_URL`, `SSH_AUTH_SOCK`…).
pub fn is_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Anywhere in the name…
    const WITHIN: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "APIKEY",
        "API_KEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "DATABASE_URL",
    ];
    // …or as a whole word of it (`KEY`, but not `KEYBOARD`).
    const WORDS: &[&str] = &["KEY", "PASS", "PWD", "AUTH", "COOKIE", "SESSION", "DSN"];
    // `PWD` alone is the working directory, `OLDPWD` the previous one: neither is secret.
    if upper == "PWD" || upper == "OLDPWD" {
        return false;
    }
    WITHIN.iter().any(|w| upper.contains(w))
        || upper.split(['_', '-', '.']).any(|part| WORDS.contains(&part))
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Duration;

    #[test]
    fn a_program_that_is_not_there_fails_at_once() {
        let pauses = [Duration::from_secs(30)];
        let (e, attempts) =
            super::start(&mut Command::new("/no/such/fieldbrief-worker"), &pauses).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(attempts, 1, "no pause for a missing program");
    }

    #[cfg(unix)]
    #[test]
    fn a_refused_start_is_tried_again_and_succeeds_once_the_program_can_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("worker.sh");
        std::fs::write(&program, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
        // Refused (not executable) every time: all the attempts, then the OS's error.
        let pauses = [Duration::from_millis(1); 2];
        let (e, attempts) = super::start(&mut Command::new(&program), &pauses).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(attempts, 3);
        // Runnable by the time of a later attempt: started.
        let ready = program.clone();
        let fix = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::set_permissions(&ready, std::fs::Permissions::from_mode(0o755)).unwrap();
        });
        let pauses = [Duration::from_millis(400), Duration::from_secs(5)];
        let mut child = super::start(&mut Command::new(&program), &pauses).unwrap();
        assert!(child.wait().unwrap().success());
        fix.join().unwrap();
    }

    #[test]
    fn credentials_in_the_environment_are_recognised_by_name() {
        for secret in [
            "FIELDBRIEF_CLOUD_API_KEY",
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "AWS_SECRET",
            "db_password",
        ] {
            assert!(super::is_credential(secret), "{secret}");
        }
        for plain in [
            "PATH",
            "HOME",
            "PWD",
            "OMP_NUM_THREADS",
            "GGML_NO_BACKTRACE",
            "LD_LIBRARY_PATH",
            "CUDA_VISIBLE_DEVICES",
            "FIELDBRIEF_HOME",
            "KEYBOARD_LAYOUT",
        ] {
            assert!(!super::is_credential(plain), "{plain}");
        }
    }
    use super::*;

    #[test]
    fn the_best_cpu_specific_worker_beside_the_program_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let exe = |name: &str| dir.path().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        let base = WorkerCommand {
            program: exe("fieldbrief"),
            args: vec![crate::protocol::WORKER_ARG.into()],
        };
        // No variant there: the program itself.
        assert_eq!(
            base.clone().with_variant_from(&["x86-64-v4", "x86-64-v3"]).program,
            base.program
        );
        std::fs::write(exe("fieldbrief-engine-x86-64-v3"), b"").unwrap();
        std::fs::write(exe("fieldbrief-engine-x86-64-v4"), b"").unwrap();
        // The best the CPU runs, with the same arguments; never one it does not run.
        let best = base.clone().with_variant_from(&["x86-64-v4", "x86-64-v3"]);
        assert_eq!(
            (best.program, best.args),
            (exe("fieldbrief-engine-x86-64-v4"), base.args.clone())
        );
        assert_eq!(
            base.clone().with_variant_from(&["x86-64-v3"]).program,
            exe("fieldbrief-engine-x86-64-v3")
        );
        // A CPU with VNNI (AVX-512 VNNI; a laptop's AVX-VNNI without AVX-512): the next best
        // while the bundle lacks that worker, that worker once it has it.
        for (cpu, next_best) in [
            (&["x86-64-v4-vnni", "x86-64-v4", "x86-64-v3"][..], "x86-64-v4"),
            (&["x86-64-v3-vnni", "x86-64-v3"][..], "x86-64-v3"),
        ] {
            let worker = |v: &str| exe(&format!("fieldbrief-engine-{v}"));
            assert_eq!(base.clone().with_variant_from(cpu).program, worker(next_best));
            std::fs::write(worker(cpu[0]), b"").unwrap();
            assert_eq!(base.clone().with_variant_from(cpu).program, worker(cpu[0]));
        }
        // Never a worker the CPU does not run, however good.
        assert_eq!(
            base.clone().with_variant_from(&["x86-64-v3"]).program,
            exe("fieldbrief-engine-x86-64-v3")
        );
        assert_eq!(base.clone().with_variant_from(&[]).program, base.program);
    }
}
