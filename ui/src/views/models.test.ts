import { afterEach, describe, expect, it } from "vitest";
import { byId, fakeContext, fakeShell, reset, settle } from "../test-helpers";
import type { ModelEntry } from "../types";
import { modelsView } from "./models";

const entry = (over: Partial<ModelEntry>): ModelEntry => ({
  id: "qwen2.5-1.5b-q4",
  version: "0123456789ab",
  path: "/home/tech/.local/share/fieldbrief/models/qwen2.5-1.5b-q4.gguf",
  size_bytes: 1_100_000_000,
  active: false,
  quarantined: false,
  info: { architecture: "qwen2", name: "Qwen2.5 1.5B Instruct", context_length: 32768, parameters: 1_540_000_000, quantization: "Q4_K_M", file_size: 1_100_000_000 },
  problem: null,
  ...over,
});

function mount() {
  const ctx = fakeContext();
  const view = modelsView(ctx);
  document.body.append(view.el);
  return { view, ctx };
}

describe("Models view", () => {
  afterEach(reset);

  it("shows size, quantization, context and which model is active; activates another", async () => {
    const shell = fakeShell({
      list_models: () => [
        entry({ active: true }),
        entry({ id: "tiny", info: null, problem: "truncated: header says 21 tensors", size_bytes: 1000 }),
        entry({ id: "phi-mini" }),
      ],
      use_model: () => null,
    });
    const { view, ctx } = mount();
    await view.refresh();
    const active = document.querySelector("tr[data-model='qwen2.5-1.5b-q4']")!;
    expect(active.textContent).toContain("Q4_K_M");
    expect(active.textContent).toContain("32.8k tokens");
    expect(active.textContent).toContain("1.0 GiB");
    expect(active.textContent).toContain("Active");
    const broken = document.querySelector("tr[data-model='tiny']")!;
    expect(broken.textContent).toContain("Unusable: truncated: header says 21 tensors");
    expect(broken.querySelector(".use-model")).toBeNull();

    (document.querySelector(".use-model[data-model='phi-mini']") as HTMLElement).click();
    await settle();
    expect(shell.named("use_model")).toEqual([{ id: "phi-mini" }]);
    expect(ctx.refreshStatus).toHaveBeenCalled();
  });

  it("says why an imported file was refused, and shows the empty state", async () => {
    fakeShell({
      list_models: () => [],
      import_model: () => Promise.reject({ kind: "bad_input", message: "Invalid model file /media/usb/x.gguf: not a GGUF file (magic 'PK\\u3\\u4')" }),
    });
    const { view } = mount();
    await view.refresh();
    expect(byId("models-empty").hidden).toBe(false);
    byId("import-model").click();
    await settle();
    expect(byId("models-error").textContent).toContain("not a GGUF file");
    expect(byId<HTMLButtonElement>("import-model").disabled).toBe(false);
  });

  it("removes a model only after confirmation", async () => {
    const shell = fakeShell({ list_models: () => [entry({ active: true })], remove_model: () => null });
    const { view, ctx } = mount();
    await view.refresh();
    (document.querySelector(".remove-model") as HTMLElement).click();
    expect(shell.named("remove_model")).toHaveLength(0);
    (document.querySelector(".confirm-remove") as HTMLElement).click();
    await settle();
    expect(shell.named("remove_model")).toEqual([{ id: "qwen2.5-1.5b-q4" }]);
    expect(ctx.refreshStatus).toHaveBeenCalled();
  });
});
