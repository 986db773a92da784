//! Model management through the real binary: an organisation's signed catalog on a loopback
//! server that cuts connections, pulls that resume, wrong hashes and signatures refused, the
//! smoke test, automatic rollback after a crash, SIGKILL during install, and the disk check.

mod common;

use common::*;
use fieldbrief_gguf::write::{LlamaSpec, corrupt};
use fieldbrief_models::install::sha256_bytes;
use fieldbrief_models::sign::signer::Signer;
use fieldbrief_testkit::file_server::{FileServer, Misbehave};
use std::time::Duration;

fn model_bytes(seed: u64) -> Vec<u8> {
    LlamaSpec { seed, ..LlamaSpec::tiny() }.writer().to_bytes()
}

struct Org {
    server: FileServer,
    signer: Signer,
    /// Each manifest is dated a minute after the last one.
    published: std::cell::Cell<u32>,
}

struct Published<'a> {
    id: &'a str,
    version: &'a str,
    file: &'a str,
    sha256: String,
    size: u64,
    auto_install: bool,
    /// More fields of the entry (a rollout share, cohorts, `halted`, `requires`).
    extra: serde_json::Value,
}

impl Org {
    fn new() -> Org {
        Org {
            server: FileServer::start(),
            signer: Signer::from_seed([21; 32]),
            published: std::cell::Cell::new(0),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> Published<'static> {
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        self.server.put(name, bytes.to_vec());
        Published {
            id: "tiny",
            version: "1",
            file: name,
            sha256: sha256_bytes(bytes),
            size: bytes.len() as u64,
            auto_install: false,
            extra: serde_json::json!({}),
        }
    }

    /// Publishes a manifest of `entries`, signed by `signer` (the organisation's own key
    /// unless a test forges it). Returns the manifest and its signature, as served.
    fn publish(&self, entries: &[Published], signer: &Signer) -> (Vec<u8>, Vec<u8>) {
        let models: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut entry = serde_json::json!({
                    "id": e.id, "version": e.version, "url": e.file, "sha256": e.sha256, "size": e.size,
                    "quantization": "F32", "context_length": 2048, "licence": "MIT", "min_ram_gb": 0.1,
                    "prompt_template": "chatml", "auto_install": e.auto_install
                });
                for (k, v) in e.extra.as_object().into_iter().flatten() {
                    entry[k] = v.clone();
                }
                entry
            })
            .collect();
        let n = self.published.get() + 1;
        self.published.set(n);
        let generated = format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + n / 1440, n / 60 % 24, n % 60);
        let manifest =
            serde_json::to_vec(&serde_json::json!({ "schema": 1, "publisher": "Acme Field Ops", "generated": generated, "models": models })).unwrap();
        let sig = signer.sign(&manifest).into_bytes();
        self.replay(&manifest, &sig);
        (manifest, sig)
    }

    /// Serves exactly these bytes as the catalog (a manifest published earlier, say).
    fn replay(&self, manifest: &[u8], sig: &[u8]) {
        self.server.put("catalog.json.sig", sig.to_vec());
        self.server.put("catalog.json", manifest.to_vec());
    }

    fn configure(&self, home: &Home) {
        self.configure_with(home, "");
    }

    fn configure_with(&self, home: &Home, extra: &str) {
        home.config(&format!(
            "[models]\ncatalog_url = \"{}\"\ncatalog_public_key = \"{}\"\ndownload_retry_ms = 1\ndownload_stall_secs = 2\ndownload_max_retries = 30\nmin_free_mib = 0\n{extra}",
            self.server.url("catalog.json"),
            self.signer.public_key()
        ));
    }

    /// Version 1 pulled and current; version 2 (returned) then published for automatic install.
    fn version_1_installed_and_2_published_for_automatic_install(&self, home: &Home) -> Vec<u8> {
        let v1 = self.file("tiny-1.gguf", &model_bytes(1));
        self.publish(&[v1], &self.signer);
        assert!(home.run(&["models", "pull", "tiny"]).status.success());
        let v1 = self.file("tiny-1.gguf", &model_bytes(1));
        let bytes2 = model_bytes(2);
        let v2 =
            Published { version: "2", auto_install: true, ..self.file("tiny-2.gguf", &bytes2) };
        self.publish(&[v1, v2], &self.signer);
        bytes2
    }

    fn requests_for(&self, file: &str) -> usize {
        self.server.requests().iter().filter(|(p, _)| p == file).count()
    }
}

fn current_version(home: &Home, id: &str) -> Option<String> {
    let list = home.json(&["models", "list", "--json"]);
    list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id && m["current"] == true)
        .map(|m| m["version"].as_str().unwrap().to_string())
}

