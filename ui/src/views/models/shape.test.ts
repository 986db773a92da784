import { describe, expect, it } from "vitest";
import { catalogOf, entry, item, progress } from "./fixtures";
import {
  canRollBack,
  catalogAction,
  catalogHere,
  downloadControls,
  downloadDetail,
  downloadStateText,
  grouped,
  installedState,
  rollbackNotices,
  updatesText,
  verifyHeadline,
} from "./shape";

const rollback = { from_version: "2", to_version: "1", reason: "the new version crashed the engine", at: "2026-11-21T08:00:00Z" };

describe("Models view shaping", () => {
  it("groups the versions of a model, its current one first, newest kept next", () => {
    const models = [
      entry({ id: "a", version: "1", current: false, installed_at: "2026-11-01T00:00:00Z" }),
      entry({ id: "b", version: "9" }),
      entry({ id: "a", version: "3", current: false, installed_at: "2026-11-03T00:00:00Z" }),
      entry({ id: "a", version: "2", current: true, installed_at: "2026-10-01T00:00:00Z" }),
    ];
    expect(grouped(models).map((m) => `${m.id}${m.version}`)).toEqual(["a2", "a3", "a1", "b9"]);
  });

  it("names an installed version's state, a problem before anything else", () => {
    expect(installedState(entry({ active: true }))).toEqual({ primary: { text: "Active", tone: "strong" }, secondary: null });
    expect(installedState(entry({ current: false })).primary).toEqual({ text: "Kept for rollback", tone: "muted" });
    expect(installedState(entry({ current: true })).primary).toEqual({ text: "Current version", tone: "plain" });
    const broken = installedState(entry({ active: true, problem: "the file is gone", quarantined: true }));
    expect(broken).toEqual({ primary: { text: "Unusable: the file is gone", tone: "bad" }, secondary: "Current version" });
    const quarantined = installedState(entry({ current: false, quarantined: true }));
    expect(quarantined.primary.tone).toBe("bad");
    expect(quarantined.secondary).toBe("Kept for rollback");
  });

  it("offers a rollback only from the current version, to a usable kept one", () => {
    const current = entry({ version: "2", current: true });
    expect(canRollBack(current, [current])).toBe(false);
    expect(canRollBack(current, [current, entry({ version: "1", current: false, problem: "missing" })])).toBe(false);
    const kept = entry({ version: "1", current: false });
    expect(canRollBack(current, [current, kept])).toBe(true);
    expect(canRollBack(kept, [current, kept])).toBe(false);
  });

  it("shows one rollback notice per model, less the dismissed ones", () => {
    const models = [entry({ id: "a", rollback }), entry({ id: "a", version: "old", current: false, rollback }), entry({ id: "b", rollback: null })];
    expect(rollbackNotices(models, []).map((n) => n.key)).toEqual([`a@${rollback.at}`]);
    expect(rollbackNotices(models, [`a@${rollback.at}`])).toEqual([]);
    // A later rollback of the same model is a new notice.
    expect(rollbackNotices(models, ["a@2026-01-01T00:00:00Z"])).toHaveLength(1);
  });

  it("headlines a verification by what failed", () => {
    const ok = { id: "a", version: "1", ok: true, expected: "aa", actual: "aa", problem: null };
    const bad = { ...ok, ok: false, actual: null };
    expect(verifyHeadline([])).toEqual({ text: "No model files to check.", tone: "plain" });
    expect(verifyHeadline([ok, ok]).text).toBe("All 2 model files match their recorded hashes.");
    expect(verifyHeadline([ok, bad])).toEqual({ text: "1 of 2 model files do not match their recorded hashes.", tone: "bad" });
  });

  it("says what a catalog row is on this laptop and what it offers", () => {
    expect(catalogHere(item({ current: "2", installed: ["2"] }))).toEqual({ text: "Installed", tone: "strong" });
    expect(catalogHere(item({ current: "1", installed: ["1", "2"] })).text).toBe("Downloaded, not in use");
    expect(catalogHere(item({ current: "1", installed: ["1"] })).text).toBe("You have 1");
    expect(catalogHere(item({})).text).toBe("Not installed");
    expect(catalogAction(item({}))).toBe("Download");
    expect(catalogAction(item({ current: "1", installed: ["1"], update_available: true }))).toBe("Update");
    expect(catalogAction(item({ installed: ["2"] }))).toBeNull();
  });

  it("counts the updates, or says the organisation catalog was not used", () => {
    expect(updatesText(catalogOf([item({})]))).toBe("Everything is up to date.");
    expect(updatesText(catalogOf([item({ update_available: true })]))).toBe("1 update available.");
    expect(updatesText(catalogOf([item({ update_available: true }), item({ id: "b", update_available: true })]))).toBe("2 updates available.");
    expect(updatesText(catalogOf([item({ update_available: true })], { error: "bad signature" }))).toBe("Could not use the organisation catalog.");
  });

  it("reads a download's line and buttons from its state", () => {
    const moving = progress({ downloaded: 250_000_000, total: 1_000_000_000, rate_bps: 5_000_000, eta_s: 150 });
    expect(downloadDetail(moving).split(" · ")).toHaveLength(3);
    expect(downloadDetail({ ...moving, state: "paused" }).split(" · ")).toHaveLength(1);
    expect(downloadStateText({ ...moving, state: "retrying", message: "connection reset" })).toBe("qwen2.5-1.5b-q4 2: Retrying… (connection reset)");
    expect(downloadControls("downloading")).toEqual({ pause: true, resume: false, cancel: true });
    expect(downloadControls("paused")).toEqual({ pause: false, resume: true, cancel: true });
    expect(downloadControls("verifying")).toEqual({ pause: false, resume: false, cancel: false });
  });
});
