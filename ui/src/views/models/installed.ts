// The installed models: one row per version, with size, quantization, context length and
// where its hash came from; import from disk (a file, or a folder such as a USB stick with a
// signed catalog), activate, roll back, remove, check the files; rollback notices.

import { h, clear } from "../../dom";
import type { Context } from "../../context";
import { formatBytes, formatCount, formatWhen } from "../../format";
import type { ModelEntry, UiError, VerifyReport } from "../../types";
import { lineEl, trustBadge } from "./parts";
import { TOFU_NOTE, canRollBack, grouped, installedState, rollbackNotices, verifyHeadline } from "./shape";

const DISMISSED_KEY = "fieldbrief.dismissedRollbacks";

export interface ErrorBox {
  el: HTMLElement;
  show: (e: UiError | string) => void;
  clear: () => void;
}

export interface InstalledSection {
  /** The section's elements, in order (its heading first, the shared error box among them). */
  nodes: HTMLElement[];
  refresh: () => Promise<void>;
}

/**
 * `catalogChanged` is called after a change that the catalog's "On this laptop" column shows
 * (an import, a switch of version, a rollback, a removal).
 */
export function installedSection(ctx: Context, errors: ErrorBox, catalogChanged: () => void): InstalledSection {
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

  function row(m: ModelEntry, all: ModelEntry[]) {
    const state = installedState(m);
    const label = `${m.id} ${m.version}`;
    const actions = h("td", { class: "actions" });
    if (!m.active && !m.problem) {
      actions.append(
        h("button", { type: "button", class: "use-model", "data-model": m.id, "data-version": m.version, "aria-label": `Use ${label}`, onclick: () => void use(m.id, m.version) }, "Use"),
      );
    }
    if (canRollBack(m, all)) {
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
      h("td", {}, lineEl(state.primary), state.secondary ? h("div", { class: "muted" }, state.secondary) : null),
      actions,
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
    const items = rollbackNotices(models, dismissed()).map(({ id, key, rollback: r }) => {
      const notice: HTMLElement = h(
        "div",
        { id: `rollback-notice-${id}`, class: "warning rollback-notice", "data-model": id },
        h("span", {}, h("strong", {}, id), ` — Rolled back from ${r.from_version} to ${r.to_version}: ${r.reason}`, h("span", { class: "muted" }, ` (${formatWhen(r.at)})`)),
        h("button", { type: "button", class: "dismiss-rollback", "aria-label": `Dismiss the rollback notice for ${id}`, onclick: () => {
          localStorage.setItem(DISMISSED_KEY, JSON.stringify([...dismissed(), key].slice(-50)));
          notice.remove();
          importButton.focus();
        } }, "Dismiss"),
      );
      return notice;
    });
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

  /** After a change the whole app sees: the list, the catalog and the status bar. */
  async function changed() {
    await refresh();
    catalogChanged();
    ctx.refreshStatus();
  }

  /**
   * An import: the buttons held and a line saying what runs, then the list, the catalog and the
   * status bar. On a failure what was installed before it is listed all the same.
   */
  async function runImport(what: string, work: () => Promise<void>, afterFailure: () => void) {
    errors.clear();
    importButton.disabled = importFolderButton.disabled = true;
    importing.textContent = what;
    try {
      await work();
      await changed();
    } catch (e) {
      errors.show(e as UiError);
      void refresh();
      afterFailure();
    } finally {
      importButton.disabled = importFolderButton.disabled = false;
      importing.textContent = "";
    }
  }

  function importModel() {
    return runImport(
      "Checking, copying and testing the model…",
      async () => {
        const m = await ctx.api.importModel();
        if (m) ctx.notify(`Imported ${m.id}${m.active ? "; it is now the active model" : ""}`);
      },
      () => {},
    );
  }

  function importFolder() {
    return runImport(
      "Checking, copying and testing the folder's models…",
      async () => {
        const imported = await ctx.api.importModelFolder();
        if (imported.length > 0) {
          const names = imported.map((m) => `${m.id} ${m.version}`).join(", ");
          const active = imported.find((m) => m.active);
          ctx.notify(`Imported ${imported.length === 1 ? "1 model" : `${imported.length} models`}: ${names}${active ? `; ${active.id} is now the active model` : ""}`);
        }
      },
      // A folder's models may also have been catalog versions.
      catalogChanged,
    );
  }

  async function use(id: string, version: string) {
    errors.clear();
    try {
      await ctx.api.useModel(id, version);
      ctx.notify(`${id} ${version} is now the active model`);
      await changed();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function rollback(id: string) {
    errors.clear();
    try {
      const now = await ctx.api.rollbackModel(id);
      ctx.notify(`${id} rolled back to ${now.version}`);
      await changed();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function remove(id: string, version: string) {
    errors.clear();
    try {
      await ctx.api.removeModel(id, version);
      ctx.notify(`${id} ${version} removed`);
      await changed();
      importButton.focus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  function showVerify(reports: VerifyReport[]) {
    const headline = verifyHeadline(reports);
    clear(
      verifyResults,
      h("p", { class: headline.tone === "bad" ? "bad verify-headline" : "verify-headline" }, headline.text),
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

  return {
    nodes: [
      h("h2", {}, "On this laptop"),
      h("div", { class: "toolbar" }, importButton, importFolderButton, verifyButton, importing),
      errors.el,
      notices,
      verifyResults,
      empty,
      table,
      installedTofu,
    ],
    refresh,
  };
}