#[test]
fn a_pull_resumes_through_cut_connections_and_the_new_version_is_used_and_recorded() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    org.publish(&[Published { ..v1 }], &org.signer);
    let first = home.json(&["models", "pull", "tiny", "--json"]);
    assert_eq!(first["models"][0]["version"], "1");
    assert_eq!(first["models"][0]["trust"], "signed");
    assert_eq!(first["models"][0]["active"], true, "the first model becomes active");

    // Version 2 is published; the update is offered, not installed.
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    let bytes2 = model_bytes(2);
    let v2 = Published { version: "2", ..org.file("tiny-2.gguf", &bytes2) };
    org.publish(&[v1, v2], &org.signer);
    let updates = home.json(&["models", "updates", "--json"]);
    assert_eq!(updates["updates"][0]["available"], "2", "{updates}");
    assert_eq!(updates["updates"][0]["installed_automatically"], false);
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));

    // Cut the transfer of version 2 ten times.
    let len = bytes2.len() as u64;
    org.server.plan((1..=10).map(|i| Misbehave::CutAt(len * i / 11)));
    let out = home.run(&["models", "pull", "tiny"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retrying"), "the interruptions are shown: {stderr}");
    let resumed: Vec<u64> =
        org.server.requests().iter().filter(|(p, _)| p == "tiny-2.gguf").map(|(_, s)| *s).collect();
    assert!(
        resumed.len() >= 2 && resumed.windows(2).all(|w| w[0] <= w[1]) && resumed.last() > Some(&0),
        "resumed with Range: {resumed:?}"
    );
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
    let verify = home.run(&["models", "verify", "tiny"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let list = home.json(&["models", "list", "--json"]);
    let installed = list["models"].as_array().unwrap();
    assert_eq!(installed.len(), 2, "version 1 is kept for rollback");
    let v2_entry = installed.iter().find(|m| m["version"] == "2").unwrap();
    assert_eq!(v2_entry["sha256"], sha256_bytes(&bytes2));

    // Summaries use the new version, and the ledger says which.
    let v = home.json(&["summarize", "--json", s(&sample("checklist-short.txt"))]);
    assert_eq!(v["model"]["version"], "2", "{v}");
    let recorded: String = home
        .sqlite()
        .query_row("SELECT model_version FROM ledger ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, "2");

    // Rollback by hand, then forward again with `use`.
    home.json(&["models", "rollback", "tiny", "--json"]);
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));
    assert!(home.run(&["models", "use", "tiny@2"]).status.success());
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
}

#[test]
fn a_wrong_hash_is_refused_and_the_active_model_is_untouched() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let good = org.file("tiny-1.gguf", &model_bytes(1));
    let mut lying = Published { version: "2", ..org.file("tiny-2.gguf", &model_bytes(2)) };
    lying.sha256 = sha256_bytes(b"something else");
    org.publish(&[good, lying], &org.signer);
    assert!(home.run(&["models", "pull", "tiny@1"]).status.success());
    let pointer = std::fs::read(home.path().join("models/tiny/current.json")).unwrap();
    let out = home.run(&["models", "pull", "tiny@2"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("error:") && last.contains("not the published file"), "{err}");
    assert_eq!(std::fs::read(home.path().join("models/tiny/current.json")).unwrap(), pointer);
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));
    assert!(!home.path().join("models/tiny/2").exists());
    assert!(!home.path().join("models/.downloads/tiny@2.part").exists(), "the bad bytes are gone");
}

#[test]
fn a_catalog_with_a_bad_signature_is_refused() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    org.publish(&[v1], &Signer::from_seed([99; 32]));
    let out = home.run(&["models", "pull", "tiny"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("signature is refused"), "{err}");
    assert_eq!(org.requests_for("tiny-1.gguf"), 0, "nothing was downloaded from a refused catalog");
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert!(cat["error"].as_str().unwrap().contains("signature is refused"), "{cat}");
    assert_eq!(cat["source"], "built-in catalog");
    // Unsigned: refused too.
    org.server.put("catalog.json.sig", Vec::new());
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert!(cat["error"].as_str().is_some(), "{cat}");
}

#[test]
fn a_legacy_minisign_signature_is_refused_unless_the_setting_allows_it() {
    let home = Home::new();
    let org = Org::new();
    let id = [4, 2, 4, 2, 4, 2, 4, 2];
    let key = org.signer.minisign_public_key(id).lines().nth(1).unwrap().to_string();
    let write_config = |extra: &str| {
        home.config(&format!(
            "[models]\ncatalog_url = \"{}\"\ncatalog_public_key = \"{key}\"\nmin_free_mib = 0\n{extra}",
            org.server.url("catalog.json")
        ))
    };
    write_config("");
    let (manifest, _) = org.publish(&[org.file("tiny-1.gguf", &model_bytes(1))], &org.signer);
    let legacy = org.signer.minisign_legacy(&manifest, id, "timestamp:1 file:catalog.json");
    org.replay(&manifest, legacy.as_bytes());
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    let err = cat["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("legacy minisign signature") && err.contains("allow_legacy_signatures"),
        "{cat}"
    );
    assert_eq!(cat["source"], "built-in catalog");

    write_config("allow_legacy_signatures = true\n");
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert!(cat["error"].is_null(), "{cat}");
    assert_eq!(cat["signed_by"], "Acme Field Ops", "{cat}");

    // minisign's own default (prehashed) needs no setting.
    write_config("");
    let current = org.signer.minisign(&manifest, id, "timestamp:2 file:catalog.json");
    org.replay(&manifest, current.as_bytes());
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert!(cat["error"].is_null(), "{cat}");
}

