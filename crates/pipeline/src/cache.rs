//! The cache step of the request path, the cost model and the device class: the parts of a
//! request that turn it into evidence for the ledger.
//!
//! The cache is consulted *before* the local model is asked to measure the note (which starts
//! an engine worker), so a hit costs a file read, a hash and one indexed query. Which entries
//! may answer depends on what would serve the note now: the active local model with today's
//! sampling settings (or the extractive summarizer when there is none), and a cloud summary
//! when the cloud is permitted for this note. A summary made by a model version that was
//! since replaced simply has another key and is never served again.

use crate::{Fieldbrief, Result, now};
use fieldbrief_core::cache::{self, Producer};
use fieldbrief_core::cost::{self, Usage};
use fieldbrief_core::ledger::Entry;
use fieldbrief_core::route::{CloudGate, Preference, Route};
use fieldbrief_core::{Document, Style};
use fieldbrief_engine::local::LocalEngine;
use fieldbrief_store::{CacheEntry, NewCacheEntry};
use serde::Serialize;

/// A very similar note summarized before: offered to the user, never served in place of a
/// summary of this note.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SimilarOffer {
    pub note_id: Option<i64>,
    pub note_title: String,
    /// When that summary was made (RFC 3339).
    pub summarized_at: String,
    /// Estimated Jaccard similarity of the two notes' word shingles, 0–1.
    pub similarity: f64,
    pub summary: String,
    pub request_id: String,
    pub route: String,
}

/// Where a cache hit came from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CachedFrom {
    /// The request that first made this summary.
    pub request_id: String,
    pub created_at: String,
    pub producer: String,
    /// Times it was served from the cache before this one.
    pub hits: u64,
}

impl From<&CacheEntry> for CachedFrom {
    fn from(hit: &CacheEntry) -> CachedFrom {
        CachedFrom {
            request_id: hit.request_id.clone(),
            created_at: hit.created_at.clone(),
            producer: hit.producer.clone(),
            hits: hit.hits,
        }
    }
}

/// A producer that may answer for this request, and its prompt version.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub producer: Producer,
    pub prompt_version: String,
}

impl Fieldbrief {
    fn local_sampling(&self, engine: &LocalEngine) -> String {
        let s = &engine.settings().sampling;
        format!(
            "t{}:p{}:r{}:s{}:c{}",
            s.temperature,
            s.top_p,
            s.repeat_penalty,
            s.seed,
            engine.settings().context
        )
    }

    fn cloud_producer(&self) -> Option<Producer> {
        let c = &self.settings.cloud;
        Some(Producer::Cloud {
            endpoint: c.endpoint.clone()?,
            model: c.model.clone()?,
            sampling: format!("t{}", self.settings.engine.temperature),
        })
    }

    /// The producer behind an engine name the pipeline recorded (`cloud`, `extractive`, or the
    /// local engine's).
    pub(crate) fn producer_of(
        &self,
        engine_name: &str,
        style: Style,
        local: Option<(&LocalEngine, &str)>,
    ) -> Option<Candidate> {
        let prompt_version = fieldbrief_engine::prompt::version(style);
        match engine_name {
            "cloud" => Some(Candidate { producer: self.cloud_producer()?, prompt_version }),
            "extractive" => Some(Candidate {
                producer: Producer::Extractive {
                    version: fieldbrief_extractive::ALGORITHM_VERSION.into(),
                },
                prompt_version: fieldbrief_extractive::ALGORITHM_VERSION.into(),
            }),
            _ => {
                let (engine, quantization) = local?;
                let m = engine.model();
                Some(Candidate {
                    producer: Producer::Local {
                        id: m.id.clone(),
                        version: m.version.clone(),
                        quantization: quantization.to_string(),
                        sampling: self.local_sampling(engine),
                    },
                    prompt_version,
                })
            }
        }
    }

    /// The producers whose summaries may answer this request, best first, following what the
    /// router would pick: a cloud summary when the cloud is available for this note (only that
    /// when the user prefers the cloud), then the local model; the extractive summarizer only
    /// when there is no local model and the cloud is not permitted (otherwise the router would
    /// send the note to the cloud, or queue a refinement, and an old extractive summary must
    /// not stand in for that).
    pub(crate) fn cache_candidates(
        &self,
        style: Style,
        local: Option<(&LocalEngine, &str)>,
        gate: CloudGate,
    ) -> Vec<Candidate> {
        let mut out = Vec::new();
        if gate == CloudGate::Available {
            out.extend(self.producer_of("cloud", style, None));
            if self.settings.routing.prefer == Preference::Cloud {
                return out;
            }
        }
        match local {
            Some(l) => out.extend(self.producer_of("local", style, Some(l))),
            None if !gate.permitted() => out.extend(self.producer_of("extractive", style, None)),
            None => {}
        }
        out
    }

    /// The first cached summary any candidate made of exactly this note, style and length.
    /// `touch` counts the hit and makes it most recently used (not in a dry run).
    pub(crate) fn cache_lookup(
        &self,
        doc: &Document,
        style: Style,
        max_words: usize,
        candidates: &[Candidate],
        served_by: Option<&str>,
    ) -> Result<Option<(CacheEntry, Producer)>> {
        if !self.settings.cache.enabled {
            return Ok(None);
        }
        let hash = doc.content_hash();
        for c in candidates {
            let key =
                cache::exact_key(&hash, style.as_str(), max_words, &c.producer, &c.prompt_version);
            let found = match served_by {
                Some(request_id) => self.store.cache_get(&key, &now(), Some(request_id))?,
                None => self.store.cache_peek(&key)?,
            };
            if let Some(e) = found {
                return Ok(Some((e, c.producer.clone())));
            }
        }
        Ok(None)
    }

