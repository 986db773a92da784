// Test data for the Models view's tests: one installed version, one catalog item, a catalog,
// a download's progress; each with the fields a test cares about overridden.

import type { CatalogItem, CatalogView, PullProgress, ModelEntry } from "../../types";

export const entry = (over: Partial<ModelEntry>): ModelEntry => ({
  id: "qwen2.5-1.5b-q4",
  version: "0123456789ab",
  path: "/home/tech/.local/share/fieldbrief/models/qwen2.5-1.5b-q4.gguf",
  size_bytes: 1_100_000_000,
  active: false,
  current: true,
  quarantined: false,
  sha256: "ab".repeat(32),
  trust: "verified",
  installed_at: "2026-11-20T09:00:00Z",
  source: "https://models.example/qwen2.5-1.5b-q4.gguf",
  rollback: null,
  info: {
    architecture: "qwen2",
    name: "Qwen2.5 1.5B Instruct",
    context_length: 32768,
    embedding_length: 1536,
    block_count: 28,
    vocab_size: 151936,
    parameters: 1_540_000_000,
    quantization: "Q4_K_M",
    tensor_count: 339,
    file_size: 1_100_000_000,
    chat_template: null,
    chat_format: "chat_ml",
    kv_bytes_per_token: 28672,
  },
  problem: null,
  ...over,
});

export const item = (over: Partial<CatalogItem>): CatalogItem => ({
  id: "qwen2.5-1.5b-q4",
  version: "2",
  url: "https://models.example/qwen2.5-1.5b-q4-v2.gguf",
  sha256: "cd".repeat(32),
  size: 1_100_000_000,
  size_bytes: 1_100_000_000,
  quantization: "Q4_K_M",
  context_length: 32768,
  licence: "Apache-2.0",
  min_ram_gb: 4,
  prompt_template: "chatml",
  description: "Small and quick; good for short notes.",
  trust_on_first_use: false,
  auto_install: false,
  installed: [],
  current: null,
  update_available: false,
  fits_ram: true,
  incompatible: [],
  offered: true,
  rollout: "offered to every laptop",
  download: null,
  ...over,
});

export const catalogOf = (entries: CatalogItem[], over: Partial<CatalogView> = {}): CatalogView => ({
  source: "built-in catalog",
  signed_by: null,
  error: null,
  metered: false,
  entries,
  ...over,
});

export const progress = (over: Partial<PullProgress>): PullProgress => ({
  id: "qwen2.5-1.5b-q4",
  version: "2",
  state: "downloading",
  downloaded: 0,
  total: 1_000_000_000,
  rate_bps: 0,
  eta_s: null,
  message: null,
  ...over,
});