#[test]
fn an_older_signed_catalog_replayed_is_refused_and_the_newer_one_kept_is_used() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let (old_manifest, old_sig) =
        org.publish(&[org.file("tiny-1.gguf", &model_bytes(1))], &org.signer);
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    let v2 = Published { version: "2", ..org.file("tiny-2.gguf", &model_bytes(2)) };
    org.publish(&[v1, v2], &org.signer);
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert_eq!(cat["entries"][0]["version"], "2", "{cat}");
    assert!(cat["error"].is_null(), "{cat}");

    // Someone between the laptop and the server serves the older, validly signed manifest.
    org.replay(&old_manifest, &old_sig);
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    let error = cat["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("older than the one already accepted") && error.contains("replayed"),
        "{cat}"
    );
    assert_eq!(
        cat["signed_by"], "Acme Field Ops",
        "the newer catalog kept from before is still used: {cat}"
    );
    assert_eq!(cat["entries"][0]["version"], "2", "{cat}");
    let pulled = home.json(&["models", "pull", "tiny", "--json"]);
    assert_eq!(pulled["models"][0]["version"], "2", "{pulled}");

    // Without the copy kept on disk (deleted, or a write that failed), the date remembered in
    // the database still refuses the replay.
    std::fs::remove_file(home.path().join("models/org-catalog.json")).unwrap();
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert!(
        cat["error"].as_str().unwrap_or_default().contains("older than the one already accepted"),
        "{cat}"
    );
    assert_eq!(cat["source"], "built-in catalog", "{cat}");

    // The organisation publishes again: a newer manifest is accepted.
    let v3 = Published { version: "3", ..org.file("tiny-3.gguf", &model_bytes(3)) };
    org.publish(&[v3], &org.signer);
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert!(cat["error"].is_null(), "{cat}");
    assert_eq!(cat["entries"][0]["version"], "3", "{cat}");
}

