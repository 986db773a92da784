//! TextRank (PageRank over a similarity graph), made near-linear for long notes.
//!
//! A dense similarity graph costs O(n²): fine for a page, not for a 5 MiB log. So units are
//! ranked in blocks of [`BLOCK`] consecutive units; the best tenth of each block is promoted
//! and ranked again, until one block remains. A unit's centrality is the mean of its
//! normalised scores over all levels (0 for levels it was not promoted to), so a unit that is
//! central in its block and among the blocks' winners ranks highest. Every unit is scored;
//! nothing is skipped for being far into the document.

use crate::terms::{Vectors, cosine};

pub const BLOCK: usize = 400;
const DAMPING: f64 = 0.85;
const MIN_EDGE: f32 = 0.05;

pub fn textrank(v: &Vectors) -> Vec<f64> {
    let n = v.len();
    let mut sums = vec![0.0f64; n];
    let mut active: Vec<usize> = (0..n).collect();
    let mut levels = 0usize;
    loop {
        levels += 1;
        if active.len() <= BLOCK {
            for (i, s) in active.iter().zip(normalised(pagerank(&active, v))) {
                sums[*i] += s;
            }
            break;
        }
        let mut promoted = Vec::with_capacity(active.len() / 8);
        // Equal-sized blocks: a small remainder block would normalise its few units to the top.
        let blocks = active.len().div_ceil(BLOCK);
        for block in active.chunks(active.len().div_ceil(blocks)) {
            let scores = normalised(pagerank(block, v));
            let mut order: Vec<usize> = (0..block.len()).collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            let keep = (block.len() / 10).max(8).min(block.len());
            promoted.extend(order[..keep].iter().map(|&k| block[k]));
            for (i, s) in block.iter().zip(scores) {
                sums[*i] += s;
            }
        }
        promoted.sort_unstable();
        active = promoted;
    }
    sums.into_iter().map(|s| s / levels as f64).collect()
}

fn normalised(scores: Vec<f64>) -> Vec<f64> {
    let max = scores.iter().copied().fold(0.0, f64::max);
    if max > 0.0 { scores.into_iter().map(|s| s / max).collect() } else { scores }
}

/// Weighted PageRank over the units `ids`.
fn pagerank(ids: &[usize], v: &Vectors) -> Vec<f64> {
    let m = ids.len();
    if m == 0 {
        return Vec::new();
    }
    let mut weights = vec![0.0f32; m * m];
    for a in 0..m {
        for b in (a + 1)..m {
            let s = cosine(&v[ids[a]], &v[ids[b]]);
            if s >= MIN_EDGE {
                weights[a * m + b] = s;
                weights[b * m + a] = s;
            }
        }
    }
    let out_sums: Vec<f64> =
        (0..m).map(|a| weights[a * m..(a + 1) * m].iter().map(|&w| w as f64).sum()).collect();
    let mut rank = vec![1.0 / m as f64; m];
    for _ in 0..60 {
        // Units with no edges spread their rank evenly, like a random jump.
        let dangling: f64 =
            (0..m).filter(|&a| out_sums[a] == 0.0).map(|a| rank[a]).sum::<f64>() / m as f64;
        let mut next = vec![(1.0 - DAMPING) / m as f64 + DAMPING * dangling; m];
        for a in 0..m {
            if out_sums[a] == 0.0 {
                continue;
            }
            let share = DAMPING * rank[a] / out_sums[a];
            let row = &weights[a * m..(a + 1) * m];
            for (b, &w) in row.iter().enumerate() {
                if w > 0.0 {
                    next[b] += share * w as f64;
                }
            }
        }
        let delta: f64 = next.iter().zip(&rank).map(|(x, y)| (x - y).abs()).sum();
        rank = next;
        if delta < 1e-7 {
            break;
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terms::tfidf;

    #[test]
    fn the_unit_everyone_echoes_ranks_first() {
        let texts = [
            "pump bearing noise and vibration on the drive end",
            "bearing noise heard at the pump",
            "vibration high at drive end bearing",
            "the canteen was closed",
        ];
        let r = textrank(&tfidf(&texts));
        let best = (0..4).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
        assert_eq!(best, 0);
        assert!(r[3] < r[1]);
    }

    #[test]
    fn long_inputs_score_every_unit() {
        let texts: Vec<String> = (0..(BLOCK * 3 + 17))
            .map(|i| format!("unit {i} pump seal reading {}", i % 37))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let r = textrank(&tfidf(&refs));
        assert_eq!(r.len(), refs.len());
        assert!(r.iter().all(|s| s.is_finite() && *s > 0.0));
    }
}
