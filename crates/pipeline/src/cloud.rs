//! The cloud half of the pipeline: the cloud gate and the connectivity probe, and the redacted
//! cloud request (the deferred queue that sends later is `deferred.rs`).
//!
//! Privacy ordering: [`Fieldbrief::static_gate`] is decided from the settings and the note's
//! flags alone, without any I/O. Only when it says the cloud is permitted *and* the router (or
//! a failed quality gate) actually wants the cloud for this note is a [`CloudLink`] built and
//! the endpoint probed; only then is the redacted note sent. Every other path makes no
//! connection at all, which the privacy tests check by counting connections at a loopback
//! server.

use crate::{Error, Fieldbrief, Result};
use fieldbrief_cloud::{ChatMessage, Client, CloudError, Connectivity, KeySource, Monitor};
use fieldbrief_core::Document;
use fieldbrief_core::engine::{EngineEvent, EngineOutput, ModelRef, SummaryRequest};
use fieldbrief_core::ledger::CloudTokens;
use fieldbrief_core::redact::{self, Redacted, Replacement};
use fieldbrief_core::route::CloudGate;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `settings` row that says the OS keychain holds a key (never the key).
pub(crate) const KEY_IN_KEYCHAIN: &str = "api_key_in_keychain";

/// A configured endpoint and what is known of its reachability.
pub(crate) struct CloudLink {
    pub client: Client,
    pub monitor: Monitor,
    pub key_source: KeySource,
    /// [`KEY_GENERATION`] when the client was built.
    pub key_generation: u64,
}

/// Bumped whenever the API key is stored or removed, so every handle in the process (the app
/// has three) rebuilds its client with the key of the moment.
pub(crate) static KEY_GENERATION: AtomicU64 = AtomicU64::new(0);

/// What was known of the network for a request, for the ledger and the user.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NetState {
    /// No probe was made, and why (cloud off, note kept on device, work offline, not needed…).
    NotProbed {
        why: String,
    },
    Online,
    Offline {
        error: String,
    },
}

/// What a cloud request would send: shown by `--dry-run` and the app's send preview, and
/// exactly what the cloud route sends.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloudPreview {
    pub endpoint: String,
    pub model: String,
    /// The chat messages, after redaction.
    pub messages: Vec<ChatMessage>,
    /// What was replaced (placeholder and kind; never the original value).
    pub redactions: Vec<Replacement>,
    pub bytes: usize,
    /// When it would be sent.
    pub when: SendWhen,
}

/// When a previewed request would leave the laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SendWhen {
    /// The router chose the cloud for this note.
    Now,
    /// A refinement queued for when the network returns.
    WhenOnline,
    /// The note is summarized on this laptop first; it goes to the cloud (now, or when the
    /// network returns) only if that summary fails the quality checks.
    IfQualityGateFails,
}

impl Fieldbrief {
    /// Whether the cloud may be used for a note, from the settings and the note's own flags
    /// only: no I/O, no probe.
    pub(crate) fn static_gate(&self, deny: bool, offline: bool) -> CloudGate {
        let cloud = &self.settings.cloud;
        // `--cloud allow` cannot switch the cloud on: the opt-in is the settings' alone, and
        // nothing is sent or probed while it is off.
        if deny {
            CloudGate::DeniedForNote
        } else if !cloud.enabled {
            CloudGate::Disabled
        } else if cloud.endpoint.is_none() || cloud.model.is_none() {
            CloudGate::NotConfigured
        } else if cloud.work_offline {
            CloudGate::WorkOffline
        } else if offline {
            CloudGate::Offline
        } else {
            CloudGate::Available
        }
    }

