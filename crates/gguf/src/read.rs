//! Reading and validating a GGUF file's header, metadata and tensor table.
//!
//! Every length read from the file is checked against the bytes that remain before it is
//! trusted, so a truncated or hostile file gives an [`Error`] naming what was being read and
//! where, never a huge allocation or a panic.

use crate::format::{DEFAULT_ALIGNMENT, MAGIC, TensorType, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("not a GGUF model: the file starts with {found} instead of \"GGUF\"")]
    NotGguf { found: String },
    #[error("GGUF version {0} is not supported (versions 2 and 3 are)")]
    UnsupportedVersion(u32),
    #[error("truncated: the file ends at byte {file_size} while reading {what} at byte {at}")]
    Truncated { what: String, at: u64, file_size: u64 },
    #[error(
        "truncated: header says {tensors} tensors, but tensor '{tensor}' needs bytes {start}..{end} and the file ends at byte {file_size}"
    )]
    TruncatedData { tensors: u64, tensor: String, start: u64, end: u64, file_size: u64 },
    #[error("implausible header: {0}")]
    Implausible(String),
    #[error("missing metadata key '{key}'{context}")]
    MissingKey { key: String, context: String },
    #[error("metadata key '{key}' is {found}, expected {expected}")]
    WrongType { key: String, expected: &'static str, found: &'static str },
    #[error("tensor '{tensor}' has unknown type id {type_id}")]
    UnknownTensorType { tensor: String, type_id: u32 },
    #[error("missing tensor '{0}' required by the llama architecture")]
    MissingTensor(String),
    #[error("tensor '{tensor}' has shape {found:?}, expected {expected:?}")]
    Shape { tensor: String, expected: Vec<u64>, found: Vec<u64> },
    #[error(
        "the vocabulary has token {token:?} twice (ids {first} and {second}): llama.cpp would abort"
    )]
    DuplicateToken { token: String, first: usize, second: usize },
    #[error(
        "the vocabulary lacks byte tokens ({missing} of <0x00>…<0xFF>, e.g. {example}): llama.cpp would abort on text it cannot tokenize"
    )]
    NoByteTokens { missing: usize, example: String },
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost (row) dimension.
    pub dims: Vec<u64>,
    pub ty: TensorType,
    /// Offset from the start of the data section.
    pub offset: u64,
    pub bytes: u64,
}

impl TensorInfo {
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF header: everything but the tensor data.
#[derive(Debug, Clone)]
pub struct Gguf {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute file offset where tensor data starts.
    pub data_offset: u64,
    pub file_size: u64,
    /// Tensor positions by name: a model names hundreds of tensors per check.
    by_name: std::collections::HashMap<String, usize>,
}

/// What a valid model file is, for the models view, routing and the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelInfo {
    pub architecture: String,
    pub name: Option<String>,
    pub context_length: u64,
    pub embedding_length: u64,
    pub block_count: u64,
    pub vocab_size: u64,
    pub parameters: u64,
    /// The dominant weight type, e.g. "Q8_0".
    pub quantization: String,
    pub tensor_count: u64,
    pub file_size: u64,
    pub chat_template: Option<String>,
    /// The chat markup the vocabulary's special tokens belong to, for a file that carries no
    /// template llama.cpp can apply (a base model, an older conversion).
    pub chat_format: Option<ChatFormat>,
    /// Bytes one token takes in an f16 KV cache: every layer's keys and values for the
    /// key/value heads (fewer than the query heads in grouped-query attention). Sizes the
    /// context to the memory there is.
    pub kv_bytes_per_token: u64,
}

