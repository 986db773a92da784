// The Models view: installed GGUF models, one row per version, with size, quantization, context
// length and where their hash came from; import from disk (a USB stick), activate, roll back,
// remove, check the files. Below, the catalog: download, update, with progress that survives a
// pause (the laptop is often offline or on a metered link).

import { h, clear } from "../dom";
import { onModelDownload, toUiError } from "../api";
import { errorBox, type Context, type View } from "../context";
import { formatBytes, formatCount, formatEta, formatRate, formatWhen } from "../format";
import type { CatalogItem, CatalogView, DownloadProgress, DownloadState, ModelEntry, ModelTrust, UiError, VerifyReport } from "../types";

export const TRUST_LABELS: Record<ModelTrust, string> = {
  verified: "Verified",
  signed: "Signed",
  "first-use": "Trust on first use",
  imported: "Imported",
};

const TRUST_MEANINGS: Record<ModelTrust, string> = {
  verified: "Its hash matches the one published in Fieldbrief's built-in catalog.",
  signed: "Its hash matches the one in your organisation's signed catalog.",
  "first-use":
    "No hash was published for this file: the hash computed when it downloaded is pinned, so later changes are caught, but nobody vouched for the copy that arrived.",
  imported: "Imported from disk; no catalog published its hash.",
};

const TOFU_NOTE =
  "Trust on first use: no catalog publishes a hash for these files, so the download cannot be checked against one. Fieldbrief pins the hash of the copy it got and catches any later change. Only use them if you trust where they came from.";

export const DOWNLOAD_STATES: Record<DownloadState, string> = {
  starting: "Starting…",
  downloading: "Downloading…",
  retrying: "Retrying…",
  paused: "Paused",
  verifying: "Verifying…",
  testing: "Testing the model…",
  installed: "Installed",
  failed: "Failed",
  cancelled: "Cancelled",
};

const RUNNING: DownloadState[] = ["starting", "downloading", "retrying"];
const LIVE: DownloadState[] = [...RUNNING, "paused", "verifying", "testing"];

const DISMISSED_KEY = "fieldbrief.dismissedRollbacks";

/** The line under a download's bar: bytes so far, and while it moves, rate and time left. */
export function downloadDetail(p: DownloadProgress): string {
  const parts = [p.total ? `${formatBytes(p.downloaded)} of ${formatBytes(p.total)}` : formatBytes(p.downloaded)];
  if (p.state === "downloading") {
    if (p.rate_bps > 0) parts.push(formatRate(p.rate_bps));
    const eta = formatEta(p.eta_s);
    if (eta) parts.push(eta);
  }
  return parts.join(" · ");
}

interface DownloadWidget {
  el: HTMLElement;
  progress: DownloadProgress;
  update: (p: DownloadProgress) => void;
  focus: () => void;
}