    fn link(&mut self) -> std::result::Result<&mut CloudLink, CloudError> {
        // A key stored or removed through any handle of this process: build the client anew.
        let generation = KEY_GENERATION.load(Ordering::SeqCst);
        if self.cloud.as_ref().is_some_and(|l| l.key_generation != generation) {
            self.cloud = None;
        }
        if self.cloud.is_none() {
            let (key, key_source) = fieldbrief_cloud::find_api_key();
            // Remembered, so the Settings view can say where the key is without reading it.
            let _ = match key_source {
                KeySource::Keychain => self.store.set_setting(KEY_IN_KEYCHAIN, "1"),
                KeySource::None => self.store.delete_setting(KEY_IN_KEYCHAIN).map(drop),
                KeySource::Environment => Ok(()),
            };
            let client = Client::new(&self.settings.cloud, key)?;
            self.cloud = Some(CloudLink {
                client,
                monitor: Monitor::default(),
                key_source,
                key_generation: generation,
            });
        }
        self.cloud.as_mut().ok_or_else(|| CloudError::Config("no cloud client".into()))
    }

    /// Why no probe is made for a request under `gate`.
    pub(crate) fn not_probed(gate: CloudGate) -> NetState {
        let why =
            if gate == CloudGate::Available { "not needed for this note" } else { gate.describe() };
        NetState::NotProbed { why: why.into() }
    }

    /// Probes the endpoint (with the monitor's backoff). Call only when the gate is
    /// `Available` and the cloud is wanted for this note.
    pub(crate) fn probe(&mut self) -> NetState {
        match self.link() {
            Err(e) => NetState::Offline { error: e.to_string() },
            Ok(link) => match link.monitor.check(&link.client) {
                Connectivity::Online => NetState::Online,
                Connectivity::Offline => NetState::Offline {
                    error: link.monitor.last_error.clone().unwrap_or_else(|| "unreachable".into()),
                },
            },
        }
    }

    /// The exact request a cloud summary of `doc` would send.
    pub(crate) fn preview(
        &self,
        doc: &Document,
        request: &SummaryRequest,
    ) -> Result<(CloudPreview, Redacted)> {
        let patterns = self
            .settings
            .cloud
            .redaction_patterns()
            .map_err(|e| Error::BadArgument(e.to_string()))?;
        let redacted = redact::redact(&doc.text, &patterns);
        let layout = fieldbrief_engine::prompt::Layout::new(
            request.style,
            request.max_words,
            request.attempt,
        );
        let messages: Vec<ChatMessage> = fieldbrief_engine::prompt::single(&layout, &redacted.text)
            .into_iter()
            .map(|m| ChatMessage { role: m.role, content: m.content })
            .collect();
        let bytes = messages.iter().map(|m| m.content.len()).sum();
        let preview = CloudPreview {
            endpoint: self.settings.cloud.endpoint.clone().unwrap_or_default(),
            model: self.settings.cloud.model.clone().unwrap_or_default(),
            redactions: redacted.replacements.clone(),
            messages,
            bytes,
            when: SendWhen::Now,
        };
        Ok((preview, redacted))
    }

    /// Whether `note` may leave the laptop now: asked of the database and the settings at the
    /// moment of sending, whatever was decided when the request began (the note kept on this
    /// device since, by the app or another process; the note deleted; the cloud switched off).
    fn may_send(&mut self, note: Option<i64>) -> std::result::Result<(), CloudError> {
        // The settings as saved now (the app's Settings, or an edit of config.toml, while a
        // long local summary ran).
        if let Err(e) = self.reload_settings() {
            return Err(CloudError::Refused(format!("the settings cannot be read: {e}")));
        }
        if !self.settings.cloud.enabled {
            return Err(CloudError::Refused("cloud escalation is off".into()));
        }
        if self.settings.cloud.work_offline {
            return Err(CloudError::Refused("\"work offline\" is on".into()));
        }
        let Some(id) = note else { return Ok(()) };
        match self.store.kept_on_device(id) {
            Ok(Some(false)) => Ok(()),
            Ok(Some(true)) => Err(CloudError::Refused("the note is kept on this device".into())),
            Ok(None) => Err(CloudError::Refused("the note was deleted".into())),
            Err(e) => {
                Err(CloudError::Refused(format!("the note's privacy flag cannot be read: {e}")))
            }
        }
    }

