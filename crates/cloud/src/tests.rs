use super::*;
use fieldbrief_testkit::fake_cloud::{FakeCloud, Fault};

fn settings(endpoint: &str) -> CloudSettings {
    CloudSettings {
        enabled: true,
        endpoint: Some(endpoint.into()),
        model: Some("fake-1".into()),
        ..Default::default()
    }
}

fn quick() -> Policy {
    Policy {
        connect: Duration::from_secs(1),
        first_byte: Duration::from_secs(1),
        total: Duration::from_secs(3),
        max_retries: 3,
        max_retry_after: Duration::from_secs(5),
        backoff: Duration::from_millis(20),
    }
}

fn note_messages() -> Vec<ChatMessage> {
    vec![
        ChatMessage { role: "system".into(), content: "Summarize.".into() },
        ChatMessage { role: "user".into(), content: "Write bullets.\n\nNote:\nPump P-101 ran at 4.2 bar. Seal replaced by [EMAIL_1]. All good now.".into() },
    ]
}

fn chat(cloud: &FakeCloud, policy: Policy) -> (Result<Completion, CloudError>, String) {
    let client = Client::new(&settings(&cloud.endpoint()), Some(ApiKey::new("sk-test")))
        .unwrap()
        .with_policy(policy);
    let mut streamed = String::new();
    let r = client
        .chat(&note_messages(), 200, 0.2, &AtomicBool::new(false), &mut |t| streamed.push_str(t));
    (r, streamed)
}

#[test]
fn a_good_stream_is_assembled_with_usage_and_the_key_is_sent() {
    let cloud = FakeCloud::start(&[], Fault::Ok);
    let (r, streamed) = chat(&cloud, quick());
    let c = r.unwrap();
    assert!(c.text.starts_with("- Pump P-101 ran at 4.2 bar."), "{}", c.text);
    assert!(c.text.contains("[EMAIL_1]"));
    assert_eq!(streamed, c.text);
    assert_eq!((c.attempts, c.model.as_str()), (1, "fake-1"));
    assert!(c.input_tokens.unwrap() > 0 && c.output_tokens.unwrap() > 0);
    let req = &cloud.requests()[0];
    assert_eq!(req.authorization.as_deref(), Some("Bearer sk-test"));
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "fake-1");
}

#[test]
fn a_whole_json_answer_works_too() {
    let cloud = FakeCloud::start(&[Fault::WholeJson], Fault::Ok);
    let (r, streamed) = chat(&cloud, quick());
    assert_eq!(streamed, r.unwrap().text);
}