export function modelsView(ctx: Context): View & { refresh: () => Promise<void>; loadCatalog: (refresh?: boolean) => Promise<void> } {
  const errors = errorBox("models-error");
  const importing = h("span", { id: "import-state", class: "muted", "aria-live": "polite" });
  const importButton = h("button", { type: "button", id: "import-model", class: "primary", onclick: () => void importModel() }, "Import GGUF model…");
  const importFolderButton = h(
    "button",
    { type: "button", id: "import-model-folder", title: "A folder such as a USB stick: a signed catalog.json in it installs its models under the catalog's versions and hashes", onclick: () => void importFolder() },
    "Import folder…",
  );
  const verifyButton = h("button", { type: "button", id: "verify-models", onclick: () => void verify() }, "Verify files");
  const notices = h("div", { id: "rollback-notices" });
  const verifyResults = h("div", { id: "verify-results", class: "verify-results", role: "status", "aria-live": "polite", hidden: true });
  const body = h("tbody", { id: "models-body" });
  const empty = h(
    "p",
    { id: "models-empty", class: "muted", hidden: true },
    "No local model yet: summaries are extractive (sentences picked from the note). Import a GGUF model, e.g. from a USB stick, or download one from the catalog below, to have a language model write them on this laptop.",
  );
  const table = h(
    "table",
    { id: "models-table", class: "table" },
    h(
      "thead",
      {},
      h("tr", {}, ...["Model", "Version", "Trust", "Quantization", "Parameters", "Context", "Size", "State", ""].map((t) => h("th", { scope: "col" }, t))),
    ),
    body,
  );
  const installedTofu = h("p", { id: "installed-tofu-note", class: "muted small", hidden: true }, TOFU_NOTE);

  // The catalog.
  const checkButton = h("button", { type: "button", id: "check-updates", onclick: () => void loadCatalog(true) }, "Check for updates");
  const catalogState = h("span", { id: "catalog-state", class: "muted", "aria-live": "polite" });
  const catalogSource = h("p", { id: "catalog-source", class: "muted" });
  const catalogMetered = h(
    "p",
    { id: "catalog-metered", class: "muted", hidden: true },
    "This connection is marked as metered: nothing downloads unless you start it.",
  );
  const catalogError = h("div", { id: "catalog-error", class: "warning", role: "alert", hidden: true });
  const catalogBody = h("tbody", { id: "catalog-body" });
  const catalogTable = h(
    "table",
    { id: "catalog-table", class: "table", hidden: true },
    h(
      "thead",
      {},
      h("tr", {}, ...["Model", "Version", "Size", "Quantization", "Context", "Licence", "Memory", "On this laptop", ""].map((t) => h("th", { scope: "col" }, t))),
    ),
    catalogBody,
  );
  const catalogEmpty = h("p", { id: "catalog-empty", class: "muted", hidden: true }, "The catalog lists no models.");
  const catalogTofu = h("p", { id: "catalog-tofu-note", class: "muted small", hidden: true }, TOFU_NOTE);
  const otherDownloads = h("ul", { id: "downloads", class: "downloads", "aria-label": "Other downloads", hidden: true });
  const catalogSection = h(
    "section",
    { id: "catalog", "aria-labelledby": "catalog-heading" },
    h("h2", { id: "catalog-heading" }, "Catalog"),
    h("div", { class: "toolbar" }, checkButton, catalogState),
    catalogSource,
    catalogMetered,
    catalogError,
    catalogEmpty,
    catalogTable,
    catalogTofu,
    otherDownloads,
  );

  const el = h(
    "section",
    { id: "view-models", class: "view", "aria-label": "Models" },
    h("h2", {}, "On this laptop"),
    h("div", { class: "toolbar" }, importButton, importFolderButton, verifyButton, importing),
    errors.el,
    notices,
    verifyResults,
    empty,
    table,
    installedTofu,
    catalogSection,
  );

  let catalog: CatalogView | null = null;
  /** Downloads running or paused, by model id (the shell runs at most one per id). */
  const downloads = new Map<string, DownloadWidget>();
  /** The catalog rows' action cells, by model id: where a download's progress shows. */
  const actionCells = new Map<string, HTMLElement>();

  // ---- Installed models ----

  function trustBadge(trust: ModelTrust) {
    return h("span", { class: "badge trust-badge", "data-trust": trust, title: TRUST_MEANINGS[trust] }, TRUST_LABELS[trust] ?? trust);
  }

  function row(m: ModelEntry, all: ModelEntry[]) {
    const primary = m.problem
      ? h("span", { class: "bad" }, `Unusable: ${m.problem}`)
      : m.quarantined
        ? h("span", { class: "bad" }, "Quarantined: it failed a check or crashed the engine")
        : m.active
          ? h("strong", {}, "Active")
          : m.current
            ? h("span", {}, "Current version")
            : h("span", { class: "muted" }, "Kept for rollback");
    const secondary = (m.problem || m.quarantined) && h("div", { class: "muted" }, m.current ? "Current version" : "Kept for rollback");
    const label = `${m.id} ${m.version}`;
    const actions = h("td", { class: "actions" });
    if (!m.active && !m.problem) {
      actions.append(
        h("button", { type: "button", class: "use-model", "data-model": m.id, "data-version": m.version, "aria-label": `Use ${label}`, onclick: () => void use(m.id, m.version) }, "Use"),
      );
    }
    const kept = all.some((o) => o.id === m.id && !o.current && !o.problem);
    if (m.current && kept) {
      actions.append(
        h(
          "button",
          { type: "button", class: "rollback-model", "data-model": m.id, "aria-label": `Roll back ${m.id} to its previous version`, onclick: () => void rollback(m.id) },
          "Roll back",
        ),
      );
    }
    const confirmBox = h("span", { class: "confirm", hidden: true });
    const removeButton = h("button", { type: "button", class: "remove-model danger", "data-model": m.id, "data-version": m.version, "aria-label": `Remove ${label}…`, onclick: () => {
      clear(
        confirmBox,
        h("button", { type: "button", class: "danger confirm-remove", onclick: () => void remove(m.id, m.version) }, `Delete ${formatBytes(m.size_bytes)}`),
        h("button", { type: "button", onclick: () => { confirmBox.hidden = true; removeButton.hidden = false; removeButton.focus(); } }, "Keep"),
      );
      confirmBox.hidden = false;
      removeButton.hidden = true;
      (confirmBox.firstElementChild as HTMLElement).focus();
    } }, "Remove…");
    actions.append(removeButton, confirmBox);
    const i = m.info;
    const classes = [m.active ? "active" : "", m.current ? "current" : "kept"].filter(Boolean).join(" ");
    return h(
      "tr",
      { "data-model": m.id, "data-version": m.version, class: classes },
      h("th", { scope: "row" }, m.id, i?.name && i.name !== m.id ? h("div", { class: "muted" }, i.name) : null),
      h("td", {}, h("span", { class: "mono" }, m.version), m.installed_at ? h("div", { class: "muted", title: m.source }, formatWhen(m.installed_at)) : null),
      h("td", {}, trustBadge(m.trust)),
      h("td", {}, i?.quantization ?? "—"),
      h("td", {}, i ? formatCount(i.parameters) : "—"),
      h("td", {}, i ? `${formatCount(i.context_length)} tokens` : "—"),
      h("td", {}, formatBytes(m.size_bytes)),
      h("td", {}, primary, secondary),
      actions,
    );
  }

  /** Versions of one id together, in the order the ids first come; its current version first. */
  function grouped(models: ModelEntry[]): ModelEntry[] {
    const order = new Map<string, number>();
    models.forEach((m) => order.has(m.id) || order.set(m.id, order.size));
    return [...models].sort(
      (a, b) =>
        order.get(a.id)! - order.get(b.id)! ||
        Number(b.current) - Number(a.current) ||
        (b.installed_at ?? "").localeCompare(a.installed_at ?? ""),
    );
  }

  function dismissed(): string[] {
    try {
      const v = JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? "[]");
      return Array.isArray(v) ? v.map(String) : [];
    } catch {
      return [];
    }
  }

  function renderNotices(models: ModelEntry[]) {
    const seen = new Set<string>();
    const hidden = dismissed();
    const items: HTMLElement[] = [];
    for (const m of models) {
      const r = m.rollback;
      if (!r || seen.has(m.id)) continue;
      seen.add(m.id);
      const key = `${m.id}@${r.at}`;
      if (hidden.includes(key)) continue;
      const notice: HTMLElement = h(
        "div",
        { id: `rollback-notice-${m.id}`, class: "warning rollback-notice", "data-model": m.id },
        h(
          "span",
          {},
          h("strong", {}, m.id),
          ` — Rolled back from ${r.from_version} to ${r.to_version}: ${r.reason}`,
          h("span", { class: "muted" }, ` (${formatWhen(r.at)})`),
        ),
        h("button", { type: "button", class: "dismiss-rollback", "aria-label": `Dismiss the rollback notice for ${m.id}`, onclick: () => {
          localStorage.setItem(DISMISSED_KEY, JSON.stringify([...dismissed(), key].slice(-50)));
          notice.remove();
          importButton.focus();
        } }, "Dismiss"),
      );
      items.push(notice);
    }
    clear(notices, ...items);
  }

  async function refresh() {
    try {
      const models = grouped(await ctx.api.models());
      clear(body, ...models.map((m) => row(m, models)));
      renderNotices(models);
      empty.hidden = models.length > 0;
      table.hidden = models.length === 0;
      installedTofu.hidden = !models.some((m) => m.trust === "first-use");
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function importModel() {
    errors.clear();
    importButton.disabled = importFolderButton.disabled = true;
    importing.textContent = "Checking, copying and testing the model…";
    try {
      const m = await ctx.api.importModel();
      if (m) ctx.notify(`Imported ${m.id}${m.active ? "; it is now the active model" : ""}`);
      await refresh();
      void loadCatalog(false);
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e as UiError);
      // What was installed before the failure is listed all the same.
      void refresh();
    } finally {
      importButton.disabled = importFolderButton.disabled = false;
      importing.textContent = "";
    }
  }

  async function importFolder() {
    errors.clear();
    importButton.disabled = importFolderButton.disabled = true;
    importing.textContent = "Checking, copying and testing the folder's models…";
    try {
      const imported = await ctx.api.importModelFolder();
      if (imported.length > 0) {
        const names = imported.map((m) => `${m.id} ${m.version}`).join(", ");
        const active = imported.find((m) => m.active);
        ctx.notify(`Imported ${imported.length === 1 ? "1 model" : `${imported.length} models`}: ${names}${active ? `; ${active.id} is now the active model` : ""}`);
      }
      await refresh();
      void loadCatalog(false);
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e as UiError);
      // Models installed before the one that failed are listed all the same.
      void refresh();
      void loadCatalog(false);
    } finally {
      importButton.disabled = importFolderButton.disabled = false;
      importing.textContent = "";
    }
  }

  async function use(id: string, version: string) {
    errors.clear();
    try {
      await ctx.api.useModel(id, version);
      ctx.notify(`${id} ${version} is now the active model`);
      await refresh();
      void loadCatalog(false);
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function rollback(id: string) {
    errors.clear();
    try {
      const now = await ctx.api.rollbackModel(id);
      ctx.notify(`${id} rolled back to ${now.version}`);
      await refresh();
      void loadCatalog(false);
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function remove(id: string, version: string) {
    errors.clear();
    try {
      await ctx.api.removeModel(id, version);
      ctx.notify(`${id} ${version} removed`);
      await refresh();
      void loadCatalog(false);
      ctx.refreshStatus();
      importButton.focus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  function showVerify(reports: VerifyReport[]) {
    const bad = reports.filter((r) => !r.ok);
    const headline =
      reports.length === 0
        ? "No model files to check."
        : bad.length === 0
          ? `All ${reports.length} model files match their recorded hashes.`
          : `${bad.length} of ${reports.length} model files do not match their recorded hashes.`;
    clear(
      verifyResults,
      h("p", { class: bad.length ? "bad verify-headline" : "verify-headline" }, headline),
      reports.length
        ? h(
            "ul",
            {},
            ...reports.map((r) =>
              h(
                "li",
                { class: r.ok ? "verify-ok" : "verify-bad", "data-model": r.id, "data-version": r.version },
                h("strong", {}, `${r.id} ${r.version}: `),
                r.ok
                  ? "OK"
                  : h(
                      "span",
                      {},
                      h("span", { class: "bad" }, r.actual === null ? "Missing or unreadable" : "Corrupt"),
                      h("div", { class: "hash-line" }, "Expected ", h("code", { class: "mono hash" }, r.expected)),
                      h("div", { class: "hash-line" }, "Found ", r.actual === null ? "nothing readable" : h("code", { class: "mono hash" }, r.actual)),
                    ),
                r.problem ? h("div", { class: "muted" }, r.problem) : null,
              ),
            ),
          )
        : null,
    );
    verifyResults.hidden = false;
  }

  async function verify() {
    errors.clear();
    verifyButton.disabled = true;
    importing.textContent = "Checking the model files…";
    try {
      showVerify(await ctx.api.verifyModels(null));
      await refresh(); // a corrupt file may now be quarantined
    } catch (e) {
      errors.show(e as UiError);
    } finally {
      verifyButton.disabled = false;
      importing.textContent = "";
    }
  }

  // ---- Downloads ----

  function downloadWidget(initial: DownloadProgress): DownloadWidget {
    const id = initial.id;
    const bar = h("progress", { class: "download-progress" });
    const state = h("span", { class: "download-state", "aria-live": "polite" });
    const detail = h("span", { class: "download-detail muted" });
    const pause = h("button", { type: "button", class: "pause-download", "aria-label": `Pause download of ${id}`, onclick: () => void pauseDownload(id) }, "Pause");
    const resume = h("button", { type: "button", class: "resume-download", "aria-label": `Resume download of ${id}`, onclick: () => void resumeDownload(id) }, "Resume");
    const cancel = h(
      "button",
      { type: "button", class: "cancel-download", "aria-label": `Cancel download of ${id}`, title: "Stop and delete the partial file", onclick: () => void cancelDownload(id) },
      "Cancel",
    );
    const el = h(
      "div",
      { class: "download", "data-download": id, tabindex: -1 },
      bar,
      h("div", { class: "download-text" }, state, " ", detail),
      h("div", { class: "download-actions" }, pause, resume, cancel),
    );
    const w: DownloadWidget = {
      el,
      progress: initial,
      update(p) {
        w.progress = p;
        el.dataset.state = p.state;
        el.dataset.version = p.version;
        bar.setAttribute("aria-label", `Download of ${p.id} ${p.version}`);
        if (p.total && p.total > 0) {
          bar.max = p.total;
          bar.value = Math.min(p.downloaded, p.total);
        } else {
          bar.removeAttribute("value"); // size unknown: an indeterminate bar
        }
        const text = downloadDetail(p);
        bar.setAttribute("aria-valuetext", text);
        detail.textContent = text;
        // The live region changes only with the state, not with every byte.
        const stateText = `${p.id} ${p.version}: ${DOWNLOAD_STATES[p.state] ?? p.state}${p.message ? ` (${p.message})` : ""}`;
        if (state.textContent !== stateText) state.textContent = stateText;
        const focused = document.activeElement;
        pause.hidden = !RUNNING.includes(p.state);
        resume.hidden = p.state !== "paused";
        cancel.hidden = !(RUNNING.includes(p.state) || p.state === "paused");
        if (focused instanceof HTMLElement && el.contains(focused) && focused.hidden) w.focus();
      },
      focus() {
        ([resume, pause, cancel].find((b) => !b.hidden) ?? el).focus();
      },
    };
    w.update(initial);
    return w;
  }

  function catalogActions(item: CatalogItem): HTMLElement[] {
    const w = downloads.get(item.id);
    if (w) return [w.el];
    if (item.installed.includes(item.version)) return [];
    const label = item.update_available ? "Update" : "Download";
    return [
      h(
        "button",
        {
          type: "button",
          class: item.update_available ? "pull-model primary" : "pull-model",
          "data-catalog": item.id,
          "aria-label": `${label} ${item.id} ${item.version} (${formatBytes(item.size_bytes)})`,
          onclick: () => void pull(item),
        },
        label,
      ),
    ];
  }

  /** Puts id's download (or its Download button) where it belongs: its catalog row, else the list below. */
  function placeDownload(id: string) {
    const item = catalog?.entries.find((e) => e.id === id);
    const cell = actionCells.get(id);
    if (item && cell) {
      clear(cell, ...catalogActions(item));
    } else {
      for (const li of Array.from(otherDownloads.children)) {
        if ((li as HTMLElement).dataset.download === id) li.remove();
      }
      const w = downloads.get(id);
      if (w) otherDownloads.append(h("li", { "data-download": id }, w.el));
    }
    otherDownloads.hidden = otherDownloads.children.length === 0;
  }

  function setDownload(p: DownloadProgress) {
    const w = downloads.get(p.id);
    if (w) {
      w.update(p);
      return;
    }
    downloads.set(p.id, downloadWidget(p));
    placeDownload(p.id);
  }

  function removeDownload(id: string) {
    const w = downloads.get(id);
    if (!w) return;
    const hadFocus = w.el.contains(document.activeElement);
    downloads.delete(id);
    w.el.remove();
    placeDownload(id);
    if (hadFocus) {
      const button = actionCells.get(id)?.querySelector("button");
      (button ?? checkButton).focus();
    }
  }

  function onProgress(p: DownloadProgress) {
    switch (p.state) {
      case "installed":
        removeDownload(p.id);
        ctx.notify(`${p.id} ${p.version} is installed`);
        void refresh();
        void loadCatalog(false);
        ctx.refreshStatus();
        break;
      case "failed":
        removeDownload(p.id);
        errors.show(`Could not download ${p.id} ${p.version}: ${p.message ?? "no reason was given."}`);
        void loadCatalog(false); // a partial file may be kept, to resume
        break;
      case "cancelled":
        removeDownload(p.id);
        break;
      default:
        setDownload(p);
    }
  }

  async function pull(item: CatalogItem) {
    errors.clear();
    setDownload({
      id: item.id,
      version: item.version,
      state: "starting",
      downloaded: 0,
      total: item.size_bytes > 0 ? item.size_bytes : null,
      rate_bps: 0,
      eta_s: null,
      message: null,
    });
    downloads.get(item.id)?.focus();
    try {
      await ctx.api.pullModel(item.id, item.version);
    } catch (e) {
      removeDownload(item.id);
      errors.show(e as UiError);
    }
  }

  async function pauseDownload(id: string) {
    errors.clear();
    try {
      await ctx.api.pauseDownload(id);
      const w = downloads.get(id);
      if (w && RUNNING.includes(w.progress.state)) w.update({ ...w.progress, state: "paused", rate_bps: 0, eta_s: null, message: null });
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function resumeDownload(id: string) {
    const w = downloads.get(id);
    if (!w) return;
    errors.clear();
    const before = w.progress;
    w.update({ ...before, state: "starting", message: null });
    try {
      await ctx.api.pullModel(id, before.version);
    } catch (e) {
      if (downloads.get(id) === w) w.update(before);
      errors.show(e as UiError);
    }
  }

  async function cancelDownload(id: string) {
    errors.clear();
    try {
      await ctx.api.cancelDownload(id);
      removeDownload(id);
      ctx.notify(`Download of ${id} cancelled`);
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  // ---- Catalog ----

  function catalogRow(item: CatalogItem) {
    const cell = h("td", { class: "actions download-cell" });
    actionCells.set(item.id, cell);
    clear(cell, ...catalogActions(item));
    const here =
      item.current === item.version
        ? h("strong", {}, "Installed")
        : item.installed.includes(item.version)
          ? h("span", {}, "Downloaded, not in use")
          : item.current
            ? h("span", { class: "muted" }, `You have ${item.current}`)
            : h("span", { class: "muted" }, "Not installed");
    return h(
      "tr",
      { "data-catalog": item.id, "data-version": item.version },
      h(
        "th",
        { scope: "row" },
        item.id,
        item.trust_on_first_use ? h("span", {}, " ", trustBadge("first-use")) : null,
        item.description ? h("div", { class: "muted" }, item.description) : null,
      ),
      h("td", { class: "mono" }, item.version),
      h("td", {}, formatBytes(item.size_bytes)),
      h("td", {}, item.quantization || "—"),
      h("td", {}, item.context_length ? `${formatCount(item.context_length)} tokens` : "—"),
      h("td", {}, item.licence || "—"),
      h(
        "td",
        {},
        item.fits_ram
          ? `${item.min_ram_gb} GB`
          : h("span", { class: "bad ram-warning" }, `Needs ${item.min_ram_gb} GB: more memory than this laptop has`),
      ),
      h("td", {}, here, item.update_available ? h("div", {}, h("span", { class: "badge update-badge" }, "Update available")) : null),
      cell,
    );
  }

  function renderCatalog(view: CatalogView) {
    const focused = document.activeElement;
    catalog = view;
    clear(catalogSource, "Source: ", view.source, view.signed_by ? `, signed by ${view.signed_by}` : "");
    catalogMetered.hidden = !view.metered;
    if (view.error) {
      catalogError.textContent = `The organisation catalog was not used: ${view.error}. The built-in catalog is listed instead.`;
      catalogError.hidden = false;
    } else {
      catalogError.textContent = "";
      catalogError.hidden = true;
    }
    for (const item of view.entries) {
      if (item.download && LIVE.includes(item.download.state) && !downloads.has(item.id)) {
        downloads.set(item.id, downloadWidget(item.download));
      }
    }
    actionCells.clear();
    clear(catalogBody, ...view.entries.map(catalogRow));
    const listed = new Set(view.entries.map((e) => e.id));
    clear(otherDownloads, ...[...downloads].filter(([id]) => !listed.has(id)).map(([id, w]) => h("li", { "data-download": id }, w.el)));
    otherDownloads.hidden = otherDownloads.children.length === 0;
    catalogTable.hidden = view.entries.length === 0;
    catalogEmpty.hidden = view.entries.length > 0;
    catalogTofu.hidden = !view.entries.some((e) => e.trust_on_first_use);
    // Re-rendering moves rows: give focus back to what had it.
    if (focused instanceof HTMLElement && focused !== document.activeElement && focused.isConnected) focused.focus();
  }

  async function loadCatalog(refreshOnline = false) {
    if (refreshOnline) {
      errors.clear();
      checkButton.disabled = true;
      catalogState.textContent = "Checking for updates…";
    }
    try {
      const view = await ctx.api.modelCatalog(refreshOnline);
      renderCatalog(view);
      if (refreshOnline) {
        const updates = view.entries.filter((e) => e.update_available).length;
        catalogState.textContent = view.error
          ? "Could not use the organisation catalog."
          : updates === 0
            ? "Everything is up to date."
            : updates === 1
              ? "1 update available."
              : `${updates} updates available.`;
      }
    } catch (e) {
      errors.show(e as UiError);
      if (refreshOnline) catalogState.textContent = "";
    } finally {
      if (refreshOnline) checkButton.disabled = false;
    }
  }

  onModelDownload(onProgress).catch((e) => errors.show(toUiError(e)));

  return {
    el,
    refresh,
    loadCatalog,
    shown: () => {
      void refresh();
      void loadCatalog(false);
    },
  };
}
