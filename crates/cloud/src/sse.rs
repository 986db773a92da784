//! Server-sent events as OpenAI-compatible servers stream them: `data: {json}` events separated
//! by blank lines, ending with `data: [DONE]`. Fed bytes as they arrive, so an event split
//! across network reads (or a UTF-8 character split across them) is put back together.

use crate::Completion;
use serde_json::Value;

/// The largest single event accepted: a summary's pieces are a few bytes each.
pub(crate) const MAX_EVENT_BYTES: usize = 1 << 20;
/// The longest answer accepted, streamed or whole: a summary is a few kilobytes.
pub(crate) const MAX_ANSWER_BYTES: usize = 4 << 20;

#[derive(Debug, Default)]
pub(crate) struct Parser {
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no event boundary (each byte is looked at once).
    scanned: usize,
    pub text: String,
    model: String,
    input_tokens: Option<usize>,
    output_tokens: Option<usize>,
    finish_reason: Option<String>,
    events: usize,
    pub done: bool,
}

impl Parser {
    pub fn feed(&mut self, bytes: &[u8], on_text: &mut dyn FnMut(&str)) -> Result<(), String> {
        self.buffer.extend_from_slice(bytes);
        // Events are taken from `start` on, and the buffer is compacted once at the end: each
        // byte is looked at a bounded number of times, however many events a read holds.
        let mut start = 0;
        let result = loop {
            let Some((end, sep)) = find_event_end(&self.buffer[start..], self.scanned) else {
                // A boundary may start in the last three bytes; the rest needs no new look.
                self.scanned = (self.buffer.len() - start).saturating_sub(3);
                if self.buffer.len() - start > MAX_EVENT_BYTES {
                    break Err(format!(
                        "event {} is over {MAX_EVENT_BYTES} bytes without an end",
                        self.events + 1
                    ));
                }
                break Ok(());
            };
            self.scanned = 0;
            let event = String::from_utf8(self.buffer[start..start + end].to_vec())
                .map_err(|_| format!("event {} is not UTF-8", self.events + 1));
            start += end + sep;
            if let Err(e) = event.and_then(|event| self.event(&event, on_text)) {
                break Err(e);
            }
            if self.text.len() > MAX_ANSWER_BYTES {
                break Err(format!("the answer is over {MAX_ANSWER_BYTES} bytes"));
            }
            if self.done {
                break Ok(());
            }
        };
        self.buffer.drain(..start);
        result
    }

    fn event(&mut self, event: &str, on_text: &mut dyn FnMut(&str)) -> Result<(), String> {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if data.is_empty() {
            // Comments (": keep-alive") and other fields carry no data.
            return Ok(());
        }
        self.events += 1;
        let data = data.join("\n");
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let v: Value = serde_json::from_str(&data)
            .map_err(|e| format!("event {}: {e}: {:?}", self.events, clip(&data)))?;
        if let Some(msg) = v.pointer("/error/message").and_then(Value::as_str) {
            return Err(format!("the stream carried an error: {msg}"));
        }
        if let Some(m) = v.get("model").and_then(Value::as_str) {
            self.model = m.to_string();
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.input_tokens = u.get("prompt_tokens").and_then(Value::as_u64).map(|n| n as usize);
            self.output_tokens =
                u.get("completion_tokens").and_then(Value::as_u64).map(|n| n as usize);
        }
        match v.get("choices") {
            Some(Value::Array(choices)) => {
                if let Some(text) = choices
                    .first()
                    .and_then(|c| c.pointer("/delta/content"))
                    .and_then(Value::as_str)
                {
                    self.text.push_str(text);
                    on_text(text);
                }
                if let Some(why) =
                    choices.first().and_then(|c| c.get("finish_reason")).and_then(Value::as_str)
                {
                    self.finish_reason = Some(why.to_string());
                }
                Ok(())
            }
            // The usage-only chunk at the end has an empty or missing `choices`.
            None if v.get("usage").is_some() => Ok(()),
            _ => Err(format!("event {}: no choices: {:?}", self.events, clip(&data))),
        }
    }

    pub fn finish(self) -> Completion {
        Completion {
            text: self.text,
            model: self.model,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            finish_reason: self.finish_reason,
            attempts: 1,
            retried: Vec::new(),
            first_byte_ms: 0.0,
        }
    }
}

/// Where the first event in `buf` ends (the boundary's start and length: a blank line, `\n\n`
/// or `\r\n\r\n`), looking from `from`. One pass over the bytes.
fn find_event_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from.min(buf.len());
    while let Some(offset) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + offset;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some((nl, 2)),
            (Some(b'\r'), Some(b'\n')) if nl > 0 && buf[nl - 1] == b'\r' => {
                return Some((nl - 1, 4));
            }
            _ => i = nl + 1,
        }
    }
    None
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

