//! Writing GGUF files, and the Llama models the tests and benchmarks generate.
//!
//! Tensor data is produced while writing (a seeded PRNG), so a 1 GB synthetic model streams to
//! disk without being held in memory, and the same spec always gives the same bytes.

use crate::format::{DEFAULT_ALIGNMENT, MAGIC, TensorType, Value};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// How a tensor's values are made.
#[derive(Debug, Clone, Copy)]
pub enum Fill {
    /// Uniform in `[-scale, scale]` from a seeded generator.
    Random { seed: u64, scale: f32 },
    /// Every value the same (norm weights are 1.0).
    Constant(f32),
}

#[derive(Debug, Clone)]
struct Tensor {
    name: String,
    dims: Vec<u64>,
    ty: TensorType,
    fill: Fill,
}

#[derive(Debug, Clone, Default)]
pub struct Writer {
    metadata: Vec<(String, Value)>,
    tensors: Vec<Tensor>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn meta(&mut self, key: &str, value: Value) -> &mut Self {
        self.metadata.retain(|(k, _)| k != key);
        self.metadata.push((key.to_string(), value));
        self
    }

    pub fn remove_meta(&mut self, key: &str) -> &mut Self {
        self.metadata.retain(|(k, _)| k != key);
        self
    }

    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: TensorType, fill: Fill) -> &mut Self {
        self.tensors.push(Tensor { name: name.into(), dims: dims.to_vec(), ty, fill });
        self
    }

    /// Gives the tensor `name` other values (a fine-tune that changed one tensor); false if
    /// there is no such tensor.
    pub fn refill(&mut self, name: &str, fill: Fill) -> bool {
        match self.tensors.iter_mut().find(|t| t.name == name) {
            Some(t) => {
                t.fill = fill;
                true
            }
            None => false,
        }
    }

    pub fn write_file(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        self.write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v).expect("writing to a Vec cannot fail");
        v
    }

    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let (header, layout) = self.header();
        out.write_all(&header)?;
        let mut written = 0u64;
        for (t, (offset, size)) in self.tensors.iter().zip(layout) {
            out.write_all(&vec![0u8; (offset - written) as usize])?;
            write_data(out, t)?;
            written = offset + size;
        }
        Ok(())
    }

    /// The encoded header, metadata and tensor table padded to the data section, and each
    /// tensor's (offset, size) in that section.
    fn header(&self) -> (Vec<u8>, Vec<(u64, u64)>) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            bytes.extend(encode_string(key));
            bytes.extend_from_slice(&value.type_id().to_le_bytes());
            bytes.extend(encode_value(value));
        }
        let mut layout = Vec::with_capacity(self.tensors.len());
        let mut offset = 0u64;
        for t in &self.tensors {
            bytes.extend(encode_string(&t.name));
            bytes.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                bytes.extend_from_slice(&d.to_le_bytes());
            }
            bytes.extend_from_slice(&t.ty.0.to_le_bytes());
            bytes.extend_from_slice(&offset.to_le_bytes());
            let size = t
                .dims
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .and_then(|n| t.ty.bytes_for(n))
                .unwrap_or(0);
            layout.push((offset, size));
            offset = offset.saturating_add(size).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
        }
        let pad = (bytes.len() as u64).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT
            - bytes.len() as u64;
        bytes.extend(std::iter::repeat_n(0u8, pad as usize));
        (bytes, layout)
    }
}

fn encode_string(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

fn encode_value(value: &Value) -> Vec<u8> {
    match value {
        Value::U8(v) => vec![*v],
        Value::I8(v) => vec![*v as u8],
        Value::U16(v) => v.to_le_bytes().to_vec(),
        Value::I16(v) => v.to_le_bytes().to_vec(),
        Value::U32(v) => v.to_le_bytes().to_vec(),
        Value::I32(v) => v.to_le_bytes().to_vec(),
        Value::F32(v) => v.to_le_bytes().to_vec(),
        Value::Bool(v) => vec![u8::from(*v)],
        Value::String(s) => encode_string(s),
        Value::Array(items) => {
            let elem_type = items.first().map_or(4, Value::type_id);
            let mut v = elem_type.to_le_bytes().to_vec();
            v.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                v.extend(encode_value(item));
            }
            v
        }
        Value::U64(v) => v.to_le_bytes().to_vec(),
        Value::I64(v) => v.to_le_bytes().to_vec(),
        Value::F64(v) => v.to_le_bytes().to_vec(),
        // Never read, so never written back: zeros of the right length keep the layout.
        Value::Skipped { elem_type, count } => {
            let mut v = elem_type.to_le_bytes().to_vec();
            v.extend_from_slice(&count.to_le_bytes());
            let size = crate::format::fixed_size(*elem_type).unwrap_or(1);
            v.resize(v.len() + (count * size) as usize, 0);
            v
        }
    }
}

