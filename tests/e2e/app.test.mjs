// End-to-end: the real desktop app, driven as a technician would through WebDriver
// (tauri-driver → WebKitWebDriver) under Xvfb. Run by scripts/e2e, which builds the app and
// the engine worker and generates the fixtures; see tests/e2e/README.md.
//
// One session walks through the day in order (each step builds on the last, as the app's
// data does), and saves a screenshot after every step into $E2E_ARTIFACTS.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Keys, Session } from "./webdriver.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const app = process.env.FIELDBRIEF_APP;
const model = process.env.FIELDBRIEF_E2E_MODEL;
const artifacts = process.env.E2E_ARTIFACTS ?? path.join(root, "target/e2e-artifacts");
const port = Number(process.env.E2E_DRIVER_PORT ?? 4444);
const samples = path.join(root, "assets/samples");

const work = fs.mkdtempSync(path.join(os.tmpdir(), "fieldbrief-e2e-"));
const home = path.join(work, "home");
const dialogAnswer = path.join(work, "dialog-answer");
let driver;
let s;
/** The desktop's notification service (dunst) and a recorder of what is sent to it. */
let dunst;
let dbusMonitor;
const notificationsLog = path.join(work, "notifications.log");
let shot = 0;

// WebKitGTK's WebDriver takes a screenshot at the next repaint, and a page with nothing
// changing (no blinking caret, no animation) never repaints: keep one pixel changing for a
// moment so that the screenshot comes.
const KEEP_PAINTING = `
  const dot = document.createElement("div");
  Object.assign(dot.style, { position: "fixed", right: "0", bottom: "0", width: "1px", height: "1px", pointerEvents: "none" });
  document.body.append(dot);
  const end = performance.now() + 2000;
  let n = 0;
  const tick = () => {
    dot.style.opacity = String((n++ % 2) * 0.01);
    if (performance.now() < end) requestAnimationFrame(tick); else dot.remove();
  };
  requestAnimationFrame(tick);`;

async function screenshot(name) {
  await s.execute(KEEP_PAINTING);
  shot += 1;
  const file = path.join(artifacts, `${String(shot).padStart(2, "0")}-${name}.png`);
  fs.writeFileSync(file, await s.screenshot());
}

/**
 * The organisation's model server on loopback: a catalog signed with a raw Ed25519 key (the
 * app is configured with its public half) and one model whose first transfer stops half way
 * and stays silent until the app lets go, so that the test can watch, pause and resume it.
 */
const org = { keys: crypto.generateKeyPairSync("ed25519"), files: new Map(), requests: [], server: null, url: "", released: false };

async function startOrgServer() {
  org.server = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url.slice(1));
    const body = org.files.get(name);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    org.requests.push({ name, start });
    const headers = { "Content-Length": String(body.length - start), ETag: '"e2e-1"', "Accept-Ranges": "bytes" };
    if (range) res.writeHead(206, { ...headers, "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    if (name.endsWith(".gguf") && org.requests.filter((r) => r.name === name).length === 1) {
      res.write(body.subarray(start, Math.floor(body.length / 2)));
      res.on("close", () => (org.released = true));
      return; // then silence
    }
    res.end(body.subarray(start));
  });
  await new Promise((resolve) => org.server.listen(0, "127.0.0.1", resolve));
  org.url = `http://127.0.0.1:${org.server.address().port}`;
}

/** Publishes `file` as fieldtiny 1 in a freshly signed catalog. */
function publishModel(file) {
  const bytes = fs.readFileSync(file);
  org.files.set("fieldtiny-1.gguf", bytes);
  const { manifest, signature } = signedCatalog(bytes, "1", "fieldtiny-1.gguf");
  org.files.set("catalog.json", manifest);
  org.files.set("catalog.json.sig", signature);
}

/** A catalog listing `bytes` as fieldtiny `version` at `url`, and its signature by the organisation. */
function signedCatalog(bytes, version, url) {
  const manifest = Buffer.from(
    JSON.stringify({
      schema: 1,
      publisher: "E2E Field Ops",
      generated: new Date().toISOString(),
      models: [
        {
          id: "fieldtiny",
          version,
          url,
          sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
          size: bytes.length,
          quantization: "F32",
          context_length: 2048,
          licence: "MIT",
          min_ram_gb: 0.1,
          prompt_template: "chatml",
          description: "Published by the end-to-end test",
        },
      ],
    }),
  );
  return { manifest, signature: Buffer.from(crypto.sign(null, manifest, org.keys.privateKey).toString("base64")) };
}

