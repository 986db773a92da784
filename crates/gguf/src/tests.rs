use super::write::{LlamaSpec, Writer, corrupt};
use super::*;

fn inspect_bytes(bytes: &[u8]) -> Result<ModelInfo, Error> {
    read::read_from(bytes, bytes.len() as u64)?.validate()
}

#[test]
fn a_tiny_model_round_trips_and_describes_itself() {
    let spec = LlamaSpec::tiny();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    spec.write(&path).unwrap();
    let info = inspect(&path).unwrap();
    assert_eq!(info.architecture, "llama");
    assert_eq!(info.name.as_deref(), Some("fieldbrief-tiny"));
    assert_eq!((info.context_length, info.embedding_length, info.block_count), (2048, 64, 2));
    assert_eq!(info.vocab_size, 512);
    assert_eq!(info.parameters, spec.parameters());
    assert_eq!(info.quantization, "F32");
    assert_eq!(info.tensor_count, 3 + 9 * 2);
    assert_eq!(info.file_size, std::fs::metadata(&path).unwrap().len());
    assert!(info.chat_template.is_none());
    // 2 layers × keys and values × the KV heads' dimensions × 2 bytes (f16).
    let head_dim = spec.n_embd / spec.n_head;
    assert_eq!(info.kv_bytes_per_token, 2 * 2 * spec.n_head_kv * head_dim * 2);

    let g = read(&path).unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.data_offset % 32, 0);
    let tokens = match &g.metadata["tokenizer.ggml.tokens"] {
        Value::Array(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(tokens[3], Value::String("<0x00>".into()));
    assert_eq!(tokens[258], Value::String("<0xFF>".into()));
    // Tensors sit back to back, aligned, and the last one ends where the file does.
    let last = g.tensors.last().unwrap();
    assert_eq!(g.data_offset + last.offset + last.bytes, g.file_size);
}

#[test]
fn quantized_weights_have_the_block_sizes_llama_cpp_expects() {
    for (ty, name, bytes_per_32) in [
        (TensorType::Q8_0, "Q8_0", 34u64),
        (TensorType::Q4_0, "Q4_0", 18),
        (TensorType::F16, "F16", 64),
    ] {
        let spec = LlamaSpec { weight_type: ty, ..LlamaSpec::tiny() };
        let bytes = spec.writer().to_bytes();
        let info = inspect_bytes(&bytes).unwrap();
        assert_eq!(info.quantization, name);
        let g = read::read_from(&bytes[..], bytes.len() as u64).unwrap();
        let q = g.tensors.iter().find(|t| t.name == "blk.0.attn_q.weight").unwrap();
        assert_eq!(q.bytes, 64 * 64 / 32 * bytes_per_32);
    }
}

#[test]
fn the_synthetic_model_is_a_one_billion_parameter_llama() {
    let p = LlamaSpec::synthetic_1b().parameters();
    assert!((1_000_000_000..1_200_000_000).contains(&p), "{p}");
}

#[test]
fn corrupt_models_get_precise_errors() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("wrong magic", corrupt::wrong_magic(), "not a GGUF model: the file starts with \"GGML\""),
        ("empty", Vec::new(), "not a GGUF model: the file starts with an empty file"),
        ("half the file", corrupt::truncated(0.5), "truncated: header says 21 tensors, but tensor"),
        ("a few bytes", corrupt::truncated(0.0005), "truncated: the file ends at byte"),
        (
            "no context length",
            corrupt::missing_key("llama.context_length"),
            "missing metadata key 'llama.context_length' required for architecture 'llama'",
        ),
        (
            "no architecture",
            corrupt::missing_key("general.architecture"),
            "missing metadata key 'general.architecture'",
        ),
        (
            "no vocabulary",
            corrupt::missing_key("tokenizer.ggml.tokens"),
            "missing metadata key 'tokenizer.ggml.tokens'",
        ),
        ("absurd tensor", corrupt::absurd_tensor_size(), "tensor 'blk.1.ffn_up.weight'"),
        (
            "no byte tokens",
            corrupt::without_byte_tokens(),
            "lacks byte tokens (256 of <0x00>…<0xFF>",
        ),
        ("duplicate token", corrupt::duplicate_token(), "the vocabulary has token \"▁w"),
    ];
    for (what, bytes, want) in cases {
        let err = inspect_bytes(&bytes).expect_err(what).to_string();
        assert!(err.contains(want), "{what}: {err}");
    }
}