/// xorshift64*: fast, seedable, good enough for random weights.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

fn write_data(out: &mut dyn Write, t: &Tensor) -> io::Result<()> {
    let elements: u64 = t.dims.iter().product();
    let (mut rng, scale, constant) = match t.fill {
        Fill::Random { seed, scale } => (Rng::new(seed), scale, None),
        Fill::Constant(c) => (Rng::new(0), 0.0, Some(c)),
    };
    let mut value = || constant.unwrap_or_else(|| rng.unit() * scale);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let flush = |buf: &mut Vec<u8>, out: &mut dyn Write| -> io::Result<()> {
        out.write_all(buf)?;
        buf.clear();
        Ok(())
    };
    match t.ty {
        TensorType::F32 => {
            for _ in 0..elements {
                buf.extend_from_slice(&value().to_le_bytes());
                if buf.len() >= 1 << 16 {
                    flush(&mut buf, out)?;
                }
            }
        }
        TensorType::F16 => {
            for _ in 0..elements {
                buf.extend_from_slice(&half::f16::from_f32(value()).to_le_bytes());
                if buf.len() >= 1 << 16 {
                    flush(&mut buf, out)?;
                }
            }
        }
        TensorType::Q8_0 => {
            // Blocks of 32: an f16 scale, then 32 signed bytes.
            for _ in 0..elements / 32 {
                let vals: Vec<f32> = (0..32).map(|_| value()).collect();
                let amax = vals.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                buf.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
                for v in vals {
                    let q = if d > 0.0 { (v / d).round().clamp(-127.0, 127.0) as i8 } else { 0 };
                    buf.push(q as u8);
                }
                if buf.len() >= 1 << 16 {
                    flush(&mut buf, out)?;
                }
            }
        }
        TensorType::Q4_0 => {
            // Blocks of 32: an f16 scale, then 16 bytes holding 32 4-bit values offset by 8.
            for _ in 0..elements / 32 {
                let vals: Vec<f32> = (0..32).map(|_| value()).collect();
                let max =
                    vals.iter().copied().fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m });
                let d = max / -8.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                buf.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
                for j in 0..16 {
                    let lo = ((vals[j] * id + 8.5) as i32).clamp(0, 15) as u8;
                    let hi = ((vals[j + 16] * id + 8.5) as i32).clamp(0, 15) as u8;
                    buf.push(lo | (hi << 4));
                }
                if buf.len() >= 1 << 16 {
                    flush(&mut buf, out)?;
                }
            }
        }
        other => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("writing {} tensors is not supported", other.name()),
            ));
        }
    }
    flush(&mut buf, out)
}

/// The shape of a generated Llama model.
#[derive(Debug, Clone)]
pub struct LlamaSpec {
    pub name: String,
    pub n_vocab: usize,
    pub n_embd: u64,
    pub n_layer: u64,
    pub n_head: u64,
    pub n_head_kv: u64,
    pub n_ff: u64,
    pub n_ctx: u64,
    /// Type of the large weight matrices (norms stay F32).
    pub weight_type: TensorType,
    pub seed: u64,
    pub chat_template: Option<String>,
}

impl LlamaSpec {
    /// A model small enough to load and run in milliseconds in tests: 2 layers, 64 wide,
    /// 2048-token context, 512-token SentencePiece vocabulary with all 256 byte tokens.
    pub fn tiny() -> LlamaSpec {
        LlamaSpec {
            name: "fieldbrief-tiny".into(),
            n_vocab: 512,
            n_embd: 64,
            n_layer: 2,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 128,
            n_ctx: 2048,
            weight_type: TensorType::F32,
            seed: 42,
            chat_template: None,
        }
    }

    /// Shaped like TinyLlama 1.1B (22 layers, 2048 wide, grouped-query attention, 32k
    /// vocabulary), Q8_0 weights: about 1.2 GB, for measuring speed without downloading.
    pub fn synthetic_1b() -> LlamaSpec {
        LlamaSpec {
            name: "fieldbrief-synthetic-1.1b".into(),
            n_vocab: 32000,
            n_embd: 2048,
            n_layer: 22,
            n_head: 32,
            n_head_kv: 4,
            n_ff: 5632,
            n_ctx: 2048,
            weight_type: TensorType::Q8_0,
            seed: 7,
            chat_template: None,
        }
    }

