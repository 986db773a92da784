// The Models view: installed GGUF models with their size, quantization and context length;
// import from disk (a USB stick), activate, remove.

import { h, clear } from "../dom";
import { errorBox, type Context, type View } from "../context";
import { formatBytes, formatCount } from "../format";
import type { ModelEntry, UiError } from "../types";

export function modelsView(ctx: Context): View & { refresh: () => Promise<void> } {
  const errors = errorBox("models-error");
  const importing = h("span", { id: "import-state", class: "muted", "aria-live": "polite" });
  const importButton = h("button", { type: "button", id: "import-model", class: "primary", onclick: () => void importModel() }, "Import GGUF model…");
  const body = h("tbody", { id: "models-body" });
  const empty = h(
    "p",
    { id: "models-empty", class: "muted", hidden: true },
    "No local model yet: summaries are extractive (sentences picked from the note). Import a GGUF model, e.g. from a USB stick, to have a language model write them on this laptop.",
  );
  const table = h(
    "table",
    { id: "models-table", class: "table" },
    h(
      "thead",
      {},
      h("tr", {}, ...["Model", "Quantization", "Parameters", "Context", "Size", "Version", "State", ""].map((t) => h("th", { scope: "col" }, t))),
    ),
    body,
  );
  const el = h(
    "section",
    { id: "view-models", class: "view", "aria-label": "Models" },
    h("div", { class: "toolbar" }, importButton, importing),
    errors.el,
    empty,
    table,
  );

  function row(m: ModelEntry) {
    const state = m.problem
      ? h("span", { class: "bad" }, `Unusable: ${m.problem}`)
      : m.quarantined
        ? h("span", { class: "bad" }, "Quarantined: it crashed the engine")
        : m.active
          ? h("strong", {}, "Active")
          : h("span", { class: "muted" }, "Installed");
    const actions = h("td", { class: "actions" });
    if (!m.active && !m.problem) {
      actions.append(h("button", { type: "button", class: "use-model", "data-model": m.id, onclick: () => void use(m.id) }, "Use"));
    }
    const confirmBox = h("span", { class: "confirm", hidden: true });
    const removeButton = h("button", { type: "button", class: "remove-model danger", "data-model": m.id, onclick: () => {
      clear(
        confirmBox,
        h("button", { type: "button", class: "danger confirm-remove", onclick: () => void remove(m.id) }, `Delete ${formatBytes(m.size_bytes)}`),
        h("button", { type: "button", onclick: () => { confirmBox.hidden = true; removeButton.hidden = false; removeButton.focus(); } }, "Keep"),
      );
      confirmBox.hidden = false;
      removeButton.hidden = true;
      (confirmBox.firstElementChild as HTMLElement).focus();
    } }, "Remove…");
    actions.append(removeButton, confirmBox);
    const i = m.info;
    return h(
      "tr",
      { "data-model": m.id, class: m.active ? "active" : "" },
      h("th", { scope: "row" }, m.id, i?.name && i.name !== m.id ? h("div", { class: "muted" }, i.name) : null),
      h("td", {}, i?.quantization ?? "—"),
      h("td", {}, i ? formatCount(i.parameters) : "—"),
      h("td", {}, i ? `${formatCount(i.context_length)} tokens` : "—"),
      h("td", {}, formatBytes(m.size_bytes)),
      h("td", { class: "mono" }, m.version),
      h("td", {}, state),
      actions,
    );
  }

  async function refresh() {
    try {
      const models = await ctx.api.models();
      clear(body, ...models.map(row));
      empty.hidden = models.length > 0;
      table.hidden = models.length === 0;
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function importModel() {
    errors.clear();
    importButton.disabled = true;
    importing.textContent = "Checking and copying the model…";
    try {
      const m = await ctx.api.importModel();
      if (m) ctx.notify(`Imported ${m.id}${m.active ? "; it is now the active model" : ""}`);
      await refresh();
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e as UiError);
    } finally {
      importButton.disabled = false;
      importing.textContent = "";
    }
  }

  async function use(id: string) {
    errors.clear();
    try {
      await ctx.api.useModel(id);
      ctx.notify(`${id} is now the active model`);
      await refresh();
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function remove(id: string) {
    errors.clear();
    try {
      await ctx.api.removeModel(id);
      ctx.notify(`${id} removed`);
      await refresh();
      ctx.refreshStatus();
      importButton.focus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  return { el, refresh, shown: () => void refresh() };
}