#[test]
fn every_cut_point_is_an_error_never_a_panic() {
    let full = LlamaSpec::tiny().writer().to_bytes();
    let step = (full.len() / 300).max(1);
    for cut in (0..full.len()).step_by(step).chain([full.len() - 1]) {
        assert!(inspect_bytes(&full[..cut]).is_err(), "cut at {cut} of {}", full.len());
    }
}

#[test]
fn hostile_lengths_do_not_allocate() {
    // A metadata string claiming 2^60 bytes in a 40-byte file.
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    let err = inspect_bytes(&b).unwrap_err().to_string();
    assert!(
        err.starts_with("truncated: the file ends at byte 32 while reading metadata key 0 of 1"),
        "{err}"
    );
    let mut w = Writer::new();
    w.meta("general.architecture", Value::String("llama".into()));
    let mut v = w.to_bytes();
    v[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(inspect_bytes(&v).unwrap_err().to_string().contains("implausible header"));
    let mut v2 = w.to_bytes();
    v2[4..8].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        inspect_bytes(&v2).unwrap_err().to_string(),
        "GGUF version 9 is not supported (versions 2 and 3 are)"
    );
}

#[test]
fn a_long_array_of_numbers_is_stepped_over_not_held() {
    // 8 Mi one-byte elements: as values they would take 256 MiB; they are a count instead.
    let mut w = LlamaSpec::tiny().writer();
    w.meta("hostile.bytes", Value::Skipped { elem_type: 0, count: 8 << 20 });
    let bytes = w.to_bytes();
    let g = read::read_from(&bytes[..], bytes.len() as u64).unwrap();
    assert_eq!(g.metadata["hostile.bytes"], Value::Skipped { elem_type: 0, count: 8 << 20 });
    // The model is still whole and valid: the array was stepped over, byte-exact.
    g.validate().unwrap();
    // Short arrays (per-layer head counts) are still read.
    let mut w = LlamaSpec::tiny().writer();
    w.meta("llama.attention.head_count_kv", Value::Array(vec![Value::U32(2), Value::U32(4)]));
    let bytes = w.to_bytes();
    let g = read::read_from(&bytes[..], bytes.len() as u64).unwrap();
    assert!(
        matches!(&g.metadata["llama.attention.head_count_kv"], Value::Array(v) if v.len() == 2)
    );
}

#[test]
fn an_array_of_millions_of_strings_or_two_tensors_of_one_name_are_refused() {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // tensors
    b.extend_from_slice(&1u64.to_le_bytes()); // metadata entries
    b.extend_from_slice(&(5u64).to_le_bytes());
    b.extend_from_slice(b"vocab");
    b.extend_from_slice(&9u32.to_le_bytes()); // an array…
    b.extend_from_slice(&8u32.to_le_bytes()); // …of strings…
    b.extend_from_slice(&(5u64 << 20).to_le_bytes()); // …5 Mi of them,
    b.resize(b.len() + (6 << 20), 0); // and the bytes to make the count look possible.
    let err = inspect_bytes(&b).unwrap_err().to_string();
    assert!(err.contains("5242880 strings or arrays"), "{err}");

    // Short arrays inside an array add up like one long one: one budget for the whole file.
    let mut w = LlamaSpec::tiny().writer();
    // (Written as `Skipped`: zeros with the right headers, 600 arrays of 4000 bytes.)
    let short = Value::Skipped { elem_type: 0, count: 4000 };
    w.meta("hostile.nested", Value::Array(vec![short; 600]));
    let err = inspect_bytes(&w.to_bytes()).unwrap_err().to_string();
    assert!(err.contains("metadata values"), "{err}");

    let mut w = LlamaSpec::tiny().writer();
    w.tensor("output_norm.weight", &[64], TensorType::F32, write::Fill::Constant(1.0));
    let err = inspect_bytes(&w.to_bytes()).unwrap_err().to_string();
    assert!(err.contains("two tensors are named 'output_norm.weight'"), "{err}");
}