#[test]
fn not_enough_disk_space_is_a_clear_error_before_downloading() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let mut huge = org.file("huge.gguf", &model_bytes(1));
    huge.id = "huge";
    huge.size = 1 << 55;
    org.publish(&[huge], &org.signer);
    let out = home.run(&["models", "pull", "huge"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not enough disk space for huge.gguf"), "{err}");
    assert_eq!(org.requests_for("huge.gguf"), 0);
}

#[test]
fn a_model_that_fails_the_smoke_test_is_never_activated() {
    let home = Home::new();
    let good = tiny_model(&home);
    assert!(home.run(&["models", "import", s(&good)]).status.success());
    let nan = home.write("broken.gguf", &corrupt::nan_weights());
    let out = home.run(&["models", "import", s(&nan)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed the smoke test") && err.contains("NaN"), "{err}");
    let list = home.json(&["models", "list", "--json"]);
    let ids: Vec<&str> =
        list["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["tiny"]);
    let status = home.json(&["status", "--json"]);
    assert_eq!(status["active_model"]["id"], "tiny");
}

#[test]
fn a_new_version_that_kills_the_worker_is_rolled_back_with_the_reason_shown() {
    let home = Home::new();
    let dir_a = home.dir.path().join("a");
    let dir_b = home.dir.path().join("b");
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let (a, b) = (dir_a.join("tiny.gguf"), dir_b.join("tiny.gguf"));
    std::fs::write(&a, model_bytes(1)).unwrap();
    std::fs::write(&b, model_bytes(2)).unwrap();
    let v1 = home.json(&["models", "import", s(&a), "--json"])["models"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let v2 = home.json(&["models", "import", s(&b), "--json"])["models"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(current_version(&home, "tiny").as_deref(), Some(v2.as_str()));

    // The new version's first request: its worker dies.
    let v = summarize_long_note_and_kill_worker(&home, &[]);
    let rolled = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "model_rolled_back")
        .expect("rollback reason");
    let detail = rolled["detail"].as_str().unwrap();
    assert!(
        detail.contains(&v2) && detail.contains(&v1) && detail.contains("signal 9"),
        "{detail}"
    );
    // In the ledger, with the request that crashed.
    let reasons: String = home
        .sqlite()
        .query_row("SELECT reasons FROM ledger ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(reasons.contains("model_rolled_back"), "{reasons}");
    // Shown by `models list`, and the previous version serves the next summary.
    let list = home.json(&["models", "list", "--json"]);
    let cur = list["models"].as_array().unwrap().iter().find(|m| m["current"] == true).unwrap();
    assert_eq!(cur["version"], v1.as_str());
    assert_eq!(cur["rollback"]["from_version"], v2.as_str());
    let human = String::from_utf8(home.run(&["models", "list"]).stdout).unwrap();
    assert!(human.contains(&format!("rolled back from {v2} to {v1}")), "{human}");
    let next = home.json(&["summarize", "--json", s(&sample("checklist-short.txt"))]);
    assert_eq!(next["reasons"][0]["code"], "fits_local_context", "{next}");
    assert_eq!(next["model"]["version"], v1.as_str());
}

#[test]
fn sigkill_at_random_points_during_install_never_leaves_a_half_installed_active_model() {
    let home = Home::new();
    // About 20 MB, so the copy, hash and smoke test take long enough to be interrupted.
    let spec =
        |seed| LlamaSpec { seed, n_vocab: 8000, n_embd: 256, n_ff: 512, ..LlamaSpec::tiny() };
    let base = home.dir.path().join("base/big.gguf");
    std::fs::create_dir_all(base.parent().unwrap()).unwrap();
    spec(1).write(&base).unwrap();
    assert!(home.run(&["models", "import", s(&base)]).status.success());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut interrupted = 0;
    for round in 0..12u64 {
        let file = home.dir.path().join(format!("r{round}/big.gguf"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        spec(100 + round).write(&file).unwrap();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(x % 600);
        let mut child = home
            .command(&["models", "import", s(&file)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            interrupted += 1;
            let _ = child.kill();
        }
        let _ = child.wait();
        // Whatever happened, the pointer names a complete version whose bytes match.
        let pointer: serde_json::Value = serde_json::from_slice(
            &std::fs::read(home.path().join("models/big/current.json")).unwrap(),
        )
        .unwrap();
        let version = pointer["version"].as_str().unwrap();
        let dir = home.path().join("models/big").join(version);
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("install.json")).unwrap()).unwrap();
        let bytes = std::fs::read(dir.join("model.gguf")).unwrap();
        assert_eq!(
            sha256_bytes(&bytes),
            record["sha256"].as_str().unwrap(),
            "round {round} ({delay:?})"
        );
        let verify = home.run(&["models", "verify", "big"]);
        assert!(
            verify.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
    eprintln!("{interrupted} of 12 installs were killed part-way");
    assert!(interrupted > 0, "no install was interrupted; the test proved nothing");
    // A summary still runs on whatever is active (the model reads the note; its noise then
    // fails the gate and the extractive summary stands in).
    let v = home.json(&["summarize", "--json", s(&sample("checklist-short.txt"))]);
    assert_eq!(v["reasons"][0]["code"], "fits_local_context", "{v}");
    assert_eq!(v["model"]["id"], "big", "{v}");
}

#[test]
fn a_folder_on_a_usb_stick_with_a_signed_catalog_installs_under_its_versions() {
    let home = Home::new();
    let signer = Signer::from_seed([21; 32]);
    let stick = home.dir.path().join("usb");
    std::fs::create_dir_all(&stick).unwrap();
    let bytes = model_bytes(5);
    std::fs::write(stick.join("tiny-7.gguf"), &bytes).unwrap();
    std::fs::write(stick.join("extra.gguf"), model_bytes(6)).unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({ "schema": 1, "publisher": "Acme", "models": [{
        "id": "tiny", "version": "7", "url": "tiny-7.gguf", "sha256": sha256_bytes(&bytes), "size": bytes.len(),
        "quantization": "F32", "context_length": 2048, "licence": "MIT", "min_ram_gb": 0.1, "prompt_template": "chatml" }]}))
    .unwrap();
    std::fs::write(stick.join("catalog.json"), &manifest).unwrap();
    std::fs::write(stick.join("catalog.json.sig"), signer.sign(&manifest)).unwrap();
    // Without the organisation's key configured, the signed folder is refused.
    let out = home.run(&["models", "import", s(&stick)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no public key is configured"));
    home.config(&format!("[models]\ncatalog_public_key = \"{}\"\n", signer.public_key()));
    let v = home.json(&["models", "import", s(&stick), "--json"]);
    let got: Vec<(String, String)> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_string(), m["trust"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("tiny".to_string(), "signed".to_string()),
            ("extra".to_string(), "imported".to_string())
        ]
    );
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("7"));

    // An older stick, validly signed, does not roll the laptop back.
    let old_stick = home.dir.path().join("old-usb");
    std::fs::create_dir_all(&old_stick).unwrap();
    let old = model_bytes(4);
    std::fs::write(old_stick.join("tiny-6.gguf"), &old).unwrap();
    let manifest = String::from_utf8(manifest)
        .unwrap()
        .replace("\"version\":\"7\"", "\"version\":\"6\"")
        .replace("tiny-7.gguf", "tiny-6.gguf")
        .replace(&sha256_bytes(&bytes), &sha256_bytes(&old))
        .replace(&format!("\"size\":{}", bytes.len()), &format!("\"size\":{}", old.len()));
    std::fs::write(old_stick.join("catalog.json"), &manifest).unwrap();
    std::fs::write(old_stick.join("catalog.json.sig"), signer.sign(manifest.as_bytes())).unwrap();
    let out = home.run(&["models", "import", s(&old_stick)]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("nothing newer than what is installed, or nothing that runs here (tiny@6 (installed: 7))"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("7"));
}

#[test]
fn an_automatic_update_waits_for_mains_power_and_an_unmetered_connection() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    org.publish(&[v1], &org.signer);
    assert!(home.run(&["models", "pull", "tiny"]).status.success());
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    let v2 =
        Published { version: "2", auto_install: true, ..org.file("tiny-2.gguf", &model_bytes(2)) };
    org.publish(&[v1, v2], &org.signer);

    let saver = "{\"battery\": {\"percent\": 8, \"on_ac\": false}, \"cpu_celsius\": 50}\n";
    let out = home
        .command(&["models", "updates", "--json"])
        .env("FIELDBRIEF_POWER_TRACE", home.power_trace(saver))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    assert_eq!(v["updates"][0]["installed_automatically"], false, "{v}");
    assert!(v["updates"][0]["held_back"].as_str().unwrap().contains("battery saver"), "{v}");

    org.configure_with(&home, "metered = true\n");
    let v = home.json(&["models", "updates", "--json"]);
    assert!(v["updates"][0]["held_back"].as_str().unwrap().contains("metered"), "{v}");
    assert_eq!(org.requests_for("tiny-2.gguf"), 0, "nothing downloaded on its own");
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));

    org.configure(&home);
    let v = home.json(&["models", "updates", "--json"]);
    assert_eq!(v["updates"][0]["installed_automatically"], true, "{v}");
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
}

#[test]
fn an_automatic_download_pauses_when_the_laptop_goes_to_battery_saver_and_resumes_on_mains() {
    let home = Home::new();
    let org = Org::new();
    org.configure_with(&home, "\n[power]\npoll_secs = 1\n");
    let bytes2 = org.version_1_installed_and_2_published_for_automatic_install(&home);

    // On mains when the download starts; on battery at 8 % a second later, while the
    // transfer is stalled half way (the stall lasts the configured 2 s).
    org.server.plan_for("tiny-2.gguf", [Misbehave::StallAt(bytes2.len() as u64 / 2)]);
    let unplugged = "{\"at_s\": 0, \"battery\": {\"percent\": 80, \"on_ac\": true}}\n{\"at_s\": 1, \"battery\": {\"percent\": 8, \"on_ac\": false}}\n";
    let out = home
        .command(&["models", "updates", "--json"])
        .env("FIELDBRIEF_POWER_TRACE", home.power_trace(unplugged))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    assert_eq!(v["updates"][0]["installed_automatically"], false, "{v}");
    let held = v["updates"][0]["held_back"].as_str().unwrap_or_default();
    assert!(held.contains("paused because the laptop is in battery saver mode"), "{v}");
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));
    let cat = home.json(&["models", "catalog", "--json"]);
    let paused = &cat["entries"][0]["download"];
    assert_eq!(paused["state"], "paused", "{cat}");
    assert!(paused["downloaded"].as_u64().unwrap_or(0) > 0, "the bytes are kept: {cat}");

    // Back on mains: the next check resumes where it stopped.
    let mains =
        "{\"at_s\": 0, \"battery\": {\"percent\": 80, \"on_ac\": true}, \"cpu_celsius\": 45}\n";
    let out = home
        .command(&["models", "updates", "--json"])
        .env("FIELDBRIEF_POWER_TRACE", home.power_trace(mains))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    assert_eq!(v["updates"][0]["installed_automatically"], true, "{v}");
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
    let starts: Vec<u64> =
        org.server.requests().iter().filter(|(p, _)| p == "tiny-2.gguf").map(|(_, s)| *s).collect();
    assert!(starts.len() == 2 && starts[1] > 0, "resumed, not started over: {starts:?}");
}

#[test]
fn an_automatic_download_the_user_paused_is_left_alone_until_they_pull_it() {
    let home = Home::new();
    let org = Org::new();
    // A stall limit longer than the test: only Ctrl-C ends the quiet transfer below.
    home.config(&format!(
        "[models]\ncatalog_url = \"{}\"\ncatalog_public_key = \"{}\"\ndownload_retry_ms = 1\ndownload_stall_secs = 600\nmin_free_mib = 0\n",
        org.server.url("catalog.json"),
        org.signer.public_key()
    ));
    let bytes2 = org.version_1_installed_and_2_published_for_automatic_install(&home);

    // The automatic download goes quiet half way; the user presses Ctrl-C.
    org.server.plan_for("tiny-2.gguf", [Misbehave::StallAt(bytes2.len() as u64 / 2)]);
    let served_before = org.server.served_bytes();
    let child = home
        .command(&["models", "updates", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while org.server.served_bytes() < served_before + bytes2.len() / 2 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Sent is not yet read: on a loaded machine the client may not have taken the bytes off
    // the socket yet (CI once saw it pause with nothing kept, and the pull start over).
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = one_json_object(&out.stdout);
    assert!(v["updates"][0]["held_back"].as_str().unwrap_or_default().contains("paused"), "{v}");
    let cat = home.json(&["models", "catalog", "--json"]);
    let kept = cat["entries"][0]["download"]["downloaded"].as_u64().unwrap_or(0);
    assert!(kept > 0, "the bytes that came are kept: {cat}");

    // Later checks leave it paused: nothing more is asked of the server.
    let asked = org.requests_for("tiny-2.gguf");
    let v = home.json(&["models", "updates", "--json"]);
    assert!(
        v["updates"][0]["held_back"]
            .as_str()
            .unwrap_or_default()
            .contains("you paused or cancelled"),
        "{v}"
    );
    assert_eq!(org.requests_for("tiny-2.gguf"), asked);
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));

    // The user pulls it: it resumes, and automatic updates may take it up again.
    let out = home.run(&["models", "pull", "tiny"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
    let starts: Vec<u64> =
        org.server.requests().iter().filter(|(p, _)| p == "tiny-2.gguf").map(|(_, s)| *s).collect();
    assert_eq!(starts, [0, kept], "resumed where it stopped");
}

#[test]
fn a_paused_download_of_an_older_version_still_offered_is_shown_and_can_be_discarded() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let bytes1 = model_bytes(1);
    let v1 = org.file("tiny-1.gguf", &bytes1);
    org.publish(&[v1], &org.signer);
    // Cut a third of the way, then the server fails more often than the retries allow.
    let steps = std::iter::once(Misbehave::CutAt(bytes1.len() as u64 / 3))
        .chain(std::iter::repeat_n(Misbehave::ServerError, 31));
    org.server.plan_for("tiny-1.gguf", steps);
    let out = home.run(&["models", "pull", "tiny"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is kept, and the next try resumes there"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Version 1 withdrawn: its bytes cannot be resumed, so no paused download is offered.
    let v2 = Published { version: "2", ..org.file("tiny-2.gguf", &model_bytes(2)) };
    org.publish(&[v2], &org.signer);
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert_eq!(cat["entries"][0]["version"], "2", "{cat}");
    assert!(cat["entries"][0]["download"].is_null(), "{cat}");
    // Version 2 added beside version 1: the download of 1 is still there to resume or discard.
    let v1 = org.file("tiny-1.gguf", &bytes1);
    let v2 = Published { version: "2", ..org.file("tiny-2.gguf", &model_bytes(2)) };
    org.publish(&[v1, v2], &org.signer);
    let cat = home.json(&["models", "catalog", "--refresh", "--json"]);
    assert_eq!(cat["entries"][0]["version"], "2", "{cat}");
    assert_eq!(
        cat["entries"][0]["download"]["version"], "1",
        "the older download is still listed: {cat}"
    );
    let text = home.run(&["models", "catalog"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("paused download of version 1"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    assert!(home.run(&["models", "pull", "tiny@1", "--discard"]).status.success());
    let cat = home.json(&["models", "catalog", "--json"]);
    assert!(cat["entries"][0]["download"].is_null(), "{cat}");
}

#[test]
fn a_model_without_a_published_hash_is_pinned_on_first_use_and_held_to_it() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let mut tofu = org.file("tiny-1.gguf", &model_bytes(1));
    tofu.sha256 = "unknown".into();
    tofu.size = 999; // only the publisher's estimate
    org.publish(&[tofu], &org.signer);
    let first = home.json(&["models", "pull", "tiny", "--json"]);
    assert_eq!(first["models"][0]["trust"], "first-use", "{first}");
    let human = String::from_utf8(home.run(&["models", "list"]).stdout).unwrap();
    assert!(human.contains("trust on first use"), "{human}");
    // Removed and pulled again: the same bytes pass the pinned hash, whatever the estimate.
    assert!(home.run(&["models", "remove", "tiny@1"]).status.success());
    let again = home.json(&["models", "pull", "tiny", "--json"]);
    assert_eq!(again["models"][0]["sha256"], first["models"][0]["sha256"]);
    // Different bytes under the same version are refused against the pin.
    assert!(home.run(&["models", "remove", "tiny@1"]).status.success());
    org.server.put("tiny-1.gguf", model_bytes(2));
    let out = home.run(&["models", "pull", "tiny"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the published file"));
}

#[test]
fn a_crash_at_each_step_of_an_install_leaves_the_old_version_or_the_new_one_never_half() {
    let home = Home::new();
    let base = home.dir.path().join("base/tiny.gguf");
    std::fs::create_dir_all(base.parent().unwrap()).unwrap();
    std::fs::write(&base, model_bytes(1)).unwrap();
    let old = home.json(&["models", "import", s(&base), "--json"])["models"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, point) in ["staged", "smoke-tested", "renamed", "pointer-written"].iter().enumerate() {
        let file = home.dir.path().join(format!("v{i}/tiny.gguf"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, model_bytes(10 + i as u64)).unwrap();
        let out = home
            .command(&["models", "import", s(&file)])
            .env("FIELDBRIEF_FAILPOINT", point)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}: the process was meant to die");
        // The pointer still names the old version, whole.
        assert_eq!(
            current_version(&home, "tiny").as_deref(),
            Some(old.as_str()),
            "after a crash at {point}"
        );
        assert!(
            home.run(&["models", "verify", "tiny"]).status.success(),
            "after a crash at {point}"
        );
        // Running the same import again completes it.
        let v = home.json(&["models", "import", s(&file), "--json"]);
        assert_eq!(v["models"][0]["current"], true, "{point}: {v}");
        let new = v["models"][0]["version"].as_str().unwrap();
        assert_eq!(current_version(&home, "tiny").as_deref(), Some(new));
        // Back to the first version for the next round.
        assert!(home.run(&["models", "use", &format!("tiny@{old}")]).status.success());
    }
    let leftovers: Vec<_> = std::fs::read_dir(home.path().join("models/tiny"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the killed write's temporary pointer was cleaned up: {leftovers:?}"
    );
}

#[test]
fn a_staged_update_reaches_only_its_share_and_its_cohort() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let staged = |extra: serde_json::Value| {
        let v1 = org.file("tiny-1.gguf", &model_bytes(1));
        let v2 = Published {
            version: "2",
            auto_install: true,
            extra,
            ..org.file("tiny-2.gguf", &model_bytes(2))
        };
        org.publish(&[v1, v2], &org.signer);
    };
    let v1 = org.file("tiny-1.gguf", &model_bytes(1));
    org.publish(&[v1], &org.signer);
    assert!(home.run(&["models", "pull", "tiny"]).status.success());

    // A share of 0 %: staged, and this laptop is not in it.
    staged(serde_json::json!({ "rollout_percent": 0 }));
    let v = home.json(&["models", "updates", "--json"]);
    let update = &v["updates"][0];
    assert_eq!(
        (update["offered"].as_bool(), update["installed_automatically"].as_bool()),
        (Some(false), Some(false)),
        "{v}"
    );
    assert_eq!(
        update["held_back"], "not offered: staged: 0 %, this laptop is not in it yet",
        "{v}"
    );
    let catalog = home.json(&["models", "catalog", "--json"]);
    assert_eq!(
        catalog["entries"][0]["rollout"], "staged: 0 %, this laptop is not in it yet",
        "{catalog}"
    );

    // Every laptop of the pilot cohort; this one is not in it until its settings say so.
    staged(serde_json::json!({ "rollout_percent": 100, "cohorts": ["pilot-north"] }));
    let v = home.json(&["models", "updates", "--json"]);
    assert_eq!(v["updates"][0]["held_back"], "not offered: for the pilot-north cohort only", "{v}");
    assert_eq!(org.requests_for("tiny-2.gguf"), 0, "nothing downloaded outside the rollout");
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"));

    org.configure_with(&home, "cohort = \"pilot-north\"\n");
    let v = home.json(&["models", "updates", "--json"]);
    assert_eq!(v["updates"][0]["installed_automatically"], true, "{v}");
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
    // The key that decided it is this laptop's own and stays the same.
    let key = || -> String {
        home.sqlite()
            .query_row("SELECT value FROM settings WHERE key = 'models.rollout_key'", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let first = key();
    assert_eq!(first.len(), 32);
    home.run(&["models", "catalog", "--json"]);
    assert_eq!(key(), first);
}

#[test]
fn a_halted_version_rolls_back_at_the_next_check_and_stays_held_until_a_newer_one() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let publish = |halted: bool, v3: bool| {
        let mut entries = vec![
            org.file("tiny-1.gguf", &model_bytes(1)),
            Published {
                version: "2",
                extra: serde_json::json!({ "halted": halted }),
                ..org.file("tiny-2.gguf", &model_bytes(2))
            },
        ];
        if v3 {
            entries.push(Published { version: "3", ..org.file("tiny-3.gguf", &model_bytes(3)) });
        }
        org.publish(&entries, &org.signer);
    };
    publish(false, false);
    assert!(home.run(&["models", "pull", "tiny@1"]).status.success());
    assert!(home.run(&["models", "pull", "tiny@2"]).status.success());
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));

    publish(true, false);
    let v = home.json(&["models", "updates", "--json"]);
    assert_eq!(current_version(&home, "tiny").as_deref(), Some("1"), "{v}");
    let list = home.json(&["models", "list", "--json"]);
    let rollback = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|m| m["rollback"].as_object().cloned())
        .unwrap();
    assert!(rollback["reason"].as_str().unwrap().contains("halted by the organisation"), "{list}");
    // Not offered again, and a pull of it is refused.
    assert_eq!(v["updates"][0]["offered"], false, "{v}");
    let pull = home.run(&["models", "pull", "tiny@2"]);
    assert_eq!(pull.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&pull.stderr).contains("halted by the organisation"));

    // A newer version is offered as usual.
    publish(true, true);
    let v = home.json(&["models", "updates", "--json"]);
    assert_eq!(
        (v["updates"][0]["available"].as_str(), v["updates"][0]["offered"].as_bool()),
        (Some("3"), Some(true)),
        "{v}"
    );
}

#[test]
fn an_entry_that_will_not_run_here_is_greyed_out_and_refused_with_its_reason() {
    let home = Home::new();
    let org = Org::new();
    org.configure(&home);
    let v1 = Published {
        extra: serde_json::json!({ "requires": { "app_version": "99.0.0", "architecture": "not-a-model" } }),
        ..org.file("tiny-1.gguf", &model_bytes(1))
    };
    org.publish(&[v1], &org.signer);
    let catalog = home.json(&["models", "catalog", "--json"]);
    let why: Vec<&str> = catalog["entries"][0]["incompatible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(why.len(), 2, "{catalog}");
    assert!(why[0].starts_with("needs Fieldbrief 99.0.0 or newer (this is "), "{why:?}");
    assert_eq!(why[1], "its architecture \"not-a-model\" is not one this app's engine can load");
    assert_eq!(catalog["entries"][0]["offered"], false);
    let pull = home.run(&["models", "pull", "tiny"]);
    let stderr = String::from_utf8_lossy(&pull.stderr);
    assert_eq!(pull.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tiny@1 will not run on this laptop: needs Fieldbrief 99.0.0"),
        "{stderr}"
    );
    assert_eq!(org.requests_for("tiny-1.gguf"), 0, "nothing downloaded");
}

#[test]
fn models_parts_describes_a_file_for_a_delta_catalog_entry() {
    let home = Home::new();
    let file = home.write("tiny.gguf", &model_bytes(5));
    let out = home.run(&["models", "parts", s(&file)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = v["parts"].as_array().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let mut at = 0u64;
    for p in parts {
        assert_eq!(p["offset"].as_u64(), Some(at));
        let size = p["size"].as_u64().unwrap();
        let range = &bytes[at as usize..(at + size) as usize];
        assert_eq!(p["sha256"].as_str().unwrap(), sha256_bytes(range));
        at += size;
    }
    assert_eq!(at, bytes.len() as u64);
    // The header, then one part per tensor of the tiny model (2 layers).
    assert!(parts.len() > 10, "{} parts", parts.len());
    let bad = home.run(&["models", "parts", s(&home.write("not.gguf", b"hello"))]);
    assert_eq!(bad.status.code(), Some(2));
}

/// A model shaped like TinyLlama 1.1B (22 layers, grouped-query attention), narrow enough
/// for a test; `changed`: one tensor fine-tuned.
fn llama_1b_shaped(changed: bool) -> Vec<u8> {
    use fieldbrief_gguf::write::Fill;
    let spec = LlamaSpec { n_layer: 22, seed: 11, ..LlamaSpec::tiny() };
    let mut writer = spec.writer();
    if changed {
        assert!(writer.refill("blk.7.ffn_down.weight", Fill::Random { seed: 99, scale: 0.05 }));
    }
    writer.to_bytes()
}

fn parts_of(home: &Home, name: &str, bytes: &[u8]) -> serde_json::Value {
    let path = home.write(name, bytes);
    serde_json::to_value(fieldbrief_models::delta::gguf_parts(&path).unwrap()).unwrap()
}

#[test]
fn an_update_that_changes_one_tensor_fetches_only_that_part_and_installs_the_same_bytes() {
    for server_does_ranges in [true, false] {
        let home = Home::new();
        let org = Org::new();
        org.configure(&home);
        let (v1, v2) = (llama_1b_shaped(false), llama_1b_shaped(true));
        let (p1, p2) = (parts_of(&home, "p1.gguf", &v1), parts_of(&home, "p2.gguf", &v2));
        let first = || Published {
            extra: serde_json::json!({ "parts": p1 }),
            ..org.file("tiny-1.gguf", &v1)
        };
        org.publish(&[first()], &org.signer);
        assert!(home.run(&["models", "pull", "tiny"]).status.success());

        let second = Published {
            version: "2",
            extra: serde_json::json!({ "parts": p2 }),
            ..org.file("tiny-2.gguf", &v2)
        };
        org.publish(&[first(), second], &org.signer);
        if server_does_ranges {
            // The connection is cut inside the changed tensor: the rest is asked for.
            let changed_at = p2
                .as_array()
                .unwrap()
                .iter()
                .zip(p1.as_array().unwrap())
                .find(|(a, b)| a != b)
                .unwrap()
                .0["offset"]
                .as_u64()
                .unwrap();
            org.server.plan_for("tiny-2.gguf", [Misbehave::CutAt(changed_at + 10_000)]);
        } else {
            org.server.plan_for("tiny-2.gguf", [Misbehave::IgnoreRange]);
        }
        let out = home.run(&["models", "pull", "tiny"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let fetched = org.server.served_bytes_of("tiny-2.gguf");
        let installed = home.path().join("models/tiny/2/model.gguf");
        assert!(
            std::fs::read(&installed).unwrap() == v2,
            "the installed file is the published one"
        );
        assert_eq!(current_version(&home, "tiny").as_deref(), Some("2"));
        if server_does_ranges {
            // One tensor of 201 (32 KiB of 3.4 MiB), and nothing else.
            assert!(fetched * 100 < v2.len() * 15, "fetched {fetched} of {} bytes", v2.len());
            let changed = 64 * 128 * 4;
            assert!(fetched >= changed && fetched < changed * 2, "fetched {fetched} bytes");
            let asked: Vec<u64> = org
                .server
                .requests()
                .iter()
                .filter(|(p, _)| p == "tiny-2.gguf")
                .map(|r| r.1)
                .collect();
            assert_eq!(asked.len(), 2, "one range, resumed once after the cut: {asked:?}");
            assert!(asked[1] > asked[0], "resumed where the cut left it: {asked:?}");
            eprintln!(
                "delta: fetched {fetched} of {} bytes ({:.2} %)",
                v2.len(),
                fetched as f64 * 100.0 / v2.len() as f64
            );
        } else {
            // A server without ranges: the whole file, once more.
            assert!(fetched >= v2.len(), "fetched {fetched} of {} bytes", v2.len());
        }
    }
}