/** The next native file dialog answers with `file` (see FIELDBRIEF_SCRIPTED_DIALOGS). */
function answerDialogWith(file) {
  fs.writeFileSync(dialogAnswer, file + "\n");
}

const text = async (css) => (await s.find(css)).property("textContent");
const visible = async (css) => {
  const found = await s.findAll(css);
  return found.length > 0 && (await found[0].displayed());
};
// A view may render a row again between finding it and clicking it (the catalog after "Check
// for updates"): a stale element is found again, a few times, rather than failing the test.
const click = async (css) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await s.find(css)).click();
    } catch (e) {
      if (attempt >= 5 || !/stale element reference/.test(String(e && e.message))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
};

async function summarizeAndWait() {
  // Clicking hides the last badge and error at once (before the button is disabled).
  await click("#summarize");
  // Done when the button is enabled again and either a badge or an error is showing.
  await s.waitFor(
    "the summary to finish",
    async () =>
      !(await (await s.find("#summarize")).property("disabled")) && ((await visible("#route-badge")) || (await visible("#summarize-error"))),
    120000,
  );
}

before(async () => {
  assert.ok(app && fs.existsSync(app), `FIELDBRIEF_APP must name the built app (got ${app})`);
  fs.mkdirSync(artifacts, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  answerDialogWith("");
  // The organisation's catalog is configured before the app starts, as IT would ship it.
  await startOrgServer();
  const publicKey = Buffer.from(org.keys.publicKey.export({ format: "jwk" }).x, "base64url").toString("base64");
  fs.writeFileSync(
    path.join(home, "config.toml"),
    `[models]\ncatalog_url = "${org.url}/catalog.json"\ncatalog_public_key = "${publicKey}"\nmin_free_mib = 0\ndownload_stall_secs = 600\n`,
  );
  // The driver's and the app's output go to a file, not to this process's pipes: an app that
  // outlives its session would otherwise hold the test runner's pipe open, and the run would
  // never end.
  // The desktop around the window: a notification service on the session bus (scripts/e2e
  // runs the suite under dbus-run-session) and a recorder of every call made to it.
  assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "scripts/e2e runs the suite under dbus-run-session");
  dunst = spawn("dunst", [], { stdio: "ignore" });
  dunst.on("error", (e) => assert.fail(`dunst (scripts/setup installs it) did not start: ${e.message}`));
  dbusMonitor = spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"], {
    stdio: ["ignore", fs.openSync(notificationsLog, "w"), "ignore"],
  });
  const driverLog = fs.openSync(path.join(artifacts, "driver.log"), "w");
  driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
    stdio: ["ignore", driverLog, driverLog],
    env: {
      ...process.env,
      FIELDBRIEF_HOME: home,
      FIELDBRIEF_SCRIPTED_DIALOGS: dialogAnswer,
      WEBKIT_DISABLE_COMPOSITING_MODE: "1",
    },
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      s = await Session.start(base, { "tauri:options": { application: app } });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
});

