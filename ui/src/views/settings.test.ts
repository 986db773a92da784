import { afterEach, describe, expect, it } from "vitest";
import { byId, fakeContext, fakeShell, reset, settle, type } from "../test-helpers";
import type { SettingsForm, SettingsView } from "../types";
import { settingsView } from "./settings";

const view = (form: Partial<SettingsForm> = {}, keySource: SettingsView["keySource"] = "none"): SettingsView => ({
  form: {
    cloudEnabled: false,
    endpoint: null,
    model: null,
    workOffline: false,
    redact: {},
    powerMode: "auto",
    prefer: "auto",
    metered: false,
    notifications: true,
    ...form,
  },
  keySource,
  configPath: "/home/tech/.local/share/fieldbrief/config.toml",
});

function mount() {
  const ctx = fakeContext();
  const v = settingsView(ctx);
  document.body.append(v.el);
  return { v, ctx };
}

const input = (id: string) => byId<HTMLInputElement>(id);

describe("Settings view", () => {
  afterEach(reset);

  it("shows the saved settings with the cloud off by default", async () => {
    fakeShell({ get_settings: () => view({ redact: { site_id: "SITE-\\d{4}" } }) });
    const { v } = mount();
    await v.refresh();
    expect(input("cloud-enabled").checked).toBe(false);
    expect(input("cloud-endpoint").value).toBe("");
    expect(byId<HTMLSelectElement>("power-mode").value).toBe("auto");
    const rows = document.querySelectorAll(".pattern-row");
    expect(rows).toHaveLength(1);
    expect((rows[0].querySelector(".pattern-re") as HTMLInputElement).value).toBe("SITE-\\d{4}");
    expect(byId("key-source").textContent).toContain("No API key stored");
    expect(byId<HTMLButtonElement>("clear-key").disabled).toBe(true);
    expect(byId("config-path").textContent).toContain("config.toml");
  });

  it("saves exactly what was entered: opt-in, endpoint, model, patterns, offline, power and preference", async () => {
    const shell = fakeShell({
      get_settings: () => view(),
      save_settings: (a) => view(a.form as SettingsForm),
    });
    const { v, ctx } = mount();
    await v.refresh();
    input("cloud-enabled").click();
    type(input("cloud-endpoint"), "  https://llm.example.org/v1 ");
    type(input("cloud-model"), "qwen2.5-7b");
    input("work-offline").click();
    input("metered").click();
    input("notifications").click();
    byId("add-pattern").click();
    const row = document.querySelector(".pattern-row")!;
    type(row.querySelector(".pattern-name") as HTMLInputElement, "site_id");
    type(row.querySelector(".pattern-re") as HTMLInputElement, "SITE-\\d{4}");
    byId<HTMLSelectElement>("power-mode").value = "saver";
    byId<HTMLSelectElement>("route-prefer").value = "local";
    byId("save-settings").click();
    await settle();
    expect(shell.named("save_settings")).toEqual([
      {
        form: {
          cloudEnabled: true,
          endpoint: "https://llm.example.org/v1",
          model: "qwen2.5-7b",
          workOffline: true,
          redact: { site_id: "SITE-\\d{4}" },
          powerMode: "saver",
          prefer: "local",
          metered: true,
          notifications: false,
        },
      },
    ]);
    expect(byId("settings-saved").textContent).toBe("Saved.");
    expect(ctx.refreshStatus).toHaveBeenCalled();
  });

  it("shows the shell's reason when the settings are refused, and a removed pattern is not sent", async () => {
    const shell = fakeShell({
      get_settings: () => view({ redact: { cust: "CUST-\\d+", site: "S-\\d+" } }),
      save_settings: () => Promise.reject({ kind: "bad_input", message: "[cloud] endpoint \"http://llm.example.org/v1\": HTTPS is required except on loopback" }),
    });
    const { v } = mount();
    await v.refresh();
    (document.querySelector(".remove-pattern") as HTMLElement).click();
    byId("save-settings").click();
    await settle();
    expect(byId("settings-error").hidden).toBe(false);
    expect(byId("settings-error").textContent).toContain("HTTPS is required");
    expect(byId("settings-saved").textContent).toBe("");
    expect((shell.named("save_settings")[0].form as SettingsForm).redact).toEqual({ site: "S-\\d+" });
  });

  it("sends the API key to the keychain, clears the field, and never shows the key", async () => {
    const shell = fakeShell({
      get_settings: () => view(),
      set_api_key: () => view({}, "keychain"),
      clear_api_key: () => view({}, "none"),
    });
    const { v } = mount();
    await v.refresh();
    byId("save-key").click();
    await settle();
    expect(byId("key-error").textContent).toBe("Paste the key first.");
    expect(shell.named("set_api_key")).toHaveLength(0);
    type(input("api-key"), "sk-secret-123");
    byId("save-key").click();
    await settle();
    expect(shell.named("set_api_key")).toEqual([{ key: "sk-secret-123" }]);
    expect(input("api-key").value).toBe("");
    expect(byId("key-source").textContent).toContain("OS keychain");
    expect(document.body.textContent).not.toContain("sk-secret-123");
    expect(byId<HTMLButtonElement>("clear-key").disabled).toBe(false);
    byId("clear-key").click();
    await settle();
    expect(shell.named("clear_api_key")).toHaveLength(1);
    expect(byId("key-source").textContent).toContain("No API key stored");
  });

  it("refuses two patterns with one name before anything is sent", async () => {
    const shell = fakeShell({ get_settings: () => view({ redact: { site: "SITE-\\d{4}" } }), save_settings: (a) => view(a.form as SettingsForm) });
    const { v } = mount();
    await v.refresh();
    byId("add-pattern").click();
    const rows = document.querySelectorAll(".pattern-row");
    type(rows[1].querySelector(".pattern-name") as HTMLInputElement, " site");
    type(rows[1].querySelector(".pattern-re") as HTMLInputElement, "S\\d+");
    byId("save-settings").click();
    await settle();
    expect(byId("settings-error").textContent).toContain("Two redaction patterns are named “site”");
    expect(shell.named("save_settings")).toHaveLength(0);
  });
});
