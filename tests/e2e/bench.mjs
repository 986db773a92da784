// Benchmarks of the desktop app (not tests: nothing here passes or fails on a number):
//   - start to interactive: from asking for the app to the window answering with its views and
//     status bar filled in, over RUNS fresh starts;
//   - idle memory: resident set of the app process, and of the WebKit processes it starts, with
//     no model loaded;
//   - responsiveness while streaming: the longest gaps of a 10 ms timer on the page's main thread
//     while the tiny model summarizes the 32,000-word report in parts.
// Run by scripts/bench-app; prints a table and writes target/bench-app.json.

import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Session } from "./webdriver.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const app = process.env.FIELDBRIEF_APP;
const model = process.env.FIELDBRIEF_E2E_MODEL;
const runs = Number(process.env.RUNS ?? 5);
const port = 4700;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "fieldbrief-bench-"));
const answer = path.join(work, "dialog-answer");
fs.writeFileSync(answer, "\n");

const driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, FIELDBRIEF_HOME: path.join(work, "home"), FIELDBRIEF_SCRIPTED_DIALOGS: answer, WEBKIT_DISABLE_COMPOSITING_MODE: "1" },
});
await new Promise((r) => setTimeout(r, 1500));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function processes() {
  const out = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
      out.push({ pid: Number(pid), ppid, comm, rss });
    } catch {}
  }
  return out;
}

async function start() {
  const t0 = performance.now();
  const s = await Session.start(`http://127.0.0.1:${port}`, { "tauri:options": { application: app } });
  const inPage = await s.waitFor("the window to be interactive", () =>
    s.execute(
      "const e = document.getElementById('status-engine'); return e && !document.getElementById('app').hasAttribute('aria-busy') && e.textContent !== 'Engine: …' ? performance.now() : null",
    ),
  );
  return { s, wall: performance.now() - t0, inPage };
}

const starts = [];
let s;
for (let i = 0; i < runs; i++) {
  const r = await start();
  starts.push(r);
  if (i < runs - 1) {
    await r.s.end();
    await sleep(500);
  } else {
    s = r.s;
  }
}

// Idle: the last window, no model, 5 s after it became interactive.
await sleep(5000);
const procs = processes();
const appProc = procs.filter((p) => p.comm.startsWith("fieldbrief-app")).sort((a, b) => b.pid - a.pid)[0];
const webkit = procs.filter((p) => p.ppid === appProc.pid && /WebKit/i.test(p.comm));
const idle = { app_rss_mib: appProc.rss, webkit_rss_mib: webkit.reduce((a, p) => a + p.rss, 0), webkit_processes: webkit.map((p) => p.comm) };

// Streaming: import the tiny model, summarize the long report, watch the main thread.
fs.writeFileSync(answer, model + "\n");
await (await s.find("#tab-models")).click();
await (await s.find("#import-model")).click();
await s.waitFor("the model", async () => (await s.findAll("tr.active")).length === 1, 30000);
await (await s.find("#tab-summarize")).click();
fs.writeFileSync(answer, path.join(root, "assets/samples/incident-report-long.md") + "\n");
await (await s.find("#open-file")).click();
await sleep(500);
await s.execute(`
  window.__gaps = []; let last = performance.now();
  window.__timer = setInterval(() => { const now = performance.now(); window.__gaps.push(now - last); last = now; }, 10);`);
const t0 = performance.now();
await (await s.find("#summarize")).click();
await s.waitFor("the summary", () => s.execute("return !document.getElementById('summarize').disabled && !!document.getElementById('route-badge').dataset.route"), 300000);
const summaryMs = performance.now() - t0;
const gaps = await s.execute("clearInterval(window.__timer); return window.__gaps");
const route = await s.execute("return document.getElementById('route-badge').dataset.route");
gaps.sort((a, b) => a - b);
const streaming = {
  route,
  summary_s: summaryMs / 1000,
  timer_ticks: gaps.length,
  gap_p50_ms: gaps[Math.floor(gaps.length * 0.5)],
  gap_p99_ms: gaps[Math.floor(gaps.length * 0.99)],
  gap_max_ms: gaps[gaps.length - 1],
};
await s.end();
driver.kill();
fs.rmSync(work, { recursive: true, force: true });

const result = {
  app,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  start_to_interactive_ms: { runs, median_wall: median(starts.map((r) => r.wall)), median_in_page: median(starts.map((r) => r.inPage)), all_wall: starts.map((r) => Math.round(r.wall)) },
  idle_memory: idle,
  streaming,
};
fs.mkdirSync(path.join(root, "target"), { recursive: true });
fs.writeFileSync(path.join(root, "target/bench-app.json"), JSON.stringify(result, null, 2));
const f = (x) => x.toFixed(1);
console.log(`start to interactive (median of ${runs}): ${f(result.start_to_interactive_ms.median_wall)} ms from launch request (WebDriver included), ${f(result.start_to_interactive_ms.median_in_page)} ms after the page began loading`);
console.log(`idle RSS, no model: app ${f(idle.app_rss_mib)} MiB; WebKit processes ${f(idle.webkit_rss_mib)} MiB (${idle.webkit_processes.join(", ")})`);
console.log(`while summarizing the 32k-word report (${route}, ${f(streaming.summary_s)} s): main-thread timer gap p50 ${f(streaming.gap_p50_ms)} ms, p99 ${f(streaming.gap_p99_ms)} ms, max ${f(streaming.gap_max_ms)} ms`);