after(async () => {
  try {
    if (s) await s.end();
  } finally {
    driver?.kill();
    dunst?.kill();
    dbusMonitor?.kill();
    org.server?.closeAllConnections();
    org.server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test("the window opens on the Summarize view with a status bar", async () => {
  // The theme choice persists in the webview's storage: start every run in the light theme.
  // The first command can come before the page has run its script: wait for the window's UI.
  await s.waitFor("the window's UI", () =>
    s.execute("const t = document.getElementById('theme'); if (!t) return false; t.value = 'light'; t.dispatchEvent(new Event('change')); return true;"),
  );
  await s.waitFor("the status bar", async () => (await text("#status-engine")).startsWith("Engine: extractive only"));
  assert.equal(await (await s.find("#tab-summarize")).attribute("aria-selected"), "true");
  assert.match(await text("#status-model"), /Model: none/);
  assert.match(await text("#status-network"), /Cloud: off/);
  assert.equal(await text("#status-power"), "Battery 80 % (on AC) · 45 °C · Performance");
  await screenshot("start");
});

test("a typed note is autosaved and summarized (extractive) with the route badge and its reasons", async () => {
  const editor = await s.find("#note-editor");
  await editor.click();
  await editor.type(
    "Pump P-101 inspected at the north station. Discharge pressure 4.2 bar, bearing temperature 78 °C, above the 70 °C limit. " +
      "Replaced bearing P/N 6309-2Z-C3 and checked alignment. Seal kit SK-22 still to order before Friday.",
  );
  await s.waitFor("the autosave", async () => (await text("#autosave-state")) === "Draft saved");
  // Ctrl+Enter, as the button's tooltip says.
  await editor.type(Keys.CONTROL + Keys.ENTER + Keys.NULL);
  await s.waitFor("the route badge", () => visible("#route-badge"), 60000);
  assert.equal(await (await s.find("#route-badge")).attribute("data-route"), "extractive");
  assert.equal(await text("#route-badge"), "Extractive");
  const summary = await text("#summary-output");
  assert.match(summary, /78 °C|6309-2Z-C3|SK-22/, summary);
  await click("#why > summary");
  assert.match(await text("#why-reasons"), /no local model/i);
  assert.equal(await (await s.find("#thumb-up")).property("disabled"), false);
  await click("#thumb-up");
  await s.waitFor("the rating", async () => (await (await s.find("#thumb-up")).attribute("aria-pressed")) === "true");
  await screenshot("typed-note-extractive");
});

test("the technician corrects the summary, and history keeps the correction and the engine's text", async () => {
  const engineText = await text("#summary-output");
  await click("#edit-summary");
  const area = await s.find("#summary-editor");
  // Append a line, as a technician would, then save with Ctrl+Enter.
  await s.execute("const a = document.getElementById('summary-editor'); a.focus(); a.setSelectionRange(a.value.length, a.value.length);");
  await area.type(Keys.ENTER + "- Alignment within 0.05 mm after the bearing change.");
  await screenshot("editing-summary");
  await area.type(Keys.CONTROL + Keys.ENTER + Keys.NULL);
  await s.waitFor("the saved edit", async () => (await s.findAll("#summary-editor")).length === 0 && (await text("#summary-output")).includes("Alignment within 0.05 mm"));
  assert.equal((await text("#summary-output")).trim(), `${engineText.trim()}\n- Alignment within 0.05 mm after the bearing change.`);

  await click("#tab-history");
  await s.waitFor("the history list", async () => (await s.findAll("#history-list [data-note-id]")).length > 0);
  await click("#history-list [data-note-id]");
  await s.waitFor("the saved summary", async () => (await s.findAll(".saved-summary")).length > 0);
  const saved = await text(".saved-summary");
  assert.match(saved, /edited by you/);
  assert.match(saved, /Alignment within 0\.05 mm/);
  await click(".original-summary > summary");
  assert.equal((await text(".original-summary .summary")).trim(), engineText.trim());
  await screenshot("edited-summary-in-history");
  await click("#tab-summarize");
});

test("a PDF opened from the file dialog is summarized", async () => {
  answerDialogWith(path.join(samples, "substation-inspection.pdf"));
  await click("#open-file");
  await s.waitFor("the file chip", async () => (await text("#source-chip")).includes("PDF: substation-inspection.pdf"));
  await summarizeAndWait();
  assert.equal(await visible("#summarize-error"), false, await text("#summarize-error"));
  assert.equal(await (await s.find("#route-badge")).attribute("data-route"), "extractive");
  assert.ok((await text("#summary-output")).trim().length > 40);
  assert.match(await text("#doc-info"), /substation-inspection\.pdf: \d+ words · \d+ pages/);
  await screenshot("pdf");
});

/** The whole X screen (the window and the desktop's notifications), as a PNG. */
function screenGrab(name) {
  shot += 1;
  const file = path.join(artifacts, `${String(shot).padStart(2, "0")}-${name}.png`);
  execFileSync("import", ["-window", "root", file]);
  return file;
}

/** Notify calls seen on the session bus so far: their summaries (titles). */
function notificationsSent() {
  const log = fs.readFileSync(notificationsLog, "utf8");
  return log.split("method call").slice(1).map((call) => [...call.matchAll(/string "([^"]*)"/g)].map((m) => m[1]));
}

test("the summary saves as a PDF for a work order, and the window prints it alone", async () => {
  const pdf = path.join(work, "work order", "SS-04 handover.pdf");
  fs.mkdirSync(path.dirname(pdf), { recursive: true });
  answerDialogWith(pdf);
  await click("#export-pdf");
  await s.waitFor("the PDF", () => fs.existsSync(pdf));
  await s.waitFor("the toast", async () => (await text("#toast")).startsWith(`Saved to ${pdf}`));
  // The page as a printer gets it: rendered by poppler, kept as a screenshot.
  execFileSync("pdftoppm", ["-png", "-r", "70", "-singlefile", pdf, path.join(artifacts, `${String(++shot).padStart(2, "0")}-pdf-page`)]);
  const pageText = execFileSync("pdftotext", ["-layout", pdf, "-"]).toString().replace(/\s+/g, " ");
  for (const want of ["Substation inspection report", "Brookfield Business Park", "substation-inspection.pdf", "Route: extractive", "page 1 of 1"]) {
    assert.ok(pageText.includes(want), `${want} is not on the PDF page: ${pageText}`);
  }
  // The summary's first line, as the page prints it (bullets and emphasis marks aside).
  const firstLine = (await text("#summary-output")).trim().split("\n")[0].replace(/^[-*•]\s*/, "").replaceAll("**", "");
  const summaryStart = firstLine.split(/\s+/).slice(0, 4).join(" ");
  assert.ok(pageText.includes(summaryStart), `the summary (${summaryStart}) is on the page`);

  // Print: the print stylesheet shows the summary with its heading and footer, and none of the
  // app around it. (WebDriver cannot open the print dialog; the stylesheet's print rules are
  // switched on for the screen for the screenshot, exactly as written. The CSP allows no
  // injected <style>, so the rule's own media list is changed through the CSSOM.)
  assert.equal(await (await s.find("#print")).property("disabled"), false);
  assert.match(await text("#print-footer"), /Route: Extractive · Model: extractive/);
  const switched = await s.execute(`
    window.printRules = [];
    for (const sheet of document.styleSheets) for (const r of sheet.cssRules) if (r.media && r.media.mediaText === "print") window.printRules.push(r);
    for (const r of window.printRules) r.media.mediaText = "all";
    return window.printRules.length;`);
  assert.ok(switched >= 1, "the stylesheet has print rules");
  assert.equal(await visible("#app-header"), false, "the header is not printed");
  assert.equal(await visible("#note-editor"), false, "the note editor is not printed");
  assert.equal(await visible("#print-header"), true);
  assert.equal(await visible("#summary-output"), true);
  await screenshot("print-preview");
  await s.execute(`for (const r of window.printRules) r.media.mediaText = "print";`);
  assert.equal(await visible("#app-header"), true, "the window is back to the screen's layout");
});

test("text zoom with Ctrl +/−, kept for the next start, and a high-contrast theme", async () => {
  const size = () => s.execute("return parseFloat(getComputedStyle(document.getElementById('summary-output')).fontSize)");
  const before = await size();
  const editor = await s.find("#note-editor");
  await editor.type(Keys.CONTROL + "=" + Keys.NULL);
  await editor.type(Keys.CONTROL + "=" + Keys.NULL);
  await s.waitFor("the larger text", async () => (await size()) > before * 1.25);
  assert.equal(await s.execute("return document.getElementById('text-size').value"), "1.3");
  assert.equal(await s.execute("return localStorage.getItem('fieldbrief.textScale')"), "1.3");
  await screenshot("text-130-percent");
  await editor.type(Keys.CONTROL + "0" + Keys.NULL);
  await s.waitFor("the usual size", async () => Math.abs((await size()) - before) < 0.5);
  await s.execute("const t = document.getElementById('theme'); t.value = 'contrast'; t.dispatchEvent(new Event('change'));");
  assert.equal(
    await s.execute("return getComputedStyle(document.body).backgroundColor + ' ' + getComputedStyle(document.body).color"),
    "rgb(0, 0, 0) rgb(255, 255, 255)",
  );
  await screenshot("high-contrast");
  await s.execute("const t = document.getElementById('theme'); t.value = 'light'; t.dispatchEvent(new Event('change'));");
});

test("a summary that finishes behind other windows is announced by the desktop, unless turned off", async () => {
  const before = notificationsSent().length;
  // The window goes behind another one (the event the desktop sends it).
  await s.execute("window.dispatchEvent(new Event('blur'))");
  await summarizeAndWait();
  await s.waitFor("the notification", async () => notificationsSent().length > before, 15000);
  const sent = notificationsSent().at(-1);
  assert.ok(sent.includes("Summary ready"), JSON.stringify(sent));
  assert.ok(sent.some((x) => x.includes("substation-inspection.pdf")), JSON.stringify(sent));
  // dunst draws it on the screen: the whole screen, window and notification.
  await new Promise((r) => setTimeout(r, 500));
  screenGrab("desktop-notification");
  // In front, nothing is sent.
  await s.execute("window.dispatchEvent(new Event('focus'))");
  await summarizeAndWait();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(notificationsSent().length, before + 1, "a window in front gets no notification");
  // Turned off in Settings: nothing, even behind other windows.
  await click("#tab-settings");
  await s.waitFor("the settings", () => visible("#notifications"));
  await click("#notifications");
  await click("#save-settings");
  await s.waitFor("saved", async () => (await text("#settings-saved")) === "Saved.");
  assert.match(fs.readFileSync(path.join(home, "config.toml"), "utf8"), /\[ui\]\s*notifications = false/);
  await click("#tab-summarize");
  await s.execute("window.dispatchEvent(new Event('blur'))");
  await summarizeAndWait();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(notificationsSent().length, before + 1, "notifications off: none sent");
  await s.execute("window.dispatchEvent(new Event('focus'))");
  await click("#tab-settings");
  await click("#notifications");
  await click("#save-settings");
  await s.waitFor("saved", async () => (await text("#settings-saved")) === "Saved.");
  await click("#tab-summarize");
});

test("a second launch brings the running window to the front with the note it was given", async () => {
  const started = Date.now();
  const second = spawn(app, [path.join(samples, "pump-inspection.md")], {
    stdio: "ignore",
    env: { ...process.env, FIELDBRIEF_HOME: home, FIELDBRIEF_SCRIPTED_DIALOGS: dialogAnswer },
  });
  const code = await new Promise((resolve) => second.on("exit", resolve));
  assert.equal(code, 0, "the second launch hands over and exits");
  assert.ok(Date.now() - started < 15000, "without loading anything");
  await s.waitFor("the hand-over", async () => (await text("#toast")).includes("Fieldbrief is already open"));
  await s.waitFor("the note it was given", async () => (await text("#source-chip")).includes("pump-inspection.md"));
  await screenshot("second-launch");
});

test("a corrupt PDF shows a clear error and no summary", async () => {
  const good = fs.readFileSync(path.join(samples, "substation-inspection.pdf"));
  const broken = path.join(work, "broken-report.pdf");
  fs.writeFileSync(broken, good.subarray(0, Math.floor(good.length / 3)));
  answerDialogWith(broken);
  await click("#open-file");
  await s.waitFor("the file chip", async () => (await text("#source-chip")).includes("broken-report.pdf"));
  await summarizeAndWait();
  const message = await text("#summarize-error");
  assert.equal(await visible("#summarize-error"), true);
  assert.match(message, /broken-report\.pdf: corrupt PDF/, message);
  assert.doesNotMatch(message, /panick|Error\(|\bat src\//, message);
  assert.equal(await visible("#route-badge"), false);
  await screenshot("corrupt-pdf-error");
});

test("a model imported from disk summarizes locally", async () => {
  assert.ok(model && fs.existsSync(model), `FIELDBRIEF_E2E_MODEL must name a generated GGUF (got ${model})`);
  await click("#tab-models");
  await s.waitFor("the models view", () => visible("#import-model"));
  answerDialogWith(model);
  await click("#import-model");
  const id = path.basename(model, ".gguf");
  await s.waitFor("the imported model", async () => (await s.findAll(`tr[data-model="${id}"].active`)).length === 1, 30000);
  assert.match(await text(`tr[data-model="${id}"]`), /Active/);
  await s.waitFor("the status bar", async () => (await text("#status-model")) === `Model: ${id}`);
  await screenshot("models");

  await click("#tab-summarize");
  await click("#clear-source");
  await summarizeAndWait();
  assert.equal(await visible("#summarize-error"), false, await text("#summarize-error"));
  // The model read the note, but random weights write noise: the quality gate fails it, the
  // model is asked once more, and the extractive summary stands in, saying why.
  assert.equal(await (await s.find("#route-badge")).attribute("data-route"), "extractive");
  assert.match(await text("#why-reasons"), /asked once more/i);
  assert.match(await text("#why-reasons"), /extractive summary/i);
  assert.match(await text("#doc-info"), new RegExp(`model ${id}`));
  await screenshot("local-summary");
});

test("a model from the organisation's signed catalog downloads with progress, pauses, resumes and installs", async () => {
  publishModel(model);
  await click("#tab-models");
  await click("#check-updates");
  const row = '#catalog-body tr[data-catalog="fieldtiny"]';
  await s.waitFor("the organisation's catalog", async () => (await s.findAll(row)).length === 1, 30000);
  assert.match(await text("#catalog-source"), /E2E Field Ops/);
  await click(`${row} .pull-model`);

  // Half the file arrives, then the server goes quiet: the bar shows the half, not zero.
  const half = Math.floor(org.files.get("fieldtiny-1.gguf").length / 2);
  const dl = '[data-download="fieldtiny"]';
  await s.waitFor(
    "half the download",
    async () => {
      const bars = await s.findAll(`${dl} progress`);
      return bars.length === 1 && Number(await bars[0].property("value")) === half;
    },
    30000,
  );
  assert.match(await text(`${dl} .download-state`), /fieldtiny 1/);
  await screenshot("download-half");

  await click(`${dl} .pause-download`);
  await s.waitFor("the pause", async () => (await (await s.find(dl)).attribute("data-state")) === "paused");
  await s.waitFor("the app to let go of the connection", async () => org.released, 10000);
  await click(`${dl} .resume-download`);
  await s.waitFor("the installed model", async () => (await s.findAll('tr[data-model="fieldtiny"]')).length === 1, 60000);
  assert.match(await text('tr[data-model="fieldtiny"]'), /Signed/);
  await s.waitFor("the catalog row", async () => /Installed/.test(await text(row)));
  const starts = org.requests.filter((r) => r.name === "fieldtiny-1.gguf").map((r) => r.start);
  assert.deepEqual(starts, [0, half], "resumed where it paused, not started over");
  // The model imported before is still the one in use.
  assert.equal(await text("#status-model"), `Model: ${path.basename(model, ".gguf")}`);
  await screenshot("download-installed");
  await click("#tab-summarize");
});

test("a folder on a USB stick with the organisation's signed catalog imports under its version", async () => {
  const stick = path.join(work, "usb-stick");
  fs.mkdirSync(stick, { recursive: true });
  const bytes = fs.readFileSync(model);
  fs.writeFileSync(path.join(stick, "fieldtiny-2.gguf"), bytes);
  const { manifest, signature } = signedCatalog(bytes, "2", "fieldtiny-2.gguf");
  fs.writeFileSync(path.join(stick, "catalog.json"), manifest);
  fs.writeFileSync(path.join(stick, "catalog.json.sig"), signature);
  await click("#tab-models");
  answerDialogWith(stick);
  await click("#import-model-folder");
  await s.waitFor("version 2", async () => (await s.findAll('tr[data-model="fieldtiny"][data-version="2"]')).length === 1, 30000);
  const row = await text('tr[data-model="fieldtiny"][data-version="2"]');
  assert.match(row, /Signed/);
  assert.match(row, /Current version/);
  assert.match(await text('tr[data-model="fieldtiny"][data-version="1"]'), /Kept for rollback/);
  assert.equal(await visible("#models-error"), false);
  await screenshot("usb-folder-import");
  await click("#tab-summarize");
});

test("Esc cancels a running summary and the app goes on", async () => {
  answerDialogWith(path.join(samples, "incident-report-long.md"));
  await click("#open-file");
  await s.waitFor("the file chip", async () => (await text("#source-chip")).includes("incident-report-long.md"));
  await click("#summarize");
  await s.waitFor("the engine to work", async () => /in parts: \d+ of \d+ done/.test(await text("#progress-label")), 60000);
  await screenshot("long-note-running");
  await (await s.find("#note-editor")).type(Keys.ESCAPE);
  await s.waitFor("the cancellation", async () => (await text("#summary-output")).startsWith("Cancelled."), 30000);
  assert.equal(await visible("#cancel"), false);
  assert.equal(await (await s.find("#summarize")).property("disabled"), false);
  assert.equal(await visible("#summarize-error"), false);
  await screenshot("cancelled");
});

test("history finds notes by their words and opens them", async () => {
  await click("#tab-history");
  const search = await s.find("#history-search");
  await search.type("substation");
  await s.waitFor("search results", async () => (await text("#history-count")).match(/^\d+ match/));
  const rows = await s.findAll("#history-list [data-note-id]");
  assert.ok(rows.length >= 1);
  assert.ok((await s.findAll("#history-list mark")).length >= 1, "hits are highlighted");
  await rows[0].click();
  await s.waitFor("the note", async () => (await text("#note-detail h2")).length > 0);
  assert.match(await text("#note-detail"), /Summaries/);
  await screenshot("history-search");

  await search.clear();
  await search.type("no-such-word-anywhere");
  await s.waitFor("no results", async () => (await text("#history-count")).startsWith("Nothing matches"));
});

test("the ledger shows where the summaries went, with charts", async () => {
  await click("#tab-ledger");
  await s.waitFor("the ledger", async () => Number(await text("#card-requests .card-value")) > 0);
  assert.match(await text("#card-cost"), /per successful summary/);
  assert.ok((await s.findAll("#ledger-rows tr")).length >= 2, "rows per route and model");
  // Chart.js drew into the canvases (a canvas it could not use is replaced by a notice).
  assert.equal((await s.findAll("#chart-route-mix")).length, 1);
  const drawn = await s.execute("const c = document.getElementById('chart-route-mix'); return c.width > 0 && c.height > 0;");
  assert.equal(drawn, true);
  await screenshot("ledger");
});

test("settings: the cloud cannot be switched on half-configured; saved settings reach the status bar and config.toml", async () => {
  await click("#tab-settings");
  await s.waitFor("the settings form", async () => (await text("#config-path")).includes("config.toml"));
  assert.equal(await (await s.find("#cloud-enabled")).property("checked"), false, "cloud is off by default");
  await click("#cloud-enabled");
  await click("#save-settings");
  await s.waitFor("the refusal", async () => await visible("#settings-error"));
  assert.match(await text("#settings-error"), /needs an endpoint and a model/);
  assert.ok(!fs.existsSync(path.join(home, "config.toml")) || !fs.readFileSync(path.join(home, "config.toml"), "utf8").includes("enabled = true"));

  // A loopback endpoint with nothing behind it, and "work offline": nothing is ever probed.
  await (await s.find("#cloud-endpoint")).type("http://127.0.0.1:9/v1");
  await (await s.find("#cloud-model")).type("fleet-model");
  await click("#work-offline");
  await s.execute("const p = document.getElementById('power-mode'); p.value = 'saver';");
  await click("#add-pattern");
  await (await s.find(".pattern-row .pattern-name")).type("site_id");
  await (await s.find(".pattern-row .pattern-re")).type("SITE-\\d{4}");
  await click("#save-settings");
  await s.waitFor("saved", async () => (await text("#settings-saved")) === "Saved.");
  await s.waitFor("the status bar to follow", async () => (await text("#status-network")).startsWith("Working offline"));
  assert.match(await text("#status-power"), /Saver$/);
  const config = fs.readFileSync(path.join(home, "config.toml"), "utf8");
  assert.match(config, /enabled = true/);
  assert.match(config, /site_id = .SITE-\\+d\{4\}/);
  await screenshot("settings");

  // Back to the defaults for the steps after this one.
  await click("#cloud-enabled");
  await click("#work-offline");
  await s.execute("const p = document.getElementById('power-mode'); p.value = 'auto';");
  await click("#save-settings");
  await s.waitFor("the status bar to follow", async () => (await text("#status-network")).startsWith("Cloud: off"));
});

test("the smallest window, dark theme, keyboard only", async () => {
  // From the History view (the steps before may have left another view showing).
  await click("#tab-history");
  await s.setWindowRect({ width: 1024, height: 640 }).catch(() => {});
  await s.execute("const t = document.getElementById('theme'); t.value = 'dark'; t.dispatchEvent(new Event('change'));");
  await (await s.find("#history-search")).type(Keys.ALT + "1" + Keys.NULL);
  await s.waitFor("the summarize view", async () => (await (await s.find("#tab-summarize")).attribute("aria-selected")) === "true");
  const fits = await s.execute(
    "const d = document.documentElement; return d.scrollWidth <= d.clientWidth + 1 && d.scrollHeight <= d.clientHeight + 1;",
  );
  assert.equal(fits, true, "nothing overflows the window");
  assert.equal(await s.execute("return document.documentElement.dataset.theme"), "dark");
  await screenshot("dark-1024x640");
});
