//! Catalogs: which models can be installed, from where, and with which hash.
//!
//! The built-in catalog is `models/catalog.toml`, compiled in. An organisation's catalog is a
//! JSON manifest (same fields, plus `publisher` and `auto_install`) with a detached signature
//! beside it (`<manifest>.sig`); it is used only when the signature checks against the public
//! key configured in the app. Its URLs may be relative to the manifest, so a folder on a USB
//! stick can carry a manifest and its models together.
//!
//! An entry without a published SHA-256 (`sha256` absent or "unknown") is installed "trust on
//! first use": the download pins the hash it computed, and says so.

use crate::sign::PublicKey;
use crate::{Error, Result, check_name, compare_versions};
use serde::{Deserialize, Serialize};

const BUILT_IN: &str = include_str!("../../../models/catalog.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub version: String,
    pub url: String,
    /// Lower-case hex; `None` when the publisher's hash is not known (trust on first use).
    #[serde(default, deserialize_with = "optional_hash")]
    pub sha256: Option<String>,
    /// Bytes (exact when `sha256` is known; the download checks it).
    #[serde(alias = "size_bytes")]
    pub size: u64,
    pub quantization: String,
    pub context_length: u32,
    pub licence: String,
    pub min_ram_gb: f64,
    /// The chat format the model expects (used when the file carries no template).
    pub prompt_template: String,
    #[serde(default)]
    pub description: String,
    /// The organisation wants this version installed without asking (never on battery saver
    /// or a metered connection). Ignored in the built-in catalog.
    #[serde(default)]
    pub auto_install: bool,
    /// A staged rollout: the share of laptops (0–100 %) that are offered this version
    /// (`None`: all). Raising it later reaches more laptops without moving the earlier ones
    /// (see [`crate::rollout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_percent: Option<f64>,
    /// Only laptops in one of these cohorts (`[models] cohort` in their settings) are offered
    /// this version, within the share; empty: every laptop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<String>,
    /// The organisation stopped this version: it is not offered, and laptops on it roll back
    /// to their previous version at the next check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub halted: bool,
    /// What a laptop needs to run this version (besides `min_ram_gb`).
    #[serde(default, skip_serializing_if = "Requirements::is_empty")]
    pub requires: Requirements,
    /// The file as parts with their hashes (`fieldbrief models parts FILE`), so a laptop with
    /// an earlier version fetches only the parts it lacks (see [`crate::delta`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<crate::delta::Part>,
}

/// What an entry needs of the app and the laptop; an entry that does not fit is shown greyed
/// out with the reason, and neither downloaded nor imported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// The oldest Fieldbrief version that can use it, e.g. "0.4.0".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// The model architecture the engine must know, as GGUF names it (`qwen2`, `gemma3`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Free disk space needed beyond the file itself, in GB (staging, a previous version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_disk_gb: Option<f64>,
    /// The context window, in tokens, the model must be run with (the laptop must have the
    /// memory for it and the engine must allow it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<u32>,
}

impl Requirements {
    pub fn is_empty(&self) -> bool {
        *self == Requirements::default()
    }
}

fn optional_hash<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.filter(|h| !h.is_empty() && h != "unknown").map(|h| h.to_ascii_lowercase()))
}

impl Entry {
    pub fn trust_on_first_use(&self) -> bool {
        self.sha256.is_none()
    }

