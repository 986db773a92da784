// The Settings view: cloud opt-in, endpoint and model, the API key (to the OS keychain),
// redaction patterns, "work offline", the power-mode override and the routing preference.
// The shell validates the whole settings file before it writes anything, so an error here
// leaves the saved settings as they were.

import { h, clear } from "../dom";
import { errorBox, type Context, type View } from "../context";
import type { KeySource, PowerOverride, Preference, SettingsForm, SettingsView, UiError } from "../types";

export function keySourceText(k: KeySource): string {
  switch (k) {
    case "environment":
      return "An API key comes from FIELDBRIEF_CLOUD_API_KEY; it overrides the keychain.";
    case "keychain":
      return "An API key is stored in the OS keychain.";
    default:
      return "No API key stored (fine for an endpoint that needs none).";
  }
}

function field(label: string, control: HTMLElement, hint?: string) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control, hint ? h("span", { class: "muted field-hint" }, hint) : null);
}

function check(id: string, label: string, hint: string) {
  const input = h("input", { type: "checkbox", id });
  return { input, el: h("label", { class: "check" }, input, h("span", {}, h("strong", {}, label), h("span", { class: "muted field-hint" }, hint))) };
}

function select<T extends string>(id: string, options: [T, string][]) {
  return h("select", { id }, ...options.map(([v, text]) => h("option", { value: v }, text)));
}