/// Chat markups of the model families Fieldbrief knows, told apart by the special tokens in
/// the vocabulary: a Gemma file without a template still has `<start_of_turn>`, and feeding it
/// ChatML would be text it never saw in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChatFormat {
    /// `<|im_start|>role … <|im_end|>`: Qwen, SmolLM and many others.
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|> … <|eot_id|>`: Llama 3.
    Llama3,
    /// `<start_of_turn>user … <end_of_turn>`, no system role: Gemma.
    Gemma,
    /// `<|user|> … <|end|>`: Phi-3.
    Phi3,
}

impl ChatFormat {
    /// The format whose markers are all tokens of `vocab`, if any.
    pub fn detect(has: &dyn Fn(&str) -> bool) -> Option<ChatFormat> {
        let all = |markers: &[&str]| markers.iter().all(|m| has(m));
        if all(&["<|im_start|>", "<|im_end|>"]) {
            Some(ChatFormat::ChatMl)
        } else if all(&["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]) {
            Some(ChatFormat::Llama3)
        } else if all(&["<start_of_turn>", "<end_of_turn>"]) {
            Some(ChatFormat::Gemma)
        } else if all(&["<|user|>", "<|assistant|>", "<|end|>"]) {
            Some(ChatFormat::Phi3)
        } else {
            None
        }
    }
}

const MAX_TENSORS: u64 = 1 << 20;
const MAX_KV: u64 = 1 << 20;
const MAX_DIMS: u32 = 4;
/// Arrays of numbers longer than this are stepped over (see [`Value::Skipped`]).
const MAX_READ_NUMBERS: u64 = 4096;
/// Strings (or nested arrays) in one array: real vocabularies and merge lists are well below.
const MAX_ARRAY_ITEMS: u64 = 4 << 20;
/// Metadata values held in all (a vocabulary and its merges are under a million).
const MAX_VALUES: u64 = 2 << 20;

struct Cursor<R> {
    r: R,
    pos: u64,
    len: u64,
    /// Metadata values read so far: one budget for the whole file, so arrays of arrays or many
    /// keys cannot add up to what one long array may not.
    values: u64,
}

impl<R: Read> Cursor<R> {
    fn bytes(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<Vec<u8>, Error> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(Error::Truncated { what: what(), at: self.pos, file_size: self.len });
        }
        let mut buf = vec![0u8; n as usize];
        self.r.read_exact(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                Error::Truncated { what: what(), at: self.pos, file_size: self.len }
            }
            _ => Error::Io(e),
        })?;
        self.pos += n;
        Ok(buf)
    }

    /// Steps over `n` bytes without keeping them.
    fn skip(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), Error> {
        if n > self.len.saturating_sub(self.pos) {
            return Err(Error::Truncated { what: what(), at: self.pos, file_size: self.len });
        }
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())?;
        if copied != n {
            return Err(Error::Truncated {
                what: what(),
                at: self.pos + copied,
                file_size: self.len,
            });
        }
        self.pos += n;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], Error> {
        let v = self.bytes(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        Ok(a)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, Error> {
        let len = self.u64(what)?;
        let bytes = self.bytes(len, what)?;
        // llama.cpp itself accepts non-UTF-8 token strings; keep them readable.
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn value(
        &mut self,
        type_id: u32,
        what: &dyn Fn() -> String,
        depth: u32,
    ) -> Result<Value, Error> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(Error::Implausible(format!(
                "more than {MAX_VALUES} metadata values (at {})",
                what()
            )));
        }
        Ok(match type_id {
            0 => Value::U8(self.array::<1>(what)?[0]),
            1 => Value::I8(self.array::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            7 => Value::Bool(self.array::<1>(what)?[0] != 0),
            8 => Value::String(self.string(what)?),
            9 => {
                if depth > 2 {
                    return Err(Error::Implausible(format!(
                        "arrays nested too deep in {}",
                        what()
                    )));
                }
                let elem_type = self.u32(what)?;
                let count = self.u64(what)?;
                // Every element takes at least one byte: a count beyond the file is a lie.
                if count > self.len.saturating_sub(self.pos) {
                    return Err(Error::Truncated {
                        what: format!("{} ({count} elements)", what()),
                        at: self.pos,
                        file_size: self.len,
                    });
                }
                match (elem_type, crate::format::fixed_size(elem_type)) {
                    // Numbers beyond what validation reads (per-layer values are a few
                    // dozen) are stepped over, never held: a 400 MB array of bytes would
                    // otherwise take gigabytes as values.
                    (_, Some(size)) if count > MAX_READ_NUMBERS => {
                        self.skip(count.saturating_mul(size), what)?;
                        Value::Skipped { elem_type, count }
                    }
                    (8 | 9, _) if count > MAX_ARRAY_ITEMS => {
                        return Err(Error::Implausible(format!(
                            "{count} strings or arrays in {} (a vocabulary has a few hundred thousand)",
                            what()
                        )));
                    }
                    _ => {
                        let mut items = Vec::with_capacity(count.min(1 << 16) as usize);
                        for _ in 0..count {
                            items.push(self.value(elem_type, what, depth + 1)?);
                        }
                        Value::Array(items)
                    }
                }
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            other => {
                return Err(Error::Implausible(format!(
                    "unknown value type {other} in {}",
                    what()
                )));
            }
        })
    }
}

/// Reads and checks the header and tensor table of the GGUF file at `path`.
pub fn read(path: &Path) -> Result<Gguf, Error> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    read_from(BufReader::with_capacity(1 << 16, file), len)
}

/// Reads and checks a GGUF file held in memory (as [`read`] does a file).
pub fn read_bytes(bytes: &[u8]) -> Result<Gguf, Error> {
    read_from(bytes, bytes.len() as u64)
}

pub(crate) fn read_from(r: impl Read, len: u64) -> Result<Gguf, Error> {
    let mut c = Cursor { r, pos: 0, len, values: 0 };
    if len == 0 {
        return Err(Error::NotGguf { found: "an empty file".into() });
    }
    let magic = c.bytes(4.min(len), &|| "the magic number".into())?;
    if magic != MAGIC {
        let shown: String =
            magic.iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '.' }).collect();
        let found = format!("{shown:?}");
        return Err(Error::NotGguf { found });
    }
    let version = c.u32(&|| "the version".into())?;
    if !(2..=3).contains(&version) {
        return Err(Error::UnsupportedVersion(version));
    }
    let tensor_count = c.u64(&|| "the tensor count".into())?;
    let kv_count = c.u64(&|| "the metadata count".into())?;
    if tensor_count > MAX_TENSORS {
        return Err(Error::Implausible(format!("{tensor_count} tensors")));
    }
    if kv_count > MAX_KV {
        return Err(Error::Implausible(format!("{kv_count} metadata entries")));
    }

    let mut metadata = BTreeMap::new();
    for i in 0..kv_count {
        let key = c.string(&|| format!("metadata key {i} of {kv_count}"))?;
        let type_id = c.u32(&|| format!("the type of metadata '{key}'"))?;
        let value = c.value(type_id, &|| format!("metadata '{key}'"), 0)?;
        metadata.insert(key, value);
    }

    // Room for what a small file can hold; a count in the header is not yet a promise.
    let mut tensors = Vec::with_capacity(tensor_count.min(4096) as usize);
    let mut by_name = std::collections::HashMap::with_capacity(tensor_count.min(4096) as usize);
    for i in 0..tensor_count {
        let name = c.string(&|| format!("the name of tensor {i} of {tensor_count}"))?;
        let n_dims = c.u32(&|| format!("tensor '{name}'"))?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(Error::Implausible(format!("tensor '{name}' has {n_dims} dimensions")));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64(&|| format!("the shape of tensor '{name}'"))?);
        }
        let ty = TensorType(c.u32(&|| format!("the type of tensor '{name}'"))?);
        let offset = c.u64(&|| format!("the offset of tensor '{name}'"))?;
        if !ty.is_known() {
            return Err(Error::UnknownTensorType { tensor: name, type_id: ty.0 });
        }
        if dims.contains(&0) {
            return Err(Error::Implausible(format!(
                "tensor '{name}' has an empty dimension {dims:?}"
            )));
        }
        let elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let block = ty.block_elements().unwrap_or(1);
        let bytes = match elements {
            Some(n) if dims[0] % block == 0 => ty.bytes_for(n),
            _ => None,
        }
        .ok_or_else(|| {
            Error::Implausible(format!(
                "tensor '{name}' of type {} has impossible shape {dims:?}",
                ty.name()
            ))
        })?;
        if by_name.insert(name.clone(), tensors.len()).is_some() {
            return Err(Error::Implausible(format!("two tensors are named '{name}'")));
        }
        tensors.push(TensorInfo { name, dims, ty, offset, bytes });
    }

    let alignment = match metadata.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => match v.as_u64() {
            Some(a) if a.is_power_of_two() => a,
            _ => {
                return Err(Error::Implausible(format!(
                    "general.alignment {v:?} is not a power of two"
                )));
            }
        },
    };
    let data_offset = c.pos.div_ceil(alignment) * alignment;
    for t in &tensors {
        if t.offset % alignment != 0 {
            return Err(Error::Implausible(format!(
                "tensor '{}' offset {} is not {alignment}-aligned",
                t.name, t.offset
            )));
        }
        let start = data_offset.checked_add(t.offset);
        let end = start.and_then(|s| s.checked_add(t.bytes));
        match (start, end) {
            (Some(_), Some(end)) if end <= len => {}
            (start, end) => {
                return Err(Error::TruncatedData {
                    tensors: tensor_count,
                    tensor: t.name.clone(),
                    start: start.unwrap_or(u64::MAX),
                    end: end.unwrap_or(u64::MAX),
                    file_size: len,
                });
            }
        }
    }
    Ok(Gguf { version, metadata, tensors, alignment, data_offset, file_size: len, by_name })
}

impl Gguf {
    fn get(&self, key: &str, context: &str) -> Result<&Value, Error> {
        self.metadata
            .get(key)
            .ok_or_else(|| Error::MissingKey { key: key.into(), context: context.into() })
    }

    fn get_u64(&self, key: &str, context: &str) -> Result<u64, Error> {
        let v = self.get(key, context)?;
        v.as_u64().ok_or(Error::WrongType {
            key: key.into(),
            expected: "an unsigned integer",
            found: v.type_name(),
        })
    }

    /// A per-model number that some architectures give per layer (an array): the largest.
    fn opt_u64(&self, key: &str) -> Option<u64> {
        match self.metadata.get(key)? {
            Value::Array(items) => items.iter().filter_map(Value::as_u64).max(),
            v => v.as_u64(),
        }
    }

    /// See [`ModelInfo::kv_bytes_per_token`]; missing head counts read as one head per
    /// 64 dimensions of the embedding, missing key/value lengths as the embedding split evenly
    /// over the heads.
    fn kv_bytes_per_token(&self, arch: &str, embedding_length: u64, block_count: u64) -> u64 {
        let heads = self
            .opt_u64(&format!("{arch}.attention.head_count"))
            .filter(|&h| h > 0)
            .unwrap_or((embedding_length / 64).max(1));
        let kv_heads = self
            .opt_u64(&format!("{arch}.attention.head_count_kv"))
            .filter(|&h| h > 0)
            .unwrap_or(heads);
        let head_dim = (embedding_length / heads).max(1);
        let k = self.opt_u64(&format!("{arch}.attention.key_length")).unwrap_or(head_dim);
        let v = self.opt_u64(&format!("{arch}.attention.value_length")).unwrap_or(head_dim);
        block_count * kv_heads * (k + v) * 2
    }

    fn get_str(&self, key: &str, context: &str) -> Result<&str, Error> {
        let v = self.get(key, context)?;
        v.as_str().ok_or(Error::WrongType {
            key: key.into(),
            expected: "a string",
            found: v.type_name(),
        })
    }

    fn tensor(&self, name: &str) -> Result<&TensorInfo, Error> {
        self.by_name
            .get(name)
            .map(|&i| &self.tensors[i])
            .ok_or_else(|| Error::MissingTensor(name.into()))
    }

    /// Checks what llama.cpp needs to load the model and describes it.
    pub fn validate(&self) -> Result<ModelInfo, Error> {
        let arch = self.get_str("general.architecture", "")?.to_string();
        let ctx = format!(" required for architecture '{arch}'");
        let context_length = self.get_u64(&format!("{arch}.context_length"), &ctx)?;
        let embedding_length = self.get_u64(&format!("{arch}.embedding_length"), &ctx)?;
        let block_count = self.get_u64(&format!("{arch}.block_count"), &ctx)?;
        let tokenizer = self.get_str("tokenizer.ggml.model", " (the tokenizer)")?.to_string();
        let tokens = match self.get("tokenizer.ggml.tokens", " (the vocabulary)")? {
            Value::Array(items) => items,
            other => {
                return Err(Error::WrongType {
                    key: "tokenizer.ggml.tokens".into(),
                    expected: "an array of strings",
                    found: other.type_name(),
                });
            }
        };
        let mut seen: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            let Some(t) = t.as_str() else {
                return Err(Error::WrongType {
                    key: "tokenizer.ggml.tokens".into(),
                    expected: "an array of strings",
                    found: t.type_name(),
                });
            };
            if let Some(first) = seen.insert(t, i) {
                return Err(Error::DuplicateToken { token: t.into(), first, second: i });
            }
        }
        if tokenizer == "llama" {
            // SentencePiece vocabularies fall back to byte tokens for anything else.
            let present: std::collections::HashSet<&str> =
                tokens.iter().filter_map(Value::as_str).collect();
            let missing: Vec<String> = (0..=255u8)
                .map(|b| format!("<0x{b:02X}>"))
                .filter(|t| !present.contains(t.as_str()))
                .collect();
            if let Some(example) = missing.first() {
                return Err(Error::NoByteTokens {
                    missing: missing.len(),
                    example: example.clone(),
                });
            }
        }
        if arch == "llama" {
            self.get_u64("llama.attention.head_count", &ctx)?;
            self.get_u64("llama.feed_forward_length", &ctx)?;
            let embd = self.tensor("token_embd.weight")?;
            let expected = vec![embedding_length, tokens.len() as u64];
            if embd.dims != expected {
                return Err(Error::Shape {
                    tensor: embd.name.clone(),
                    expected,
                    found: embd.dims.clone(),
                });
            }
            self.tensor("output_norm.weight")?;
            for i in 0..block_count {
                for part in [
                    "attn_norm",
                    "attn_q",
                    "attn_k",
                    "attn_v",
                    "attn_output",
                    "ffn_norm",
                    "ffn_gate",
                    "ffn_down",
                    "ffn_up",
                ] {
                    self.tensor(&format!("blk.{i}.{part}.weight"))?;
                }
            }
        }

        let mut by_type: BTreeMap<&'static str, u64> = BTreeMap::new();
        for t in self.tensors.iter().filter(|t| t.dims.len() >= 2) {
            *by_type.entry(t.ty.name()).or_default() += t.bytes;
        }
        let quantization =
            by_type.iter().max_by_key(|(_, b)| **b).map_or("unknown", |(n, _)| n).to_string();
        Ok(ModelInfo {
            name: self.metadata.get("general.name").and_then(Value::as_str).map(str::to_string),
            context_length,
            embedding_length,
            block_count,
            vocab_size: tokens.len() as u64,
            parameters: self.tensors.iter().map(TensorInfo::elements).sum(),
            quantization,
            tensor_count: self.tensors.len() as u64,
            file_size: self.file_size,
            chat_template: self
                .metadata
                .get("tokenizer.chat_template")
                .and_then(Value::as_str)
                .map(str::to_string),
            chat_format: ChatFormat::detect(&|t| seen.contains_key(t)),
            kv_bytes_per_token: self.kv_bytes_per_token(&arch, embedding_length, block_count),
            architecture: arch,
        })
    }
}

/// Reads and validates: the one call to make before handing a file to llama.cpp.
pub fn inspect(path: &Path) -> Result<ModelInfo, Error> {
    read(path)?.validate()
}