/// A server that ignored `stream: true` and sent one JSON completion.
pub(crate) fn whole_answer(bytes: &[u8]) -> Result<Completion, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let text = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| "no choices[0].message.content in the answer".to_string())?;
    let usage =
        |k: &str| v.pointer(&format!("/usage/{k}")).and_then(Value::as_u64).map(|n| n as usize);
    Ok(Completion {
        text: text.to_string(),
        model: v.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
        input_tokens: usage("prompt_tokens"),
        output_tokens: usage("completion_tokens"),
        finish_reason: v
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        attempts: 1,
        retried: Vec::new(),
        first_byte_ms: 0.0,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_endless_event_or_answer_is_refused_and_boundaries_across_reads_are_found() {
        let mut p = super::Parser::default();
        let chunk = vec![b'x'; 64 * 1024];
        let mut refused = None;
        for _ in 0..20 {
            if let Err(e) = p.feed(&chunk, &mut |_| {}) {
                refused = Some(e);
                break;
            }
        }
        assert!(refused.is_some_and(|e| e.contains("without an end")));

        let event = |t: &str| {
            format!("data: {}\n\n", serde_json::json!({"choices": [{"delta": {"content": t}}]}))
        };
        let mut p = super::Parser::default();
        let piece = "y".repeat(60 * 1024);
        let mut refused = None;
        for _ in 0..80 {
            if let Err(e) = p.feed(event(&piece).as_bytes(), &mut |_| {}) {
                refused = Some(e);
                break;
            }
        }
        assert!(refused.is_some_and(|e| e.contains("the answer is over")));

        // A boundary split across reads, byte by byte, with CRLF too.
        let stream = format!(
            "{}{}data: [DONE]\r\n\r\n",
            event("a "),
            event("b").replace("\n\n", "\r\n\r\n")
        );
        let mut p = super::Parser::default();
        let mut text = String::new();
        for b in stream.as_bytes() {
            p.feed(&[*b], &mut |t| text.push_str(t)).unwrap();
        }
        assert!(p.done);
        assert_eq!(text, "a b");
    }

    use super::*;

    fn chunk(text: &str) -> String {
        format!(
            "data: {}\n\n",
            serde_json::json!({"model": "m-1", "choices": [{"delta": {"content": text}}]})
        )
    }

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let stream = format!(
            ": keep-alive\n\n{}{}data: {}\n\ndata: [DONE]\n\n",
            chunk("- Pump "),
            chunk("P-101 at 4.2 bar, 78 °C"),
            serde_json::json!({"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 9}})
        );
        let bytes = stream.as_bytes();
        // Every split point, including inside the multi-byte "°".
        for cut in 0..bytes.len() {
            let mut p = Parser::default();
            let mut seen = String::new();
            p.feed(&bytes[..cut], &mut |t| seen.push_str(t)).unwrap();
            p.feed(&bytes[cut..], &mut |t| seen.push_str(t)).unwrap();
            assert!(p.done);
            assert_eq!(seen, "- Pump P-101 at 4.2 bar, 78 °C");
            let c = p.finish();
            assert_eq!(
                (c.input_tokens, c.output_tokens, c.model.as_str()),
                (Some(40), Some(9), "m-1")
            );
        }
    }

    #[test]
    fn malformed_events_are_errors() {
        let mut p = Parser::default();
        let e = p
            .feed(
                b"data: {\"choices\": [{\"delta\": {\"content\": \"x\"}}]}\n\ndata: {oops\n\n",
                &mut |_| {},
            )
            .unwrap_err();
        assert!(e.starts_with("event 2"), "{e}");
        let mut p = Parser::default();
        assert!(
            p.feed(b"data: {\"error\": {\"message\": \"overloaded\"}}\n\n", &mut |_| {})
                .unwrap_err()
                .contains("overloaded")
        );
        let mut p = Parser::default();
        assert!(p.feed(b"data: {\"object\": \"weird\"}\r\n\r\n", &mut |_| {}).is_err());
    }

    #[test]
    fn a_whole_json_answer_is_accepted() {
        let c = whole_answer(br#"{"model":"m","choices":[{"message":{"content":"- ok"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#).unwrap();
        assert_eq!((c.text.as_str(), c.output_tokens), ("- ok", Some(2)));
        assert!(whole_answer(b"<html>").is_err());
    }
}
