//! A small, deterministic mutation fuzzer for the parsers that read outside input (text
//! decoding, GGUF, SSE, `config.toml`, catalog manifests): each test starts from real inputs
//! and feeds the parser thousands of variants — bytes flipped, cut, repeated, spliced between
//! inputs, lengths and counts set to extremes. Seeded, so a failure reproduces exactly; bounded,
//! so it runs in CI in seconds. An input that ever broke a parser is kept in its test as a
//! regression case.
//!
//! `FIELDBRIEF_FUZZ_ITERATIONS` raises the count for a longer local run.

/// xorshift64*: fast and seedable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// How many variants a fuzz test tries: `default`, or `FIELDBRIEF_FUZZ_ITERATIONS`.
pub fn iterations(default: usize) -> usize {
    std::env::var("FIELDBRIEF_FUZZ_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Values that break careless length and count handling.
const EXTREMES: &[u64] = &[0, 1, 0x7f, 0x80, 0xff, 0xffff, 0xffff_ffff, 1 << 31, 1 << 40, u64::MAX];

/// `n` variants of the `seeds`, each from one to four mutations.
pub fn variants(seeds: &[Vec<u8>], n: usize, seed: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut rng = Rng::new(seed);
    (0..n).map(move |_| {
        let mut v = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut v, seeds, &mut rng);
        }
        v
    })
}

fn mutate(v: &mut Vec<u8>, seeds: &[Vec<u8>], rng: &mut Rng) {
    if v.is_empty() {
        v.push(rng.next_u64() as u8);
        return;
    }
    let at = rng.below(v.len());
    match rng.below(8) {
        // A flipped bit.
        0 => v[at] ^= 1 << rng.below(8),
        // A random byte.
        1 => v[at] = rng.next_u64() as u8,
        // Cut short.
        2 => v.truncate(at),
        // A run of bytes removed.
        3 => {
            let end = (at + 1 + rng.below(64)).min(v.len());
            v.drain(at..end);
        }
        // A run repeated.
        4 => {
            let end = (at + 1 + rng.below(64)).min(v.len());
            let run = v[at..end].to_vec();
            for _ in 0..=rng.below(8) {
                v.splice(at..at, run.iter().copied());
            }
        }
        // An extreme little-endian number over 8 (or fewer) bytes.
        5 => {
            let x = EXTREMES[rng.below(EXTREMES.len())].to_le_bytes();
            let n = [1, 2, 4, 8][rng.below(4)].min(v.len() - at);
            v[at..at + n].copy_from_slice(&x[..n]);
        }
        // Part of another input spliced in.
        6 => {
            let other = &seeds[rng.below(seeds.len())];
            if !other.is_empty() {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                v.splice(at..at, other[from..end].iter().copied());
            }
        }
        // Bytes that are special to text parsers.
        _ => {
            let special: &[&[u8]] = &[
                b"\n\n",
                b"\r\n",
                b"\0",
                b"\xef\xbb\xbf",
                b"\xff\xfe",
                b"\xc3",
                b"\"",
                b"[",
                b"{",
                b"data: ",
            ];
            v.splice(at..at, special[rng.below(special.len())].iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_reproducible_and_varied() {
        let seeds = vec![b"GGUF\x03\x00\x00\x00 hello world".to_vec()];
        let a: Vec<Vec<u8>> = variants(&seeds, 200, 7).collect();
        let b: Vec<Vec<u8>> = variants(&seeds, 200, 7).collect();
        assert_eq!(a, b);
        let distinct: std::collections::HashSet<&Vec<u8>> = a.iter().collect();
        assert!(distinct.len() > 150, "{}", distinct.len());
        assert!(
            a.iter().any(|v| v.len() < seeds[0].len())
                && a.iter().any(|v| v.len() > seeds[0].len())
        );
    }
}