export function settingsView(ctx: Context): View & { refresh: () => Promise<void> } {
  const errors = errorBox("settings-error");
  const keyErrors = errorBox("key-error");
  const cloudOn = check("cloud-enabled", "Allow escalation to a cloud model", "Off by default. While off, nothing is sent to or probed at any server.");
  const endpoint = h("input", { id: "cloud-endpoint", type: "url", placeholder: "https://llm.example.com/v1", autocomplete: "off", spellcheck: "false" });
  const model = h("input", { id: "cloud-model", type: "text", placeholder: "model name the endpoint knows", autocomplete: "off", spellcheck: "false" });
  const offline = check("work-offline", "Work offline", "Treat the cloud as unreachable: refinements wait, nothing is probed.");
  const metered = check("metered", "Metered connection", "Never download models on their own: updates are offered, and you choose when.");
  const notifications = check("notifications", "Notify me", "A desktop notification when a summary or a cloud refinement finishes while Fieldbrief is behind other windows.");
  const keyInput = h("input", { id: "api-key", type: "password", autocomplete: "off", placeholder: "paste the API key", "aria-describedby": "key-source" });
  const keySource = h("p", { id: "key-source", class: "muted" });
  const saveKey = h("button", { type: "button", id: "save-key", onclick: () => void storeKey() }, "Save key to keychain");
  const clearKey = h("button", { type: "button", id: "clear-key", class: "danger", onclick: () => void removeKey() }, "Remove key");
  const patterns = h("div", { id: "redact-patterns", class: "patterns" });
  const addPattern = h("button", { type: "button", id: "add-pattern", onclick: () => patternRow("", "", true) }, "Add pattern");
  const powerMode = select<PowerOverride>("power-mode", [
    ["auto", "Automatic (battery and temperature)"],
    ["performance", "Always performance"],
    ["balanced", "Always balanced"],
    ["saver", "Always saver"],
  ]);
  const prefer = select<Preference>("route-prefer", [
    ["auto", "Automatic"],
    ["local", "Local first (cloud only for what the laptop cannot take)"],
    ["cloud", "Best quality (cloud whenever it is allowed)"],
  ]);
  const saveButton = h("button", { type: "submit", id: "save-settings", class: "primary" }, "Save settings");
  const saved = h("span", { id: "settings-saved", class: "muted", "aria-live": "polite" });
  const configPath = h("p", { id: "config-path", class: "muted" });

  const form = h(
    "form",
    { id: "settings-form", class: "settings", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", {}, "Cloud escalation"),
      cloudOn.el,
      field("Endpoint (OpenAI-compatible)", endpoint, "HTTPS, except on this computer (loopback)."),
      field("Model", model),
      offline.el,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Redaction before sending"),
      h("p", { class: "muted" }, "E-mail addresses, phone numbers and IP addresses are always replaced by placeholders before a note leaves the laptop. Add your own identifiers as regular expressions, e.g. site_id = SITE-\\d{4}."),
      patterns,
      h("div", { class: "toolbar" }, addPattern),
    ),
    h("fieldset", {}, h("legend", {}, "Power and routing"), field("Power mode", powerMode), field("Route preference", prefer)),
    h("fieldset", {}, h("legend", {}, "Model downloads"), metered.el),
    h("fieldset", {}, h("legend", {}, "Notifications"), notifications.el),
    errors.el,
    h("div", { class: "toolbar" }, saveButton, saved),
    configPath,
  );
  const keyBox = h(
    "fieldset",
    { id: "api-key-box" },
    h("legend", {}, "Cloud API key"),
    h("p", { class: "muted" }, "Kept in the OS keychain; never written to the settings file, the database or the logs."),
    keySource,
    h("div", { class: "toolbar" }, keyInput, saveKey, clearKey),
    keyErrors.el,
  );
  const el = h("section", { id: "view-settings", class: "view", "aria-label": "Settings" }, h("div", { class: "settings-page" }, form, keyBox));

  function patternRow(name: string, pattern: string, focus = false) {
    const nameInput = h("input", { type: "text", class: "pattern-name", value: name, placeholder: "name", "aria-label": "Pattern name", spellcheck: "false" });
    const reInput = h("input", { type: "text", class: "pattern-re mono", value: pattern, placeholder: "regular expression", "aria-label": "Regular expression", spellcheck: "false" });
    const row = h("div", { class: "pattern-row" }, nameInput, reInput);
    row.append(h("button", { type: "button", class: "remove-pattern", "aria-label": "Remove pattern", onclick: () => row.remove() }, "Remove"));
    patterns.append(row);
    if (focus) nameInput.focus();
  }

  /** The form's values; throws a message when two patterns share a name (one would silently
   * replace the other, and its identifiers would leave the laptop unredacted). */
  function read(): SettingsForm {
    const redact: Record<string, string> = {};
    for (const row of patterns.querySelectorAll(".pattern-row")) {
      const name = (row.querySelector(".pattern-name") as HTMLInputElement).value.trim();
      const re = (row.querySelector(".pattern-re") as HTMLInputElement).value.trim();
      if (!name && !re) continue;
      if (Object.prototype.hasOwnProperty.call(redact, name)) throw new Error(`Two redaction patterns are named “${name}”: give each its own name.`);
      redact[name] = re;
    }
    const text = (i: HTMLInputElement) => (i.value.trim() ? i.value.trim() : null);
    return {
      cloudEnabled: cloudOn.input.checked,
      endpoint: text(endpoint),
      model: text(model),
      workOffline: offline.input.checked,
      redact,
      powerMode: powerMode.value as PowerOverride,
      prefer: prefer.value as Preference,
      metered: metered.input.checked,
      notifications: notifications.input.checked,
    };
  }

  function render(v: SettingsView) {
    const f = v.form;
    cloudOn.input.checked = f.cloudEnabled;
    endpoint.value = f.endpoint ?? "";
    model.value = f.model ?? "";
    offline.input.checked = f.workOffline;
    metered.input.checked = f.metered;
    notifications.input.checked = f.notifications;
    clear(patterns);
    for (const [name, re] of Object.entries(f.redact)) patternRow(name, re);
    powerMode.value = f.powerMode;
    prefer.value = f.prefer;
    keySource.textContent = keySourceText(v.keySource);
    clearKey.disabled = v.keySource !== "keychain";
    configPath.textContent = `Saved in ${v.configPath}`;
  }

  async function refresh() {
    errors.clear();
    try {
      render(await ctx.api.settings());
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function save() {
    errors.clear();
    saved.textContent = "";
    saveButton.disabled = true;
    try {
      render(await ctx.api.saveSettings(read()));
      saved.textContent = "Saved.";
      ctx.notify("Settings saved");
      ctx.refreshStatus();
    } catch (e) {
      errors.show(e instanceof Error ? e.message : (e as UiError));
    } finally {
      saveButton.disabled = false;
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void save();
  });

  async function storeKey() {
    keyErrors.clear();
    const key = keyInput.value.trim();
    if (!key) {
      keyErrors.show("Paste the key first.");
      return;
    }
    try {
      const v = await ctx.api.setApiKey(key);
      keyInput.value = "";
      keySource.textContent = keySourceText(v.keySource);
      clearKey.disabled = v.keySource !== "keychain";
      ctx.notify("API key stored in the keychain");
    } catch (e) {
      keyErrors.show(e as UiError);
    }
  }

  async function removeKey() {
    keyErrors.clear();
    try {
      const v = await ctx.api.clearApiKey();
      keySource.textContent = keySourceText(v.keySource);
      clearKey.disabled = v.keySource !== "keychain";
      ctx.notify("API key removed from the keychain");
    } catch (e) {
      keyErrors.show(e as UiError);
    }
  }

  return { el, refresh, shown: () => void refresh() };
}
