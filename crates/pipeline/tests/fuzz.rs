//! The parsers that read outside input, fed thousands of mutated variants of real inputs
//! (`fieldbrief_testkit::fuzz`): each may refuse an input, none may panic. Seeded, so a failure
//! reproduces; `FIELDBRIEF_FUZZ_ITERATIONS=100000 cargo test -p fieldbrief-pipeline --test
//! fuzz --release` runs longer. (The SSE parser's run is in `crates/cloud/src/tests.rs`.)

use fieldbrief_models::catalog::Catalog;
use fieldbrief_models::sign::{PublicKey, signer::Signer};
use fieldbrief_testkit::fuzz::{iterations, variants};
use std::time::Duration;

#[test]
fn gguf_headers_and_metadata() {
    let tiny = fieldbrief_gguf::write::LlamaSpec::tiny().writer().to_bytes();
    let mut templated = fieldbrief_gguf::write::LlamaSpec::tiny().writer();
    templated.meta(
        "tokenizer.chat_template",
        fieldbrief_gguf::Value::String("{% for m in messages %}{{ m.content }}{% endfor %}".into()),
    );
    let seeds = [tiny, templated.to_bytes()];
    let mut valid = 0;
    for v in variants(&seeds, iterations(1500), 0x6775_6766) {
        if fieldbrief_gguf::read_bytes(&v).and_then(|g| g.validate()).is_ok() {
            valid += 1;
        }
    }
    // Some mutations leave a valid file (a flipped bit in tensor data): the run reached the
    // validator, not only the magic-number check.
    assert!(valid > 0);
}

#[test]
fn notes_in_any_encoding() {
    let dir = fieldbrief_testkit::samples::samples_dir();
    let mut seeds: Vec<Vec<u8>> =
        ["pump-inspection.md", "generator-service-latin1.txt", "shift-handover.md"]
            .iter()
            .map(|n| std::fs::read(dir.join(n)).unwrap())
            .collect();
    // UTF-16 with a byte-order mark, as Windows tools write it.
    let text = String::from_utf8(seeds[0].clone()).unwrap();
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    seeds.push([&[0xff, 0xfe][..], &utf16].concat());
    let limits = fieldbrief_ingest::Limits {
        max_bytes: 1 << 20,
        pdf_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    for v in variants(&seeds, iterations(1500), 0x6e6f_7465) {
        if let Ok(doc) = fieldbrief_ingest::read_stream(&v[..], "fuzzed note", &limits) {
            assert!(!doc.text.trim().is_empty());
        }
    }
}

#[test]
fn settings_files() {
    let seeds = [
        "[summary]\nstyle = \"bullets\"\nmax_words = 90\n\n[cloud]\nenabled = true\nendpoint = \"https://llm.example/v1\"\nmodel = \"m\"\ntotal_timeout_secs = 60\n\n[cloud.redact]\nsite = 'SITE-\\d{4}'\n\n[limits]\nmax_input_mib = 20\n\n[power]\nmode = \"auto\"\n"
            .as_bytes()
            .to_vec(),
        "[engine]\nthreads = 4\ngpu_layers = 99\ntemperature = 0.2\n\n[models]\ncatalog_url = \"https://fleet.example/catalog.json\"\nmetered = true\n\n[routing]\nprefer = \"local\"\n"
            .as_bytes()
            .to_vec(),
    ];
    let mut parsed = 0;
    for v in variants(&seeds, iterations(1500), 0x636f_6e66) {
        if let Ok(text) = std::str::from_utf8(&v) {
            parsed += usize::from(fieldbrief_core::config::Settings::parse(text).is_ok());
        }
    }
    assert!(parsed > 0);
}

#[test]
fn signed_catalog_manifests_signatures_and_keys() {
    let signer = Signer::from_seed([9; 32]);
    let key = PublicKey::parse(&signer.public_key()).unwrap();
    let manifest = format!(
        r#"{{"schema":1,"publisher":"Acme Field Ops","generated":"2026-11-30T08:00:00Z","models":[
        {{"id":"tiny","version":"1.0","url":"https://models.example/tiny.gguf","sha256":"{}","size":10,"quantization":"F32","context_length":2048,"licence":"MIT","min_ram_gb":0.5,"prompt_template":"chatml","auto_install":true}},
        {{"id":"tiny","version":"1.10","url":"tiny-1.10.gguf","size":12,"quantization":"F32","context_length":2048,"licence":"MIT","min_ram_gb":0.5,"prompt_template":"chatml"}}]}}"#,
        "ab".repeat(32)
    );
    let location = "https://fleet.example/catalog.json";
    let signed = |bytes: &[u8]| signer.sign(bytes);
    assert!(
        Catalog::from_signed_manifest(
            manifest.as_bytes(),
            Some(&signed(manifest.as_bytes())),
            &key,
            location
        )
        .is_ok()
    );
    // Manifests the organisation signed, however odd: read or refused, never a panic.
    for v in variants(&[manifest.clone().into_bytes()], iterations(1000), 0x6361_7461) {
        let _ = Catalog::from_signed_manifest(&v, Some(&signed(&v)), &key, location);
    }
    // Signatures and keys as a network in the middle could change them: refused.
    let seeds = [
        signed(manifest.as_bytes()).into_bytes(),
        signer.minisign(manifest.as_bytes(), [1; 8], "timestamp:1").into_bytes(),
    ];
    for v in variants(&seeds, iterations(1000), 0x7369_676e) {
        let Ok(sig) = std::str::from_utf8(&v) else { continue };
        let _ = Catalog::from_signed_manifest(manifest.as_bytes(), Some(sig), &key, location);
    }
    let seeds = [signer.public_key().into_bytes(), signer.minisign_public_key([1; 8]).into_bytes()];
    for v in variants(&seeds, iterations(500), 0x6b65_7973) {
        if let Ok(text) = std::str::from_utf8(&v) {
            let _ = PublicKey::parse(text);
        }
    }
}
