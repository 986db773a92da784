//! Splitting a note that does not fit the model's context into parts that do, on unit
//! (sentence, list item, table row) boundaries, so that nothing is cut and nothing is lost.

/// A piece of text with its size in the model's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub tokens: u32,
}

/// Packs `pieces`, in order, into chunks of at most `budget` tokens. A piece larger than the
/// budget on its own is split into word windows first (`split` returns the windows' token
/// counts as measured by the caller's tokenizer). Every piece's text appears in exactly one
/// chunk, in the original order.
pub fn pack(
    pieces: Vec<Piece>,
    budget: u32,
    mut measure: impl FnMut(&[String]) -> Vec<u32>,
) -> Vec<Piece> {
    let budget = budget.max(1);
    let mut fitted: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if piece.tokens <= budget {
            fitted.push(piece);
            continue;
        }
        // Split an oversized unit into equal word windows, each comfortably under the budget.
        let words: Vec<&str> = piece.text.split_whitespace().collect();
        let mut parts = (piece.tokens.div_ceil(budget) as usize * 2).max(2);
        loop {
            let size = words.len().div_ceil(parts).max(1);
            let windows: Vec<String> = words.chunks(size).map(|w| w.join(" ")).collect();
            let counts = measure(&windows);
            if counts.iter().all(|&c| c <= budget) || size == 1 {
                fitted.extend(
                    windows.into_iter().zip(counts).map(|(text, tokens)| Piece { text, tokens }),
                );
                break;
            }
            parts *= 2;
        }
    }

    let mut chunks: Vec<Piece> = Vec::new();
    let mut current = Piece { text: String::new(), tokens: 0 };
    for piece in fitted {
        // One separator token per join is a safe over-estimate for "\n".
        if !current.text.is_empty() && current.tokens + 1 + piece.tokens > budget {
            chunks.push(std::mem::replace(&mut current, Piece { text: String::new(), tokens: 0 }));
        }
        if !current.text.is_empty() {
            current.text.push('\n');
            current.tokens += 1;
        }
        current.text.push_str(&piece.text);
        current.tokens += piece.tokens;
    }
    if !current.text.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(t: &str) -> u32 {
        t.split_whitespace().count() as u32
    }

    fn pieces(texts: &[&str]) -> Vec<Piece> {
        texts.iter().map(|t| Piece { text: t.to_string(), tokens: count(t) }).collect()
    }

    #[test]
    fn chunks_respect_the_budget_and_keep_every_piece_in_order() {
        let texts: Vec<String> =
            (0..200).map(|i| format!("unit {i} has some words {}", "w ".repeat(i % 9))).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let chunks = pack(pieces(&refs), 40, |w| w.iter().map(|t| count(t)).collect());
        assert!(chunks.len() > 1);
        assert!(
            chunks.iter().all(|c| c.tokens <= 40),
            "{:?}",
            chunks.iter().map(|c| c.tokens).collect::<Vec<_>>()
        );
        let rejoined: Vec<&str> = chunks.iter().flat_map(|c| c.text.split('\n')).collect();
        assert_eq!(rejoined, refs, "every unit exactly once, in order");
    }

    #[test]
    fn an_oversized_unit_is_split_into_windows_not_cut() {
        let long = (0..100).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let chunks = pack(pieces(&["short one", &long, "tail"]), 30, |w| {
            w.iter().map(|t| count(t)).collect()
        });
        assert!(chunks.iter().all(|c| c.tokens <= 30));
        let words: Vec<&str> = chunks.iter().flat_map(|c| c.text.split_whitespace()).collect();
        let want: Vec<&str> =
            "short one".split(' ').chain(long.split(' ')).chain(["tail"]).collect();
        assert_eq!(words, want);
    }
}