    /// Summarizes `doc` (saved as `note`) in the cloud: redacted, streamed, placeholders
    /// restored. Nothing is sent unless [`Self::may_send`] allows it at that moment.
    pub(crate) fn run_cloud(
        &mut self,
        note: Option<i64>,
        doc: &Document,
        request: &SummaryRequest,
        events: &mut dyn FnMut(EngineEvent),
    ) -> std::result::Result<(EngineOutput, CloudTokens), CloudError> {
        self.may_send(note)?;
        let (preview, redacted) =
            self.preview(doc, request).map_err(|e| CloudError::Config(e.to_string()))?;
        let temperature = self.settings.engine.temperature;
        let cancel = self.local.cancel().clone();
        let link = self.link()?;
        let mut restorer = StreamRestorer::new(&redacted.replacements);
        let max_tokens = (request.max_words * 2 + 64) as u32;
        let c =
            link.client.chat(&preview.messages, max_tokens, temperature, &cancel, &mut |t| {
                let text = restorer.push(t);
                if !text.is_empty() {
                    events(EngineEvent::Token { text });
                }
            })?;
        let rest = restorer.finish();
        if !rest.is_empty() {
            events(EngineEvent::Token { text: rest });
        }
        let text = redact::restore(&c.text, &redacted.replacements);
        // Out of tokens: what is shown ends at the last complete bullet or sentence.
        let trimmed = (c.finish_reason.as_deref() == Some("length"))
            .then(|| fieldbrief_core::ending::trim_to_complete(&text))
            .flatten();
        let tokens = CloudTokens {
            input: c.input_tokens.unwrap_or_else(|| {
                fieldbrief_core::segment::estimate_tokens(
                    &preview.messages.iter().map(|m| m.content.as_str()).collect::<String>(),
                )
            }),
            output: c
                .output_tokens
                .unwrap_or_else(|| fieldbrief_core::segment::estimate_tokens(&c.text)),
        };
        tracing::info!(
            attempts = c.attempts,
            first_byte_ms = c.first_byte_ms,
            redactions = redacted.replacements.len(),
            "cloud answered"
        );
        let output = EngineOutput {
            trimmed: trimmed.is_some(),
            lines: None,
            decoding: None,
            text: trimmed.unwrap_or_else(|| text.trim().to_string()),
            input_tokens: tokens.input,
            output_tokens: tokens.output,
            model: Some(ModelRef { id: c.model.clone(), version: "cloud".into() }),
            prompt_version: fieldbrief_engine::prompt::version(request.style),
            chunks: 1,
            gpu_fallback: None,
        };
        Ok((output, tokens))
    }

    pub fn key_source(&self) -> Option<KeySource> {
        self.cloud.as_ref().map(|l| l.key_source)
    }
}

/// Puts placeholders back while text streams: a placeholder split across pieces ("[EMA",
/// "IL_1]") is held back until it is complete.
struct StreamRestorer<'a> {
    replacements: &'a [Replacement],
    pending: String,
}

impl<'a> StreamRestorer<'a> {
    fn new(replacements: &'a [Replacement]) -> Self {
        StreamRestorer { replacements, pending: String::new() }
    }

    fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        // Hold back from an unclosed '[' that could still become a placeholder.
        let hold = match self.pending.rfind('[') {
            Some(i) if !self.pending[i..].contains(']') && self.pending.len() - i <= 40 => i,
            _ => self.pending.len(),
        };
        let ready: String = self.pending.drain(..hold).collect();
        redact::restore(&ready, self.replacements)
    }

    fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        redact::restore(&rest, self.replacements)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_across_pieces_are_restored() {
        let r = redact::redact("mail jo@example.org or call 0171 555 0199", &[]);
        let mut s = StreamRestorer::new(&r.replacements);
        let mut out = String::new();
        for piece in ["- mail [EMA", "IL_1] or [", "PHONE_1", "]; [note] ok", " [x"] {
            out.push_str(&s.push(piece));
        }
        out.push_str(&s.finish());
        assert_eq!(out, "- mail jo@example.org or 0171 555 0199; [note] ok [x");
    }
}
