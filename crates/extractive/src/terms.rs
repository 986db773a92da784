//! Terms and TF-IDF vectors for ranking. Words are lower-cased, stop words dropped and lightly
//! stemmed ("replaced" and "replacing" meet at "replac"); numbers with their units stay whole
//! so two sentences about "4.2 bar" are similar and two about "4.2" and "4.2 kV" are not.

use fieldbrief_core::facts;
use std::collections::{HashMap, HashSet};

/// A sparse, L2-normalised TF-IDF vector: (term id, weight), sorted by term id.
pub type Vector = Vec<(u32, f32)>;

pub struct Vectors {
    pub vectors: Vec<Vector>,
    /// Document frequency of each term id.
    pub df: Vec<u32>,
}

impl std::ops::Index<usize> for Vectors {
    type Output = Vector;
    fn index(&self, i: usize) -> &Vector {
        &self.vectors[i]
    }
}

impl Vectors {
    pub fn len(&self) -> usize {
        self.vectors.len()
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "done",
    "for", "from", "had", "has", "have", "he", "her", "him", "his", "i", "if", "in", "into", "is",
    "it", "its", "me", "my", "no", "not", "of", "off", "on", "once", "one", "only", "or", "other",
    "our", "out", "over", "she", "so", "some", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "too", "up", "us", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "will", "with", "would", "you",
    "your", "per", "via", "x",
];

pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = facts::extract(text)
        .into_iter()
        .filter(|f| f.kind != facts::FactKind::Time)
        .map(|f| f.text.to_lowercase())
        .collect();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        if raw.is_empty() || raw.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let lower = raw.to_lowercase();
        if lower.chars().count() < 2 || STOP_WORDS.contains(&lower.as_str()) {
            continue;
        }
        out.push(stem(&lower));
    }
    out
}

/// A light suffix stripper: enough to join inflections in technicians' English.
pub fn stem(word: &str) -> String {
    for suffix in [
        "ations", "ation", "ings", "ing", "ness", "ments", "ment", "edly", "ed", "ies", "es", "ly",
        "s",
    ] {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.chars().count() >= 3
        {
            return if suffix == "ies" { format!("{stem}y") } else { stem.to_string() };
        }
    }
    word.to_string()
}

pub fn tfidf(texts: &[&str]) -> Vectors {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut df: Vec<u32> = Vec::new();
    let tokenised: Vec<HashMap<u32, u32>> = texts
        .iter()
        .map(|t| {
            let mut tf: HashMap<u32, u32> = HashMap::new();
            for w in words(t) {
                let next = ids.len() as u32;
                let id = *ids.entry(w).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                *tf.entry(id).or_default() += 1;
            }
            for &id in tf.keys() {
                df[id as usize] += 1;
            }
            tf
        })
        .collect();
    let n = texts.len() as f32;
    let vectors = tokenised
        .into_iter()
        .map(|tf| {
            let mut v: Vector = tf
                .into_iter()
                .map(|(id, count)| {
                    let idf = ((n + 1.0) / (df[id as usize] as f32 + 0.5)).ln().max(0.05);
                    (id, (1.0 + (count as f32).ln()) * idf)
                })
                .collect();
            // Sorted before the sum: a hash map's order changes from run to run, and so would
            // the last bits of the norm, and with them the order of units that score alike.
            v.sort_unstable_by_key(|(id, _)| *id);
            let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|(_, w)| *w /= norm);
            }
            v
        })
        .collect();
    Vectors { vectors, df }
}

pub fn cosine(a: &Vector, b: &Vector) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot
}

/// The note's own keywords: terms that recur (in at least two units) without being
/// everywhere, by summed weight.
pub fn keywords(v: &Vectors, k: usize) -> HashSet<u32> {
    let n = v.len() as u32;
    let mut weight: HashMap<u32, f32> = HashMap::new();
    for vector in &v.vectors {
        for &(id, w) in vector {
            let df = v.df[id as usize];
            if df >= 2 && df * 2 <= n.max(4) {
                *weight.entry(id).or_default() += w;
            }
        }
    }
    let mut ranked: Vec<(u32, f32)> = weight.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.into_iter().take(k).map(|(id, _)| id).collect()
}

pub fn term_set(text: &str) -> HashSet<String> {
    words(text).into_iter().collect()
}

pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_joins_inflections() {
        assert_eq!(stem("replaced"), stem("replacing"));
        assert_eq!(stem("bearings"), stem("bearing"));
        assert_eq!(stem("batteries"), "battery");
        assert_eq!(stem("is"), "is");
    }

    #[test]
    fn measurements_are_terms_of_their_own() {
        let w = words("Discharge was 4.2 bar and the seal was replaced");
        assert!(w.contains(&"4.2 bar".to_string()), "{w:?}");
        assert!(!w.contains(&"the".to_string()));
    }

    #[test]
    fn similar_units_are_closer_than_unrelated_ones() {
        let v = tfidf(&["bearing noise on pump", "pump bearing noisy", "invoice sent to customer"]);
        assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]));
        assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn jaccard_bounds() {
        let a: HashSet<String> = ["x", "y"].iter().map(|s| s.to_string()).collect();
        let b: HashSet<String> = ["x", "y"].iter().map(|s| s.to_string()).collect();
        let c: HashSet<String> = ["z"].iter().map(|s| s.to_string()).collect();
        assert!((jaccard(&a, &b) - 1.0).abs() < 1e-9);
        assert_eq!(jaccard(&a, &c), 0.0);
    }
}
