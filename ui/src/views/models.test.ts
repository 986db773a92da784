import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { byId, fakeContext, fakeShell, reset, settle } from "../test-helpers";
import type { PullProgress } from "../types";
import { catalogOf, entry, item, progress } from "./models/fixtures";
import { modelsView } from "./models";

function mount() {
  const ctx = fakeContext();
  const view = modelsView(ctx);
  document.body.append(view.el);
  return { view, ctx };
}

/** Mounts the view, lets its event listener register, and shows it (both tables load). */
async function shown() {
  const m = mount();
  await settle();
  m.view.shown!();
  await settle();
  return m;
}

const download = (p: Partial<PullProgress>) => emit("fieldbrief://model-download", progress(p));

const q = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector(sel) as T | null;
const rows = (id: string) => Array.from(document.querySelectorAll<HTMLTableRowElement>(`tr[data-model='${id}']`));

describe("Models view: installed models", () => {
  afterEach(reset);

  it("shows size, quantization, context and which model is active; activates another", async () => {
    const shell = fakeShell({
      list_models: () => [
        entry({ active: true }),
        entry({ id: "tiny", info: null, problem: "truncated: header says 21 tensors", size_bytes: 1000 }),
        entry({ id: "phi-mini", version: "77" }),
      ],
      use_model: () => null,
      model_catalog: () => catalogOf([]),
    });
    const { view, ctx } = mount();
    await view.refresh();
    const active = document.querySelector("tr[data-model='qwen2.5-1.5b-q4']")!;
    expect(active.classList.contains("active")).toBe(true);
    expect(active.textContent).toContain("Q4_K_M");
    expect(active.textContent).toContain("32.8k tokens");
    expect(active.textContent).toContain("1.0 GiB");
    expect(active.textContent).toContain("Active");
    const broken = document.querySelector("tr[data-model='tiny']")!;
    expect(broken.textContent).toContain("Unusable: truncated: header says 21 tensors");
    expect(broken.querySelector(".use-model")).toBeNull();

    (document.querySelector(".use-model[data-model='phi-mini']") as HTMLElement).click();
    await settle();
    expect(shell.named("use_model")).toEqual([{ id: "phi-mini", version: "77" }]);
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

  it("imports a folder's models and names them, or says why the folder was refused", async () => {
    let answer: () => unknown = () => [entry({ version: "3", trust: "signed", active: true }), entry({ id: "phi-mini", version: "7", trust: "signed" })];
    const shell = fakeShell({ list_models: () => [], model_catalog: () => catalogOf([]), import_model_folder: () => answer() });
    const { view, ctx } = mount();
    await view.refresh();
    byId("import-model-folder").click();
    expect(byId<HTMLButtonElement>("import-model-folder").disabled).toBe(true);
    await settle();
    expect(shell.named("import_model_folder")).toHaveLength(1);
    expect(ctx.notify).toHaveBeenCalledWith("Imported 2 models: qwen2.5-1.5b-q4 3, phi-mini 7; qwen2.5-1.5b-q4 is now the active model");
    expect(byId<HTMLButtonElement>("import-model-folder").disabled).toBe(false);

    answer = () => Promise.reject({ kind: "bad_input", message: "/media/usb/catalog.json is an organisation catalog, but no public key is configured ([models] catalog_public_key); it is refused" });
    byId("import-model-folder").click();
    await settle();
    expect(byId("models-error").textContent).toContain("no public key is configured");
    expect(ctx.notify).toHaveBeenCalledTimes(1);
  });

  it("removes one version only after confirmation", async () => {
    const shell = fakeShell({ list_models: () => [entry({ active: true })], remove_model: () => null, model_catalog: () => catalogOf([]) });
    const { view, ctx } = mount();
    await view.refresh();
    (document.querySelector(".remove-model") as HTMLElement).click();
    expect(shell.named("remove_model")).toHaveLength(0);
    (document.querySelector(".confirm-remove") as HTMLElement).click();
    await settle();
    expect(shell.named("remove_model")).toEqual([{ id: "qwen2.5-1.5b-q4", version: "0123456789ab" }]);
    expect(ctx.refreshStatus).toHaveBeenCalled();
  });

  it("lists one row per version, with its trust, and marks trust on first use", async () => {
    const shell = fakeShell({
      list_models: () => [
        entry({ version: "1", current: false, installed_at: "2026-10-01T09:00:00Z" }),
        entry({ version: "2", active: true, trust: "signed", installed_at: "2026-11-20T09:00:00Z" }),
        entry({ id: "phi-mini", version: "7", trust: "first-use" }),
        entry({ id: "usb-model", version: "u1", trust: "imported", quarantined: true }),
      ],
      use_model: () => null,
      model_catalog: () => catalogOf([]),
    });
    const { view } = mount();
    await view.refresh();

    const qwen = rows("qwen2.5-1.5b-q4");
    expect(qwen).toHaveLength(2);
    // The current version first, whatever order the shell listed them in.
    expect(qwen.map((r) => r.dataset.version)).toEqual(["2", "1"]);
    expect(qwen[0].classList.contains("active")).toBe(true);
    expect(qwen[1].classList.contains("active")).toBe(false);
    expect(qwen[0].textContent).toContain("Active");
    expect(qwen[1].textContent).toContain("Kept for rollback");
    expect(qwen[0].querySelector(".trust-badge")!.textContent).toBe("Signed");
    expect(qwen[1].querySelector(".trust-badge")!.textContent).toBe("Verified");
    expect(document.querySelectorAll("tr.active")).toHaveLength(1);

    const phi = rows("phi-mini")[0];
    const badge = phi.querySelector<HTMLElement>(".trust-badge")!;
    expect(badge.textContent).toBe("Trust on first use");
    expect(badge.dataset.trust).toBe("first-use");
    expect(badge.title).toContain("nobody vouched");
    expect(byId("installed-tofu-note").hidden).toBe(false);
    expect(phi.textContent).toContain("Current version");

    const usb = rows("usb-model")[0];
    expect(usb.querySelector(".trust-badge")!.textContent).toBe("Imported");
    expect(usb.textContent).toContain("Quarantined");

    // Only the current version of an id with a version kept can be rolled back.
    expect(qwen[0].querySelector(".rollback-model")).not.toBeNull();
    expect(qwen[1].querySelector(".rollback-model")).toBeNull();
    expect(phi.querySelector(".rollback-model")).toBeNull();

    // Use on a kept version names that version.
    (qwen[1].querySelector(".use-model") as HTMLElement).click();
    await settle();
    expect(shell.named("use_model")).toEqual([{ id: "qwen2.5-1.5b-q4", version: "1" }]);
  });

  it("shows an automatic rollback, and rolls back on request", async () => {
    const rollback = { from_version: "3", to_version: "2", reason: "the new version failed its smoke test", at: "2026-11-21T10:42:00Z" };
    let current = "2";
    const shell = fakeShell({
      list_models: () => [
        entry({ version: "2", current: current === "2", active: current === "2", rollback }),
        entry({ version: "1", current: current === "1", active: current === "1", rollback }),
      ],
      rollback_model: (a) => {
        current = "1";
        return entry({ id: a.id as string, version: "1", active: true });
      },
      model_catalog: () => catalogOf([]),
    });
    const { view, ctx } = mount();
    await view.refresh();
    const notice = byId("rollback-notice-qwen2.5-1.5b-q4");
    expect(notice.textContent).toContain("Rolled back from 3 to 2: the new version failed its smoke test");
    expect(document.querySelectorAll(".rollback-notice")).toHaveLength(1);

    (q(".rollback-model[data-model='qwen2.5-1.5b-q4']") as HTMLElement).click();
    await settle();
    expect(shell.named("rollback_model")).toEqual([{ id: "qwen2.5-1.5b-q4" }]);
    expect(ctx.notify).toHaveBeenCalledWith("qwen2.5-1.5b-q4 rolled back to 1");
    expect(ctx.refreshStatus).toHaveBeenCalled();
    expect(rows("qwen2.5-1.5b-q4")[0].dataset.version).toBe("1");
    expect(rows("qwen2.5-1.5b-q4")[0].classList.contains("active")).toBe(true);

    // Dismissed, it stays dismissed.
    (notice.querySelector(".dismiss-rollback") as HTMLElement).click();
    await view.refresh();
    expect(document.getElementById("rollback-notice-qwen2.5-1.5b-q4")).toBeNull();
  });

  it("verifies the files and shows which ones do not match", async () => {
    const shell = fakeShell({
      list_models: () => [entry({ active: true }), entry({ id: "phi-mini", version: "7" })],
      verify_models: () => [
        { id: "qwen2.5-1.5b-q4", version: "0123456789ab", ok: true, expected: "ab".repeat(32), actual: "ab".repeat(32), problem: null },
        { id: "phi-mini", version: "7", ok: false, expected: "ef".repeat(32), actual: "00".repeat(32), problem: null },
      ],
    });
    const { view } = mount();
    await view.refresh();
    expect(byId("verify-results").hidden).toBe(true);
    byId("verify-models").click();
    await settle();
    expect(shell.named("verify_models")).toEqual([{ id: null }]);
    const results = byId("verify-results");
    expect(results.hidden).toBe(false);
    expect(results.textContent).toContain("1 of 2 model files do not match");
    expect(results.querySelector("li[data-model='qwen2.5-1.5b-q4']")!.textContent).toContain("OK");
    const bad = results.querySelector("li[data-model='phi-mini']")!;
    expect(bad.textContent).toContain("Corrupt");
    expect(bad.textContent).toContain(`Expected ${"ef".repeat(32)}`);
    expect(bad.textContent).toContain(`Found ${"00".repeat(32)}`);
    // The table is reloaded: a corrupt file may have been quarantined.
    expect(shell.named("list_models")).toHaveLength(2);
    expect(byId<HTMLButtonElement>("verify-models").disabled).toBe(false);
  });
});

describe("Models view: catalog and downloads", () => {
  afterEach(reset);

  it("lists the catalog with updates, trust on first use and memory warnings; downloads", async () => {
    const shell = fakeShell({
      list_models: () => [entry({ version: "1", active: true })],
      model_catalog: (a) =>
        catalogOf(
          [
            item({ installed: ["1"], current: "1", update_available: true }),
            item({ id: "phi-mini", version: "7", trust_on_first_use: true, sha256: null, licence: "MIT", min_ram_gb: 16, fits_ram: false, quantization: "Q8_0", context_length: 4096 }),
            item({ id: "gemma-2b", version: "3", installed: ["3"], current: "3" }),
          ],
          a.refresh ? { source: "organisation catalog https://it.example/catalog.json", signed_by: "Example Utilities IT" } : {},
        ),
      pull_model: () => null,
    });
    await shown();
    expect(shell.named("model_catalog")).toEqual([{ refresh: false }]);
    expect(byId("catalog-source").textContent).toContain("built-in catalog");

    const qwen = q("tr[data-catalog='qwen2.5-1.5b-q4']")!;
    expect(qwen.textContent).toContain("Update available");
    expect(qwen.textContent).toContain("You have 1");
    expect(qwen.textContent).toContain("Apache-2.0");
    expect(qwen.textContent).toContain("1.0 GiB");
    expect(qwen.querySelector(".trust-badge")).toBeNull();
    expect(qwen.querySelector(".pull-model")!.textContent).toBe("Update");

    const phi = q("tr[data-catalog='phi-mini']")!;
    expect(phi.querySelector(".trust-badge")!.textContent).toBe("Trust on first use");
    expect(phi.textContent).not.toContain("Update available");
    expect(phi.textContent).toContain("Q8_0");
    expect(phi.textContent).toContain("4.1k tokens");
    expect(phi.textContent).toContain("MIT");
    expect(phi.querySelector(".ram-warning")!.textContent).toContain("Needs 16 GB");
    expect(phi.querySelector(".pull-model")!.textContent).toBe("Download");
    expect(byId("catalog-tofu-note").hidden).toBe(false);

    const gemma = q("tr[data-catalog='gemma-2b']")!;
    expect(gemma.textContent).toContain("Installed");
    expect(gemma.querySelector(".pull-model")).toBeNull();
    expect(gemma.querySelector(".ram-warning")).toBeNull();

    byId("check-updates").click();
    await settle();
    expect(shell.named("model_catalog")).toEqual([{ refresh: false }, { refresh: true }]);
    expect(byId("catalog-source").textContent).toContain("signed by Example Utilities IT");
    expect(byId("catalog-state").textContent).toBe("1 update available.");

    (q("tr[data-catalog='qwen2.5-1.5b-q4'] .pull-model") as HTMLElement).click();
    await settle();
    expect(shell.named("pull_model")).toEqual([{ id: "qwen2.5-1.5b-q4", version: "2" }]);
    // Progress shows in the row at once, before the first event.
    const row = q("tr[data-catalog='qwen2.5-1.5b-q4']")!;
    expect(row.querySelector(".download-progress")).not.toBeNull();
    expect(row.querySelector(".download-state")!.textContent).toContain("Starting…");
    expect(row.querySelector(".pull-model")).toBeNull();
  });

  it("greys out what will not run here, and says where a staged rollout stands", async () => {
    fakeShell({
      list_models: () => [],
      model_catalog: () =>
        catalogOf([
          item({ id: "big", incompatible: ["needs Fieldbrief 9.0.0 or newer (this is 0.1.0)"], offered: false }),
          item({ id: "staged", current: "1", installed: ["1"], update_available: true, offered: false, rollout: "staged: 5 %, this laptop is not in it yet" }),
          item({ id: "everyone" }),
        ]),
    });
    await shown();
    const big = q("tr[data-catalog='big']")!;
    expect(big.classList.contains("incompatible")).toBe(true);
    expect(big.querySelector(".incompatible-why")!.textContent).toBe("Will not run on this laptop: needs Fieldbrief 9.0.0 or newer (this is 0.1.0)");
    expect(big.querySelector(".pull-model")).toBeNull();
    const staged = q("tr[data-catalog='staged']")!;
    expect(staged.querySelector(".rollout")!.textContent).toBe("Staged: 5 %, this laptop is not in it yet");
    expect(staged.classList.contains("incompatible")).toBe(false);
    const everyone = q("tr[data-catalog='everyone']")!;
    expect(everyone.querySelector(".rollout")).toBeNull();
    expect(everyone.querySelector(".pull-model")!.textContent).toBe("Download");
    // An update this laptop is not offered yet is not counted as one.
    byId("check-updates").click();
    await settle();
    expect(byId("catalog-state").textContent).toBe("Everything is up to date.");
  });

  it("warns when the organisation catalog was refused, and still lists the built-in one", async () => {
    fakeShell({
      list_models: () => [],
      model_catalog: () =>
        catalogOf([item({})], { error: "the catalog's signature does not match the organisation key", metered: true }),
    });
    await shown();
    byId("check-updates").click();
    await settle();
    const warning = byId("catalog-error");
    expect(warning.hidden).toBe(false);
    expect(warning.textContent).toContain("signature does not match the organisation key");
    expect(byId("catalog-state").textContent).toBe("Could not use the organisation catalog.");
    expect(q("tr[data-catalog='qwen2.5-1.5b-q4']")).not.toBeNull();
    expect(byId("catalog-metered").hidden).toBe(false);
  });

  it("shows download progress, rate and time left; pauses, resumes and cancels", async () => {
    const shell = fakeShell({
      list_models: () => [],
      model_catalog: () => catalogOf([item({})]),
      pull_model: () => null,
      pause_download: () => null,
      cancel_download: () => null,
    });
    await shown();

    await download({ downloaded: 250_000_000, total: 1_000_000_000, rate_bps: 3_200_000, eta_s: 120 });
    await settle();
    const row = q("tr[data-catalog='qwen2.5-1.5b-q4']")!;
    const bar = row.querySelector<HTMLProgressElement>("progress.download-progress")!;
    expect(bar.max).toBe(1_000_000_000);
    expect(bar.value).toBe(250_000_000);
    expect(bar.getAttribute("aria-label")).toBe("Download of qwen2.5-1.5b-q4 2");
    const text = row.querySelector(".download-text")!.textContent!;
    expect(text).toContain("238 MiB of 954 MiB");
    expect(text).toContain("3.2 MB/s");
    expect(text).toContain("about 2 min left");
    expect(row.querySelector(".download-state")!.getAttribute("aria-live")).toBe("polite");

    // The same bar moves on; it is not rebuilt.
    await download({ downloaded: 500_000_000, rate_bps: 2_000_000, eta_s: 250 });
    await settle();
    expect(row.querySelector("progress")).toBe(bar);
    expect(bar.value).toBe(500_000_000);
    expect(row.querySelector(".download-text")!.textContent).toContain("about 4 min left");

    await download({ state: "retrying", downloaded: 500_000_000, message: "connection reset" });
    await settle();
    expect(row.querySelector(".download-state")!.textContent).toContain("Retrying… (connection reset)");
    expect(row.querySelector(".download-text")!.textContent).not.toContain("MB/s");

    const pause = row.querySelector<HTMLButtonElement>(".pause-download")!;
    const resume = row.querySelector<HTMLButtonElement>(".resume-download")!;
    expect(pause.hidden).toBe(false);
    expect(resume.hidden).toBe(true);
    pause.click();
    await settle();
    expect(shell.named("pause_download")).toEqual([{ id: "qwen2.5-1.5b-q4" }]);
    expect(row.querySelector(".download-state")!.textContent).toContain("Paused");
    expect(pause.hidden).toBe(true);
    expect(resume.hidden).toBe(false);

    resume.click();
    await settle();
    expect(shell.named("pull_model")).toEqual([{ id: "qwen2.5-1.5b-q4", version: "2" }]);
    expect(pause.hidden).toBe(false);

    await download({ state: "verifying", downloaded: 1_000_000_000 });
    await settle();
    expect(row.querySelector(".download-state")!.textContent).toContain("Verifying…");
    await download({ state: "testing", downloaded: 1_000_000_000 });
    await settle();
    expect(row.querySelector(".download-state")!.textContent).toContain("Testing the model…");
    expect(pause.hidden).toBe(true);

    await download({ state: "downloading", downloaded: 600_000_000 });
    await settle();
    row.querySelector<HTMLButtonElement>(".cancel-download")!.click();
    await settle();
    expect(shell.named("cancel_download")).toEqual([{ id: "qwen2.5-1.5b-q4" }]);
    expect(row.querySelector(".download-progress")).toBeNull();
    expect(row.querySelector(".pull-model")).not.toBeNull();
  });

  it("offers to resume a download paused in an earlier session", async () => {
    const shell = fakeShell({
      list_models: () => [],
      model_catalog: () => catalogOf([item({ download: progress({ state: "paused", downloaded: 400_000_000 }) })]),
      pull_model: () => null,
    });
    await shown();
    const row = q("tr[data-catalog='qwen2.5-1.5b-q4']")!;
    const bar = row.querySelector<HTMLProgressElement>(".download-progress")!;
    expect(bar.value).toBe(400_000_000);
    expect(row.querySelector(".download-state")!.textContent).toContain("Paused");
    expect(row.querySelector<HTMLButtonElement>(".pause-download")!.hidden).toBe(true);
    expect(row.querySelector<HTMLButtonElement>(".cancel-download")!.hidden).toBe(false);
    expect(row.querySelector(".pull-model")).toBeNull();
    row.querySelector<HTMLButtonElement>(".resume-download")!.click();
    await settle();
    expect(shell.named("pull_model")).toEqual([{ id: "qwen2.5-1.5b-q4", version: "2" }]);
  });

  it("shows a download the catalog does not list in the downloads list", async () => {
    fakeShell({ list_models: () => [], model_catalog: () => catalogOf([]) });
    await shown();
    expect(byId("downloads").hidden).toBe(true);
    await download({ id: "custom-model", version: "9", downloaded: 10, total: null });
    await settle();
    expect(byId("downloads").hidden).toBe(false);
    const bar = q<HTMLProgressElement>("#downloads li[data-download='custom-model'] progress.download-progress")!;
    expect(bar.hasAttribute("value")).toBe(false); // size unknown: indeterminate
    await download({ id: "custom-model", version: "9", state: "cancelled" });
    await settle();
    expect(byId("downloads").hidden).toBe(true);
  });

  it("refreshes both tables and the status bar when a download is installed", async () => {
    let installed = false;
    const shell = fakeShell({
      list_models: () => (installed ? [entry({ version: "2", active: true })] : []),
      model_catalog: () => catalogOf([item(installed ? { installed: ["2"], current: "2" } : {})]),
    });
    const { ctx } = await shown();
    await download({ downloaded: 10 });
    await settle();
    expect(q("tr[data-catalog='qwen2.5-1.5b-q4'] .download-progress")).not.toBeNull();
    installed = true;
    await download({ state: "installed", downloaded: 1_000_000_000 });
    await settle();
    expect(ctx.notify).toHaveBeenCalledWith("qwen2.5-1.5b-q4 2 is installed");
    expect(ctx.refreshStatus).toHaveBeenCalled();
    expect(shell.named("list_models")).toHaveLength(2);
    expect(shell.named("model_catalog")).toHaveLength(2);
    expect(rows("qwen2.5-1.5b-q4")[0].classList.contains("active")).toBe(true);
    const row = q("tr[data-catalog='qwen2.5-1.5b-q4']")!;
    expect(row.querySelector(".download-progress")).toBeNull();
    expect(row.textContent).toContain("Installed");
  });

  it("shows why a download failed", async () => {
    fakeShell({ list_models: () => [], model_catalog: () => catalogOf([item({})]) });
    await shown();
    await download({ downloaded: 10 });
    await settle();
    expect(byId("models-error").hidden).toBe(true);
    await download({ state: "failed", message: "the file's hash does not match the catalog" });
    await settle();
    expect(byId("models-error").hidden).toBe(false);
    expect(byId("models-error").textContent).toContain("Could not download qwen2.5-1.5b-q4 2: the file's hash does not match the catalog");
    expect(q("tr[data-catalog='qwen2.5-1.5b-q4'] .download-progress")).toBeNull();
  });
});
