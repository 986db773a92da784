//! Writes a generated GGUF model: `make-model tiny|synthetic-1b|wrong-magic|truncated|missing-key|absurd|no-byte-tokens PATH`.

use fieldbrief_gguf::write::{LlamaSpec, corrupt};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!(
            "usage: make-model tiny|synthetic-1b|wrong-magic|truncated|missing-key|absurd|no-byte-tokens PATH"
        );
        std::process::exit(2);
    };
    let bytes = match kind.as_str() {
        "tiny" => return LlamaSpec::tiny().write(path.as_ref()),
        "synthetic-1b" => return LlamaSpec::synthetic_1b().write(path.as_ref()),
        "wrong-magic" => corrupt::wrong_magic(),
        "truncated" => corrupt::truncated(0.5),
        "missing-key" => corrupt::missing_key("llama.context_length"),
        "absurd" => corrupt::absurd_tensor_size(),
        "no-byte-tokens" => corrupt::without_byte_tokens(),
        "duplicate-token" => corrupt::duplicate_token(),
        other => {
            eprintln!("unknown kind {other}");
            std::process::exit(2);
        }
    };
    std::fs::write(path, bytes)
}
