//! Staged rollouts, decided on the laptop.
//!
//! Each installation keeps a random rollout key, made once and never sent anywhere. A catalog
//! entry staged at `p` % is offered where the entry's bucket for that key — a number in
//! [0, 100) from SHA-256 of the key, the model id and the version — is below `p`. The bucket
//! does not depend on `p`, so raising the share later keeps every laptop that had it and adds
//! others; the version is part of it, so the early laptops differ from release to release and
//! no laptop is always first.

use crate::catalog::Entry;
use sha2::{Digest, Sha256};

/// Where an installation falls for `id@version`: a number in [0, 100).
pub fn bucket(key: &str, id: &str, version: &str) -> f64 {
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update([0])
        .chain_update(id.as_bytes())
        .chain_update([0])
        .chain_update(version.as_bytes())
        .finalize();
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    // 53 bits are exact in an f64.
    (n >> 11) as f64 / (1u64 << 53) as f64 * 100.0
}

/// Whether an entry is offered to this installation, and why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Offer {
    /// Offered: to every laptop, or within a staged share (the share, when staged).
    Yes { staged: Option<f64> },
    /// Staged to `percent` % and this laptop is not in it yet.
    NotYet { percent: f64 },
    /// For other cohorts only.
    OtherCohort { cohorts: Vec<String> },
    /// The organisation stopped this version.
    Halted,
}

impl Offer {
    pub fn offered(&self) -> bool {
        matches!(self, Offer::Yes { .. })
    }

    /// In words, for `models updates` and the Models view.
    pub fn describe(&self) -> String {
        match self {
            Offer::Yes { staged: None } => "offered to every laptop".into(),
            Offer::Yes { staged: Some(p) } => {
                format!("staged: {} %, this laptop is in it", percent(*p))
            }
            Offer::NotYet { percent: p } => {
                format!("staged: {} %, this laptop is not in it yet", percent(*p))
            }
            Offer::OtherCohort { cohorts } => {
                format!(
                    "for the {} cohort{} only",
                    cohorts.join(", "),
                    if cohorts.len() == 1 { "" } else { "s" }
                )
            }
            Offer::Halted => "halted by the organisation".into(),
        }
    }
}

fn percent(p: f64) -> String {
    if p.fract() == 0.0 { format!("{p:.0}") } else { format!("{p}") }
}

/// Whether `entry` is offered to the installation with rollout `key` in `cohort`.
pub fn offer(entry: &Entry, key: &str, cohort: Option<&str>) -> Offer {
    if entry.halted {
        return Offer::Halted;
    }
    if !entry.cohorts.is_empty() && !cohort.is_some_and(|c| entry.cohorts.iter().any(|e| e == c)) {
        return Offer::OtherCohort { cohorts: entry.cohorts.clone() };
    }
    match entry.rollout_percent {
        None => Offer::Yes { staged: None },
        Some(p) if p >= 100.0 => Offer::Yes { staged: None },
        Some(p) if bucket(key, &entry.id, &entry.version) < p => Offer::Yes { staged: Some(p) },
        Some(p) => Offer::NotYet { percent: p },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(percent: Option<f64>, cohorts: &[&str]) -> Entry {
        let toml = r#"[[model]]
id = "qwen"
version = "2"
url = "https://example.org/m.gguf"
size = 10
quantization = "Q4_K_M"
context_length = 4096
licence = "Apache-2.0"
min_ram_gb = 2
prompt_template = "chatml"
"#;
        let mut e = crate::catalog::Catalog::from_toml(toml).unwrap().entries.remove(0);
        e.rollout_percent = percent;
        e.cohorts = cohorts.iter().map(|c| c.to_string()).collect();
        e
    }

    /// 1,000 simulated installations, each with its own random key.
    fn fleet() -> Vec<String> {
        (0..1000u32)
            .map(|i| {
                let d = Sha256::digest(format!("installation {i}").as_bytes());
                d.iter().map(|b| format!("{b:02x}")).collect()
            })
            .collect()
    }

    #[test]
    fn a_share_reaches_about_that_share_and_raising_it_keeps_the_first_laptops() {
        let keys = fleet();
        let in_share = |p: f64| -> Vec<usize> {
            let e = entry(Some(p), &[]);
            (0..keys.len()).filter(|i| offer(&e, &keys[*i], None).offered()).collect()
        };
        let five = in_share(5.0);
        let twenty_five = in_share(25.0);
        assert!((30..=70).contains(&five.len()), "5 % reached {} of 1,000", five.len());
        assert!((200..=300).contains(&twenty_five.len()), "25 % reached {}", twenty_five.len());
        assert!(
            five.iter().all(|i| twenty_five.contains(i)),
            "raising the share moved laptops out"
        );
        assert_eq!(in_share(100.0).len(), 1000);
        assert_eq!(in_share(0.0).len(), 0);
    }

    #[test]
    fn another_version_picks_other_early_laptops() {
        let keys = fleet();
        let mut v3 = entry(Some(5.0), &[]);
        v3.version = "3".into();
        let v2 = entry(Some(5.0), &[]);
        let both = keys
            .iter()
            .filter(|k| offer(&v2, k, None).offered() && offer(&v3, k, None).offered())
            .count();
        assert!(both < 15, "{both} laptops were early for both versions");
    }

    #[test]
    fn cohorts_and_halts_say_why_not() {
        let e = entry(None, &["pilot-north"]);
        assert!(offer(&e, "k", Some("pilot-north")).offered());
        let other = offer(&e, "k", Some("south"));
        assert_eq!(other.describe(), "for the pilot-north cohort only");
        assert!(!offer(&e, "k", None).offered());
        let mut halted = entry(None, &[]);
        halted.halted = true;
        assert_eq!(offer(&halted, "k", None), Offer::Halted);
        let not_yet = offer(&entry(Some(0.5), &[]), &fleet()[0], None);
        assert!(matches!(not_yet, Offer::NotYet { .. }) || not_yet.offered());
        assert_eq!(
            Offer::NotYet { percent: 5.0 }.describe(),
            "staged: 5 %, this laptop is not in it yet"
        );
    }
}