    pub fn parameters(&self) -> u64 {
        let e = self.n_embd;
        let kv = e / self.n_head * self.n_head_kv;
        let per_layer = 2 * e + e * e * 2 + e * kv * 2 + 3 * e * self.n_ff;
        2 * e * self.n_vocab as u64 + e + self.n_layer * per_layer
    }

    /// The writer for this model, to adjust (e.g. corrupt) before writing.
    pub fn writer(&self) -> Writer {
        let mut w = Writer::new();
        let u32v = |v: u64| Value::U32(v as u32);
        w.meta("general.architecture", Value::String("llama".into()))
            .meta("general.name", Value::String(self.name.clone()))
            .meta("general.file_type", Value::U32(file_type(self.weight_type)))
            .meta("llama.context_length", u32v(self.n_ctx))
            .meta("llama.embedding_length", u32v(self.n_embd))
            .meta("llama.block_count", u32v(self.n_layer))
            .meta("llama.feed_forward_length", u32v(self.n_ff))
            .meta("llama.rope.dimension_count", u32v(self.n_embd / self.n_head))
            .meta("llama.attention.head_count", u32v(self.n_head))
            .meta("llama.attention.head_count_kv", u32v(self.n_head_kv))
            .meta("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5))
            .meta("llama.rope.freq_base", Value::F32(10000.0))
            .meta("tokenizer.ggml.model", Value::String("llama".into()));
        let (tokens, scores, types) = vocabulary(self.n_vocab);
        w.meta(
            "tokenizer.ggml.tokens",
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        )
        .meta("tokenizer.ggml.scores", Value::Array(scores.into_iter().map(Value::F32).collect()))
        .meta(
            "tokenizer.ggml.token_type",
            Value::Array(types.into_iter().map(Value::I32).collect()),
        )
        .meta("tokenizer.ggml.unknown_token_id", Value::U32(0))
        .meta("tokenizer.ggml.bos_token_id", Value::U32(1))
        .meta("tokenizer.ggml.eos_token_id", Value::U32(2))
        .meta("tokenizer.ggml.add_bos_token", Value::Bool(true))
        .meta("tokenizer.ggml.add_eos_token", Value::Bool(false));
        if let Some(t) = &self.chat_template {
            w.meta("tokenizer.chat_template", Value::String(t.clone()));
        }

        let (e, v, ff, wt) = (self.n_embd, self.n_vocab as u64, self.n_ff, self.weight_type);
        let kv = e / self.n_head * self.n_head_kv;
        let mut seed = self.seed;
        let mut random = |scale: f32| {
            seed = seed.wrapping_add(1);
            Fill::Random { seed, scale }
        };
        w.tensor("token_embd.weight", &[e, v], wt, random(0.5))
            .tensor("output_norm.weight", &[e], TensorType::F32, Fill::Constant(1.0))
            .tensor("output.weight", &[e, v], wt, random(0.5));
        let proj = 1.0 / (e as f32).sqrt();
        for i in 0..self.n_layer {
            let b = |part: &str| format!("blk.{i}.{part}.weight");
            w.tensor(&b("attn_norm"), &[e], TensorType::F32, Fill::Constant(1.0))
                .tensor(&b("attn_q"), &[e, e], wt, random(proj))
                .tensor(&b("attn_k"), &[e, kv], wt, random(proj))
                .tensor(&b("attn_v"), &[e, kv], wt, random(proj))
                .tensor(&b("attn_output"), &[e, e], wt, random(proj))
                .tensor(&b("ffn_norm"), &[e], TensorType::F32, Fill::Constant(1.0))
                .tensor(&b("ffn_gate"), &[e, ff], wt, random(proj))
                .tensor(&b("ffn_up"), &[e, ff], wt, random(proj))
                .tensor(&b("ffn_down"), &[ff, e], wt, random(1.0 / (ff as f32).sqrt()));
        }
        w
    }

    pub fn write(&self, path: &Path) -> io::Result<()> {
        self.writer().write_file(path)
    }
}

/// llama.cpp's `general.file_type` for a model whose weights are `ty`.
fn file_type(ty: TensorType) -> u32 {
    match ty {
        TensorType::F32 => 0,
        TensorType::F16 => 1,
        TensorType::Q4_0 => 2,
        TensorType::Q8_0 => 7,
        _ => 0,
    }
}

/// A SentencePiece-style vocabulary: `<unk> <s> </s>`, the 256 byte tokens, then word pieces.
fn vocabulary(n: usize) -> (Vec<String>, Vec<f32>, Vec<i32>) {
    const WORDS: &[&str] = &[
        "the",
        "pump",
        "seal",
        "bearing",
        "replaced",
        "found",
        "and",
        "on",
        "at",
        "to",
        "of",
        "a",
        "was",
        "is",
        "bar",
        "motor",
        "fault",
        "alarm",
        "valve",
        "pressure",
        "temperature",
        "check",
        "open",
        "done",
        "oil",
        "filter",
        "leak",
        "test",
        "site",
        "unit",
        "fan",
        "belt",
        "power",
        "supply",
        "cable",
        "breaker",
        "reset",
        "order",
    ];
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    let mut pieces: Vec<String> = Vec::new();
    pieces.push("▁".into());
    for c in ('a'..='z').chain('0'..='9') {
        pieces.push(format!("▁{c}"));
        pieces.push(c.to_string());
    }
    for w in WORDS {
        let piece = format!("▁{w}");
        // llama.cpp aborts on a vocabulary with duplicate tokens.
        if !pieces.contains(&piece) {
            pieces.push(piece);
        }
    }
    let mut i = 0usize;
    while tokens.len() + pieces.len() < n {
        pieces.push(format!("▁w{i}"));
        i += 1;
    }
    for p in pieces.into_iter().take(n.saturating_sub(tokens.len())) {
        tokens.push(p);
        types.push(1);
    }
    let scores = (0..tokens.len()).map(|i| if types[i] == 1 { -(i as f32) } else { 0.0 }).collect();
    (tokens, scores, types)
}

/// Broken models for tests: each is a tiny model with one thing wrong.
pub mod corrupt {
    use super::*;

