//! The format's constants: value types and ggml tensor types with their block layouts.

use serde::Serialize;

pub const MAGIC: &[u8; 4] = b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
    /// A long array of numbers (token scores and types, say) that validation does not need:
    /// stepped over, not read into memory, where a one-byte element would become a 32-byte
    /// value. Only its element type and count are kept.
    Skipped {
        elem_type: u32,
        count: u64,
    },
}

impl Value {
    pub fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) | Value::Skipped { .. } => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    pub fn type_name(&self) -> &'static str {
        type_name(self.type_id())
    }

    /// Any integer type that fits in u64 (GGUF writers differ in which width they use).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// The size in the file of one value of a fixed-size type; `None` for strings and arrays.
pub fn fixed_size(id: u32) -> Option<u64> {
    match id {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

pub fn type_name(id: u32) -> &'static str {
    match id {
        0 => "u8",
        1 => "i8",
        2 => "u16",
        3 => "i16",
        4 => "u32",
        5 => "i32",
        6 => "f32",
        7 => "bool",
        8 => "string",
        9 => "array",
        10 => "u64",
        11 => "i64",
        12 => "f64",
        _ => "unknown",
    }
}

/// ggml tensor types: `(id, name, bytes per block, elements per block)`.
const TENSOR_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 4, 1),
    (1, "F16", 2, 1),
    (2, "Q4_0", 18, 32),
    (3, "Q4_1", 20, 32),
    (6, "Q5_0", 22, 32),
    (7, "Q5_1", 24, 32),
    (8, "Q8_0", 34, 32),
    (9, "Q8_1", 36, 32),
    (10, "Q2_K", 84, 256),
    (11, "Q3_K", 110, 256),
    (12, "Q4_K", 144, 256),
    (13, "Q5_K", 176, 256),
    (14, "Q6_K", 210, 256),
    (15, "Q8_K", 292, 256),
    (16, "IQ2_XXS", 66, 256),
    (17, "IQ2_XS", 74, 256),
    (18, "IQ3_XXS", 98, 256),
    (19, "IQ1_S", 50, 256),
    (20, "IQ4_NL", 18, 32),
    (21, "IQ3_S", 110, 256),
    (22, "IQ2_S", 82, 256),
    (23, "IQ4_XS", 136, 256),
    (24, "I8", 1, 1),
    (25, "I16", 2, 1),
    (26, "I32", 4, 1),
    (27, "I64", 8, 1),
    (28, "F64", 8, 1),
    (29, "IQ1_M", 56, 256),
    (30, "BF16", 2, 1),
    (34, "TQ1_0", 54, 256),
    (35, "TQ2_0", 66, 256),
    (39, "MXFP4", 17, 32),
];

/// A ggml tensor type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TensorType(pub u32);

impl TensorType {
    pub const F32: TensorType = TensorType(0);
    pub const F16: TensorType = TensorType(1);
    pub const Q4_0: TensorType = TensorType(2);
    pub const Q8_0: TensorType = TensorType(8);

    fn entry(self) -> Option<&'static (u32, &'static str, u64, u64)> {
        TENSOR_TYPES.iter().find(|t| t.0 == self.0)
    }

    pub fn is_known(self) -> bool {
        self.entry().is_some()
    }

    pub fn name(self) -> &'static str {
        self.entry().map_or("unknown", |t| t.1)
    }

    pub fn block_elements(self) -> Option<u64> {
        self.entry().map(|t| t.3)
    }

    /// Bytes needed for `elements` values, `None` for an unknown type, a count that is not a
    /// whole number of blocks, or an overflow.
    pub fn bytes_for(self, elements: u64) -> Option<u64> {
        let &(_, _, block_bytes, block_elems) = self.entry()?;
        if !elements.is_multiple_of(block_elems) {
            return None;
        }
        (elements / block_elems).checked_mul(block_bytes)
    }
}