#[test]
fn every_fault_ends_in_a_coded_error_and_never_hangs() {
    let cases: &[(Fault, &str)] = &[
        (Fault::TimeoutBeforeHeaders, "cloud_timeout_first_byte"),
        (Fault::MalformedSse, "cloud_malformed"),
        (Fault::SlowDrip, "cloud_timeout_total"),
        (Fault::DisconnectMidStream, "cloud_disconnected"),
        (Fault::Unauthorized, "cloud_http_error"),
        (Fault::ServerError, "cloud_gave_up"),
        (Fault::RateLimited { retry_after_s: 1 }, "cloud_gave_up"),
    ];
    for (fault, code) in cases {
        let cloud = FakeCloud::start(&[], *fault);
        let started = Instant::now();
        let (r, _) = chat(&cloud, Policy { max_retries: 1, ..quick() });
        let e = r.unwrap_err();
        assert_eq!(e.code(), *code, "{fault:?}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{fault:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn retries_honour_retry_after_and_then_succeed() {
    let cloud =
        FakeCloud::start(&[Fault::RateLimited { retry_after_s: 1 }, Fault::ServerError], Fault::Ok);
    let started = Instant::now();
    let (r, _) = chat(&cloud, quick());
    let c = r.unwrap();
    assert_eq!(
        (c.attempts, c.retried.clone()),
        (3, vec!["HTTP 429".to_string(), "HTTP 500".to_string()])
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not waited for");
    assert_eq!(cloud.requests().len(), 3);
}

#[test]
fn a_retry_after_longer_than_allowed_is_not_waited_for() {
    let cloud = FakeCloud::start(&[], Fault::RateLimited { retry_after_s: 3600 });
    let started = Instant::now();
    let e = chat(&cloud, quick()).0.unwrap_err();
    assert!(
        matches!(e, CloudError::GaveUp { status: 429, attempts: 1, retry_after: Some(3600) }),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn cancel_stops_a_slow_stream() {
    let cloud = FakeCloud::start(&[], Fault::SlowDrip);
    let client = Client::new(&settings(&cloud.endpoint()), None)
        .unwrap()
        .with_policy(Policy { total: Duration::from_secs(30), ..quick() });
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        flag.store(true, Ordering::Relaxed);
    });
    let started = Instant::now();
    let e = client.chat(&note_messages(), 100, 0.0, &cancel, &mut |_| {}).unwrap_err();
    assert_eq!(e.code(), "cancelled");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(cloud.requests()[0].authorization.is_none());
}

#[test]
fn probe_and_monitor_back_off_while_offline() {
    let cloud = FakeCloud::start(&[], Fault::Ok);
    let client = Client::new(&settings(&cloud.endpoint()), None).unwrap();
    let mut m = Monitor::default();
    assert_eq!(m.check(&client), Connectivity::Online);
    assert_eq!(m.check(&client), Connectivity::Online);
    assert_eq!(cloud.connections(), 1, "an online answer is reused for a minute");

    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::new(&settings(&format!("http://127.0.0.1:{dead}/v1")), None).unwrap();
    let mut m = Monitor::default();
    assert_eq!(m.check(&client), Connectivity::Offline);
    assert!(m.last_error.as_deref().unwrap().contains("cannot reach"), "{:?}", m.last_error);
    assert_eq!(m.check(&client), Connectivity::Offline);
    assert_eq!(m.last(), Some(Connectivity::Offline));
}

#[test]
fn plain_http_to_another_host_and_missing_settings_are_refused_before_any_connection() {
    for (endpoint, model, want) in [
        (Some("http://api.example.com/v1"), Some("m"), "HTTPS is required"),
        (None, Some("m"), "no endpoint"),
        (Some("https://api.example.com/v1"), None, "no model"),
    ] {
        let s = CloudSettings {
            enabled: true,
            endpoint: endpoint.map(str::to_string),
            model: model.map(str::to_string),
            ..Default::default()
        };
        let e = Client::new(&s, None).err().unwrap().to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn credentials_are_hidden_in_what_a_server_says() {
    let key = ApiKey::new("org-7f3a9c2e5b1d");
    for (said, gone) in [
        ("you sent authorization: Bearer org-7f3a9c2e5b1d; host: x", "org-7f3a9c2e5b1d"),
        ("key org-7f3a9c2e5b1d is not valid", "org-7f3a9c2e5b1d"),
        (r#"{"headers":{"Authorization":"Bearer abc.def-123"}}"#, "abc.def-123"),
        ("x-api-key: 9f8e7d6c5b", "9f8e7d6c5b"),
        ("api_key=zzTOPsecret42&x=1", "zzTOPsecret42"),
        ("Incorrect API key provided: sk-proj-ABCDEFGH12345678", "sk-proj-ABCDEFGH12345678"),
    ] {
        let clean = scrub(said, Some(&key));
        assert!(!clean.contains(gone), "{said:?} → {clean:?}");
        assert!(clean.contains("[hidden]"), "{said:?} → {clean:?}");
    }
    // What is not a credential stays readable.
    let plain = "model 'gpt-x' not found; max_tokens must be <= 4096";
    assert_eq!(scrub(plain, Some(&key)), plain);
}

#[test]
fn a_gateway_that_echoes_the_headers_does_not_leak_the_key_into_the_error() {
    let cloud = FakeCloud::start(&[], Fault::EchoHeaders);
    let key = ApiKey::new("sk-live-0123456789abcdef");
    let client = Client::new(&settings(&cloud.endpoint()), Some(key)).unwrap();
    let e =
        client.chat(&note_messages(), 64, 0.2, &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, CloudError::Status { status: 400, .. }), "{text}");
    assert!(!text.contains("0123456789abcdef"), "{text}");
    assert!(text.contains("authorization: Bearer [hidden]"), "{text}");
    // The server did get the key: it is hidden from the error, not from the request.
    assert_eq!(
        cloud.requests().last().unwrap().authorization.as_deref(),
        Some("Bearer sk-live-0123456789abcdef")
    );
}

#[test]
fn the_stream_parser_refuses_or_reads_any_bytes_never_panics() {
    let event = |t: &str| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"model": "m", "choices": [{"index": 0, "delta": {"content": t}}]})
        )
    };
    let good = format!(
        "{}: keep-alive\n\n{}data: {}\r\n\r\ndata: [DONE]\n\n",
        event("- Pump "),
        event("P-101 ok."),
        serde_json::json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 4}})
    );
    let error = "data: {\"error\":{\"message\":\"overloaded\"}}\n\n".to_string();
    let seeds = [good.into_bytes(), error.into_bytes()];
    let mut rng = fieldbrief_testkit::fuzz::Rng::new(5);
    for v in fieldbrief_testkit::fuzz::variants(
        &seeds,
        fieldbrief_testkit::fuzz::iterations(5000),
        0x7373_6521,
    ) {
        let mut p = sse::Parser::default();
        // Fed in pieces of random sizes, as a network delivers them.
        let mut rest = &v[..];
        while !rest.is_empty() && !p.done {
            let n = 1 + rng.below(rest.len().min(64));
            if p.feed(&rest[..n], &mut |_| {}).is_err() {
                break;
            }
            rest = &rest[n..];
        }
        let _ = sse::whole_answer(&v);
    }
}