    fn check(&self) -> Result<()> {
        check_name("model id", &self.id)?;
        check_name("version", &self.version)?;
        if let Some(h) = &self.sha256
            && (h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(Error::BadInput(format!(
                "{}@{}: sha256 must be 64 hex digits or \"unknown\"",
                self.id, self.version
            )));
        }
        if self.size == 0 {
            return Err(Error::BadInput(format!(
                "{}@{}: size must be given in bytes",
                self.id, self.version
            )));
        }
        if let Some(p) = self.rollout_percent
            && !(0.0..=100.0).contains(&p)
        {
            return Err(Error::BadInput(format!(
                "{}@{}: rollout_percent must be between 0 and 100, not {p}",
                self.id, self.version
            )));
        }
        if let Some(v) = &self.requires.app_version {
            check_name("requires.app_version", v)?;
        }
        if !self.parts.is_empty() {
            crate::delta::check_parts(&self.parts, self.size)
                .map_err(|e| Error::BadInput(format!("{}@{}: {e}", self.id, self.version)))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    BuiltIn,
    /// A signed manifest from a URL or a folder.
    Organisation {
        location: String,
        publisher: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub source: Source,
    pub entries: Vec<Entry>,
    /// When an organisation's manifest says it was generated (RFC 3339). A fetched manifest
    /// older than the one already seen is a replay and is refused ([`Catalog::check_newer_than`]).
    #[serde(skip)]
    pub generated: Option<time::OffsetDateTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlCatalog {
    #[serde(rename = "model", default)]
    models: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    schema: u32,
    publisher: String,
    /// RFC 3339; required for replay protection once a dated manifest has been seen.
    #[serde(default)]
    generated: Option<String>,
    models: Vec<Entry>,
}

impl Catalog {
    /// The catalog shipped with the app.
    pub fn built_in() -> Result<Catalog> {
        Catalog::from_toml(BUILT_IN)
    }

    pub fn from_toml(text: &str) -> Result<Catalog> {
        let parsed: TomlCatalog =
            toml::from_str(text).map_err(|e| Error::BadInput(format!("catalog.toml: {e}")))?;
        let mut entries = parsed.models;
        for e in &mut entries {
            e.check()?;
            // Only a signed organisation catalog may install without asking, or stage.
            e.auto_install = false;
            e.rollout_percent = None;
            e.cohorts.clear();
        }
        Ok(Catalog { source: Source::BuiltIn, entries, generated: None })
    }

    /// An organisation's manifest, after its signature has been checked against `key`.
    /// `location` is where it came from (a URL or a path); relative model URLs are resolved
    /// against it.
    pub fn from_signed_manifest(
        bytes: &[u8],
        signature: Option<&str>,
        key: &PublicKey,
        location: &str,
    ) -> Result<Catalog> {
        let Some(signature) = signature else {
            return Err(Error::Signature(format!(
                "the catalog at {location} is not signed ({location}.sig is missing); it is refused"
            )));
        };
        key.verify(bytes, signature)?;
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::BadInput(format!("the catalog at {location}: {e}")))?;
        if manifest.schema != 1 {
            return Err(Error::BadInput(format!(
                "the catalog at {location} has schema {}; this app reads schema 1",
                manifest.schema
            )));
        }
        let generated = match &manifest.generated {
            None => None,
            Some(g) => Some(time::OffsetDateTime::parse(g, &time::format_description::well_known::Rfc3339).map_err(|e| {
                Error::BadInput(format!("the catalog at {location}: \"generated\" must be an RFC 3339 time such as 2026-11-30T08:00:00Z ({e})"))
            })?),
        };
        let mut entries = manifest.models;
        for e in &mut entries {
            e.check()?;
            e.url = resolve_url(location, &e.url);
        }
        Ok(Catalog {
            source: Source::Organisation {
                location: location.to_string(),
                publisher: manifest.publisher,
            },
            entries,
            generated,
        })
    }

    /// Refuses a manifest that is older than `seen` (the last one accepted from the same
    /// place): a validly signed old catalog replayed by a network in the middle would
    /// otherwise roll the fleet back to versions the organisation has withdrawn. A manifest
    /// without a date after a dated one is refused too; two undated ones cannot be compared.
    pub fn check_newer_than(&self, seen: &Catalog) -> Result<()> {
        self.check_not_before(seen.generated)
    }

    /// [`Catalog::check_newer_than`] against the date of the newest manifest accepted before
    /// (`None`: none was dated).
    pub fn check_not_before(&self, seen: Option<time::OffsetDateTime>) -> Result<()> {
        let location = match &self.source {
            Source::Organisation { location, .. } => location.as_str(),
            Source::BuiltIn => "the built-in catalog",
        };
        let fmt = |t: &time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| t.to_string())
        };
        match (&self.generated, &seen) {
            (Some(new), Some(old)) if new < old => Err(Error::Signature(format!(
                "the catalog at {location} is dated {}, older than the one already accepted (dated {}); it may be an old catalog replayed and is refused",
                fmt(new),
                fmt(old)
            ))),
            (None, Some(old)) => Err(Error::Signature(format!(
                "the catalog at {location} carries no \"generated\" date, but the one already accepted is dated {}; it is refused",
                fmt(old)
            ))),
            _ => Ok(()),
        }
    }

    /// `id` at `version`, or its newest version.
    pub fn find(&self, id: &str, version: Option<&str>) -> Option<&Entry> {
        let mut matching = self.entries.iter().filter(|e| e.id == id);
        match version {
            Some(v) => matching.find(|e| e.version == v),
            None => matching.max_by(|a, b| compare_versions(&a.version, &b.version)),
        }
    }

    /// The newest version of every id.
    pub fn newest(&self) -> Vec<&Entry> {
        let mut ids: Vec<&str> = self.entries.iter().map(|e| e.id.as_str()).collect();
        ids.dedup();
        let mut seen = std::collections::BTreeSet::new();
        ids.into_iter().filter(|id| seen.insert(*id)).filter_map(|id| self.find(id, None)).collect()
    }
}

/// `url` as given when absolute; else relative to the directory of `base` (a URL or a path).
pub fn resolve_url(base: &str, url: &str) -> String {
    if url.contains("://") || url.starts_with('/') {
        return url.to_string();
    }
    match base.rfind('/') {
        Some(i) => format!("{}/{}", &base[..i], url),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::signer::Signer;

    #[test]
    fn the_built_in_catalog_parses_and_says_which_hashes_it_does_not_know() {
        let c = Catalog::built_in().unwrap();
        assert!(c.entries.len() >= 4);
        for e in &c.entries {
            assert!(e.url.starts_with("https://"), "{}", e.url);
            assert!(!e.licence.is_empty() && e.min_ram_gb > 0.0 && e.context_length > 0);
            assert!(!e.auto_install);
        }
        assert!(c.entries.iter().any(|e| e.trust_on_first_use()));
    }

    fn manifest(url: &str) -> String {
        format!(
            r#"{{"schema":1,"publisher":"Acme Field Ops","models":[
            {{"id":"tiny","version":"1.0","url":"{url}","sha256":"{}","size":10,"quantization":"F32","context_length":2048,"licence":"MIT","min_ram_gb":0.5,"prompt_template":"chatml","auto_install":true}},
            {{"id":"tiny","version":"1.10","url":"tiny-1.10.gguf","size":12,"quantization":"F32","context_length":2048,"licence":"MIT","min_ram_gb":0.5,"prompt_template":"chatml"}}]}}"#,
            "ab".repeat(32)
        )
    }

    #[test]
    fn a_signed_manifest_is_read_and_relative_urls_resolve_beside_it() {
        let s = Signer::from_seed([3; 32]);
        let m = manifest("https://models.example/tiny-1.0.gguf");
        let key = PublicKey::parse(&s.public_key()).unwrap();
        let c = Catalog::from_signed_manifest(
            m.as_bytes(),
            Some(&s.sign(m.as_bytes())),
            &key,
            "https://acme.example/fb/catalog.json",
        )
        .unwrap();
        assert!(
            matches!(&c.source, Source::Organisation { publisher, .. } if publisher == "Acme Field Ops")
        );
        let newest = c.find("tiny", None).unwrap();
        assert_eq!(newest.version, "1.10");
        assert_eq!(newest.url, "https://acme.example/fb/tiny-1.10.gguf");
        assert!(newest.trust_on_first_use());
        assert!(c.find("tiny", Some("1.0")).unwrap().auto_install);
        assert_eq!(c.newest().len(), 1);
    }

    #[test]
    fn unsigned_or_wrongly_signed_manifests_are_refused() {
        let s = Signer::from_seed([3; 32]);
        let m = manifest("x.gguf");
        let key = PublicKey::parse(&s.public_key()).unwrap();
        let unsigned =
            Catalog::from_signed_manifest(m.as_bytes(), None, &key, "c.json").unwrap_err();
        assert!(matches!(unsigned, Error::Signature(_)), "{unsigned}");
        let by_other = Signer::from_seed([4; 32]).sign(m.as_bytes());
        assert!(matches!(
            Catalog::from_signed_manifest(m.as_bytes(), Some(&by_other), &key, "c.json"),
            Err(Error::Signature(_))
        ));
        let tampered = m.replace("Acme", "Evil");
        assert!(matches!(
            Catalog::from_signed_manifest(
                tampered.as_bytes(),
                Some(&s.sign(m.as_bytes())),
                &key,
                "c.json"
            ),
            Err(Error::Signature(_))
        ));
    }

    #[test]
    fn an_older_or_undated_manifest_after_a_dated_one_is_refused_as_a_replay() {
        let s = Signer::from_seed([3; 32]);
        let key = PublicKey::parse(&s.public_key()).unwrap();
        let dated = |when: Option<&str>| {
            let m = match when {
                Some(w) => manifest("x.gguf").replacen(
                    "{\"schema\":1,",
                    &format!("{{\"schema\":1,\"generated\":\"{w}\","),
                    1,
                ),
                None => manifest("x.gguf"),
            };
            Catalog::from_signed_manifest(
                m.as_bytes(),
                Some(&s.sign(m.as_bytes())),
                &key,
                "https://acme.example/c.json",
            )
        };
        let nov = dated(Some("2026-11-01T08:00:00Z")).unwrap();
        let dec = dated(Some("2026-12-01T09:30:00+01:00")).unwrap();
        let undated = dated(None).unwrap();
        assert!(dec.check_newer_than(&nov).is_ok());
        assert!(dec.check_newer_than(&dec).is_ok(), "the same catalog fetched again is fine");
        let replay = nov.check_newer_than(&dec).unwrap_err();
        assert!(
            matches!(replay, Error::Signature(_))
                && replay.to_string().contains("older than the one already accepted"),
            "{replay}"
        );
        assert!(undated.check_newer_than(&dec).is_err());
        assert!(
            nov.check_newer_than(&undated).is_ok(),
            "a first date after undated ones is accepted"
        );
        assert!(undated.check_newer_than(&undated).is_ok());
        let bad = dated(Some("yesterday")).unwrap_err();
        assert!(bad.to_string().contains("RFC 3339"), "{bad}");
    }

    #[test]
    fn entries_that_could_escape_the_models_directory_are_refused() {
        let s = Signer::from_seed([3; 32]);
        let m = manifest("x.gguf").replace(
            "\"id\":\"tiny\",\"version\":\"1.0\"",
            "\"id\":\"../etc\",\"version\":\"1.0\"",
        );
        let key = PublicKey::parse(&s.public_key()).unwrap();
        let e = Catalog::from_signed_manifest(
            m.as_bytes(),
            Some(&s.sign(m.as_bytes())),
            &key,
            "c.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not valid"), "{e}");
    }
}