    /// The most similar earlier note with a summary in this style by a current producer, when
    /// it is similar enough to mention (and is not this very note).
    pub(crate) fn similar_offer(
        &self,
        doc: &Document,
        style: Style,
        candidates: &[Candidate],
    ) -> Result<Option<SimilarOffer>> {
        if !self.settings.cache.enabled || !self.settings.cache.offer_similar {
            return Ok(None);
        }
        let sig = cache::signature(&doc.text);
        let hash = doc.content_hash();
        let producers: Vec<String> = candidates.iter().map(|c| c.producer.key()).collect();
        let found = self.store.cache_similar(&sig, cache::NEAR_THRESHOLD, 1, &|e| {
            e.style == style.as_str() && e.note_hash != hash && producers.contains(&e.producer)
        })?;
        Ok(found.into_iter().next().map(|s| SimilarOffer {
            note_id: s.entry.note_id,
            note_title: s.entry.note_title,
            summarized_at: s.entry.created_at,
            similarity: s.similarity,
            summary: s.entry.summary,
            request_id: s.entry.request_id,
            route: s.entry.route,
        }))
    }

    /// Keeps a summary that passed the quality gate for the next time the same note comes.
    pub(crate) fn cache_store(
        &mut self,
        doc: &Document,
        entry: &Entry,
        route: Route,
        text: &str,
        producer: &Candidate,
    ) -> Result<()> {
        if !self.settings.cache.enabled {
            return Ok(());
        }
        let hash = doc.content_hash();
        let key = cache::exact_key(
            &hash,
            entry.style.as_str(),
            entry.max_words,
            &producer.producer,
            &producer.prompt_version,
        );
        let sig = cache::signature(&doc.text);
        let title = doc.title();
        let producer_key = producer.producer.key();
        let new = NewCacheEntry {
            key: &key,
            note_hash: &hash,
            note_id: entry.note_id,
            note_title: &title,
            style: entry.style.as_str(),
            max_words: entry.max_words,
            producer: &producer_key,
            prompt_version: &producer.prompt_version,
            route: route.as_str(),
            engine: entry.engine.as_deref().unwrap_or(""),
            model: entry.model.as_ref(),
            request_id: &entry.request_id,
            summary: text,
            signature: &sig,
        };
        self.store.cache_put(&new, &now(), self.settings.cache.max_entries)?;
        Ok(())
    }

    /// Fills in the entry's device class and its cost (cloud tokens and energy), from the
    /// power state the entry carries (its `power` JSON; unknown counts as on AC).
    pub(crate) fn account(&self, entry: &mut Entry, local_used: Option<&LocalEngine>) {
        let power: Option<serde_json::Value> =
            entry.power.as_deref().and_then(|p| serde_json::from_str(p).ok());
        let battery =
            power.as_ref().and_then(|p| p.get("snapshot")?.get("battery")).filter(|b| !b.is_null());
        let on_battery =
            battery.and_then(|b| b.get("on_ac")?.as_bool()).is_some_and(|on_ac| !on_ac);
        let battery_watts = battery
            .filter(|_| on_battery)
            .and_then(|b| b.get("energy_rate_w")?.as_f64())
            .map(f64::abs);
        // The class is the machine's (can this build run the model on a GPU here?), so a
        // cloud or cache request on a GPU laptop counts with that laptop's local ones; whether
        // this request used the GPU is in the detail.
        let gpu = self.local.gpu_capable();
        let used_gpu = gpu && local_used.is_some_and(|e| e.settings().gpu_layers != Some(0));
        let gib = |b: u64| (b as f64 / (1u64 << 30) as f64).round() as u64;
        let ram_gib = self.local.ram_bytes().map(gib);
        let vram_gib = self
            .local
            .known_devices()
            .iter()
            .filter(|d| d.gpu)
            .map(|d| d.memory_total)
            .max()
            .map(gib);
        let compute = if gpu { "gpu" } else { "cpu" };
        let ram = ram_gib.map(|g| format!(", {g} GiB")).unwrap_or_default();
        let source = if on_battery { "battery" } else { "on AC" };
        entry.device_class = Some(format!("{compute}{ram}, {source}"));
        entry.device = serde_json::to_string(&serde_json::json!({
            "compute": compute,
            "used_gpu": used_gpu,
            "backend": self.local.backend(),
            "ram_gib": ram_gib,
            "vram_gib": vram_gib,
            "on_battery": on_battery,
        }))
        .ok();
        let usage = Usage {
            cloud_input_tokens: entry.cloud_tokens.map_or(0, |t| t.input),
            cloud_output_tokens: entry.cloud_tokens.map_or(0, |t| t.output),
            busy_secs: entry.timings.generate / 1000.0,
            battery_watts,
        };
        let c = cost::cost(&usage, &self.settings.cost);
        entry.cost = Some(c.money);
        entry.energy_wh = Some(c.energy_wh);
    }
}
