// The catalog: the models Fieldbrief's built-in catalog (or an organisation's signed one)
// offers, download and update, with each download's progress in its row, surviving a pause
// (the laptop is often offline or on a metered link). Downloads of models the catalog no
// longer lists show in a list below it.

import { h, clear } from "../../dom";
import { onModelDownload, toUiError } from "../../api";
import type { Context } from "../../context";
import { formatBytes, formatCount } from "../../format";
import type { CatalogItem, CatalogView, PullProgress, UiError } from "../../types";
import { type DownloadWidget, downloadWidget } from "./download";
import type { ErrorBox } from "./installed";
import { lineEl, trustBadge } from "./parts";
import { LIVE, RUNNING, TOFU_NOTE, catalogAction, catalogHere, updatesText } from "./shape";

export interface CatalogSection {
  el: HTMLElement;
  loadCatalog: (refreshOnline?: boolean) => Promise<void>;
}

/** `installedChanged` is called when a download has installed a model. */
export function catalogSection(ctx: Context, errors: ErrorBox, installedChanged: () => void): CatalogSection {
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
  const el = h(
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

  let catalog: CatalogView | null = null;
  /** Downloads running or paused, by model id (the shell runs at most one per id). */
  const downloads = new Map<string, DownloadWidget>();
  /** The catalog rows' action cells, by model id: where a download's progress shows. */
  const actionCells = new Map<string, HTMLElement>();
  const widgetActions = {
    pause: (id: string) => void pauseDownload(id),
    resume: (id: string) => void resumeDownload(id),
    cancel: (id: string) => void cancelDownload(id),
  };

  // ---- Downloads ----

  function catalogActions(item: CatalogItem): HTMLElement[] {
    const w = downloads.get(item.id);
    if (w) return [w.el];
    const label = catalogAction(item);
    if (!label) return [];
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

  function setDownload(p: PullProgress) {
    const w = downloads.get(p.id);
    if (w) {
      w.update(p);
      return;
    }
    downloads.set(p.id, downloadWidget(p, widgetActions));
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

  function onProgress(p: PullProgress) {
    switch (p.state) {
      case "installed":
        removeDownload(p.id);
        ctx.notify(`${p.id} ${p.version} is installed`);
        installedChanged();
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
    const unfit = item.incompatible.length > 0;
    // Staged, for other cohorts, halted or held: said in words; "every laptop" goes unsaid.
    const rollout = item.rollout && item.rollout !== "offered to every laptop" ? item.rollout : null;
    return h(
      "tr",
      { "data-catalog": item.id, "data-version": item.version, class: unfit ? "incompatible" : null },
      h(
        "th",
        { scope: "row" },
        item.id,
        item.trust_on_first_use ? h("span", {}, " ", trustBadge("first-use")) : null,
        item.description ? h("div", { class: "muted" }, item.description) : null,
        unfit ? h("div", { class: "bad incompatible-why" }, `Will not run on this laptop: ${item.incompatible.join("; ")}`) : null,
        rollout ? h("div", { class: "muted rollout" }, rollout[0].toUpperCase() + rollout.slice(1)) : null,
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
      h("td", {}, lineEl(catalogHere(item)), item.update_available ? h("div", {}, h("span", { class: "badge update-badge" }, "Update available")) : null),
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
        downloads.set(item.id, downloadWidget(item.download, widgetActions));
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
      if (refreshOnline) catalogState.textContent = updatesText(view);
    } catch (e) {
      errors.show(e as UiError);
      if (refreshOnline) catalogState.textContent = "";
    } finally {
      if (refreshOnline) checkButton.disabled = false;
    }
  }

  onModelDownload(onProgress).catch((e) => errors.show(toUiError(e)));

  return { el, loadCatalog };
}