    pub fn wrong_magic() -> Vec<u8> {
        let mut b = LlamaSpec::tiny().writer().to_bytes();
        b[..4].copy_from_slice(b"GGML");
        b
    }

    /// The first `fraction` of the file.
    pub fn truncated(fraction: f64) -> Vec<u8> {
        let b = LlamaSpec::tiny().writer().to_bytes();
        let keep = ((b.len() as f64) * fraction) as usize;
        b[..keep.min(b.len())].to_vec()
    }

    pub fn missing_key(key: &str) -> Vec<u8> {
        LlamaSpec::tiny().writer().remove_meta(key).to_bytes()
    }

    /// A tensor that claims 2^40 rows: the header promises far more data than any file holds.
    pub fn absurd_tensor_size() -> Vec<u8> {
        let honest = LlamaSpec::tiny().writer();
        let mut lying = honest.clone();
        if let Some(t) = lying.tensors.iter_mut().find(|t| t.name == "blk.1.ffn_up.weight") {
            t.dims[1] = 1 << 40;
        }
        // The lying table, followed by the honest model's data.
        let honest_bytes = honest.to_bytes();
        let mut out = lying.header().0;
        out.extend_from_slice(&honest_bytes[honest.header().0.len()..]);
        out
    }

    /// A vocabulary with the same token twice (llama.cpp asserts on it).
    pub fn duplicate_token() -> Vec<u8> {
        let mut w = LlamaSpec::tiny().writer();
        if let Some((_, Value::Array(tokens))) =
            w.metadata.iter_mut().find(|(k, _)| k == "tokenizer.ggml.tokens")
        {
            let last = tokens.len() - 1;
            tokens[last] = tokens[last - 1].clone();
        }
        w.to_bytes()
    }

    /// A model that loads and runs but computes NaN everywhere (a broken quantization):
    /// valid to every structural check, caught only by running it.
    pub fn nan_weights() -> Vec<u8> {
        let mut w = LlamaSpec::tiny().writer();
        if let Some(t) = w.tensors.iter_mut().find(|t| t.name == "output_norm.weight") {
            t.fill = Fill::Constant(f32::NAN);
        }
        w.to_bytes()
    }

    /// A SentencePiece vocabulary without byte tokens.
    pub fn without_byte_tokens() -> Vec<u8> {
        let mut w = LlamaSpec::tiny().writer();
        if let Some((_, Value::Array(tokens))) =
            w.metadata.iter_mut().find(|(k, _)| k == "tokenizer.ggml.tokens")
        {
            for (i, t) in tokens.iter_mut().enumerate().skip(3).take(256) {
                *t = Value::String(format!("▁x{i}"));
            }
        }
        w.to_bytes()
    }
}
