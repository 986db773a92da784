// The Ledger view (the fuel ledger's dashboard): where the summaries went and what they cost.
// Route mix over time, latency p50/p95, success and cloud fallback by power mode and device
// class, cost per successful summary, cache hit rate. The chart data is shaped by pure
// functions (tested); Chart.js only draws it.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { h, clear } from "../dom";
import { errorBox, type Context, type View } from "../context";
import { routeLabel } from "../format";
import type { Dashboard, LedgerDay, TrialRow, UiError } from "../types";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);

const ROUTE_ORDER = ["cache", "local", "local-chunked", "extractive", "cloud", "deferred", "none"];

/** The stylesheet's route colours (the badges use the same ones). */
function routeColour(route: string): string {
  const css = typeof getComputedStyle === "function" ? getComputedStyle(document.documentElement) : null;
  const v = (name: string, fallback: string) => css?.getPropertyValue(name).trim() || fallback;
  switch (route) {
    case "cache":
      return v("--badge-cache", "#6b7280");
    case "local":
      return v("--badge-local", "#1e7d4f");
    case "local-chunked":
      return "#5aa77f";
    case "extractive":
      return v("--badge-extractive", "#5b5fc7");
    case "cloud":
      return v("--badge-cloud", "#0b6bcb");
    case "deferred":
      return "#c77d1e";
    default:
      return v("--bad", "#b3261e");
  }
}

/** Route mix per day: one stacked dataset per route seen. */
export function routeMix(days: LedgerDay[]) {
  const seen = new Set(days.flatMap((d) => Object.keys(d.routes)));
  const routes = [...ROUTE_ORDER.filter((r) => seen.has(r)), ...[...seen].filter((r) => !ROUTE_ORDER.includes(r)).sort()];
  return {
    labels: days.map((d) => d.day),
    datasets: routes.map((r) => ({ label: r === "none" ? "Refused" : routeLabel(r), data: days.map((d) => d.routes[r] ?? 0), backgroundColor: routeColour(r) })),
  };
}

/** Latency p50 / p95 per day, in ms. */
export function latencySeries(days: LedgerDay[]) {
  return {
    labels: days.map((d) => d.day),
    datasets: [
      { label: "p50 (ms)", data: days.map((d) => Math.round(d.latency_p50_ms)), borderColor: "#16707a", backgroundColor: "#16707a" },
      { label: "p95 (ms)", data: days.map((d) => Math.round(d.latency_p95_ms)), borderColor: "#e07a1f", backgroundColor: "#e07a1f" },
    ],
  };
}

/** Local success and cloud fallback (percent) per power mode and device class. */
export function trialSeries(trial: TrialRow[]) {
  return {
    labels: trial.map((t) => `${t.power_mode} · ${t.device_class}`),
    datasets: [
      // No local request in a group: a gap, not "0 % success".
      { label: "Local success %", data: trial.map((t) => (t.local_success_rate == null ? null : Math.round(t.local_success_rate * 1000) / 10)), backgroundColor: "#1e7d4f" },
      { label: "Cloud fallback %", data: trial.map((t) => Math.round(t.cloud_fallback_rate * 1000) / 10), backgroundColor: "#0b6bcb" },
    ],
  };
}

export function money(v: number | null, currency: string): string {
  if (v == null) return "—";
  // Fractions of a cent are the norm for one summary: show enough digits to see them.
  const digits = v !== 0 && Math.abs(v) < 0.01 ? 5 : 2;
  return `${v.toFixed(digits)} ${currency}`;
}

const pct = (v: number | null) => (v == null ? "—" : `${(v * 100).toFixed(1)} %`);

export function ledgerView(ctx: Context): View & { refresh: () => Promise<void> } {
  const errors = errorBox("ledger-error");
  const since = h(
    "select",
    { id: "ledger-since", "aria-label": "Period" },
    h("option", { value: "" }, "All time"),
    h("option", { value: "30" }, "Last 30 days"),
    h("option", { value: "7" }, "Last 7 days"),
  );
  since.addEventListener("change", () => void refresh());
  const cards = h("div", { id: "ledger-cards", class: "cards" });
  const empty = h("p", { id: "ledger-empty", class: "muted", hidden: true }, "No requests yet: summarize a note and its cost, route and outcome appear here.");
  const canvases = {
    mix: h("canvas", { id: "chart-route-mix", role: "img", "aria-label": "Requests per day by route" }),
    latency: h("canvas", { id: "chart-latency", role: "img", "aria-label": "Latency p50 and p95 per day" }),
    trial: h("canvas", { id: "chart-trial", role: "img", "aria-label": "Local success and cloud fallback by power mode and device class" }),
  };
  const trialBody = h("tbody", { id: "trial-body" });
  const rowsBody = h("tbody", { id: "ledger-rows" });
  const head = (...cols: string[]) => h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", { scope: "col" }, c))));
  const charts = h(
    "div",
    { class: "charts" },
    h("figure", {}, h("figcaption", {}, "Route mix over time"), h("div", { class: "chart-box" }, canvases.mix)),
    h("figure", {}, h("figcaption", {}, "Latency p50 / p95"), h("div", { class: "chart-box" }, canvases.latency)),
    h("figure", {}, h("figcaption", {}, "Local success and cloud fallback by power mode and device"), h("div", { class: "chart-box" }, canvases.trial)),
  );
  const tables = h(
    "div",
    { class: "ledger-tables" },
    h("h3", {}, "Hybrid route trial"),
    h("table", { class: "table", id: "trial-table" }, head("Power", "Device", "Local models", "Requests", "Local success", "Local p50", "Local p95", "Cloud fallback", "Cost per success"), trialBody),
    h("h3", {}, "By route and model"),
    h("table", { class: "table", id: "rows-table" }, head("Route", "Model", "Power", "Device", "Requests", "Success", "Fallback", "p50", "p95", "Cost per success"), rowsBody),
  );
  const el = h(
    "section",
    { id: "view-ledger", class: "view", "aria-label": "Ledger" },
    h("div", { class: "toolbar" }, h("h2", {}, "Where your summaries went"), h("span", { class: "spacer" }), since),
    errors.el,
    empty,
    cards,
    charts,
    tables,
  );
  const drawn: Chart[] = [];

  function draw(canvas: HTMLCanvasElement, config: ChartConfiguration) {
    try {
      drawn.push(new Chart(canvas, { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } }));
    } catch {
      // No canvas (a test DOM, a renderer without 2D): the tables below carry the same data.
      canvas.replaceWith(h("p", { class: "muted" }, "Chart unavailable; see the tables below."));
    }
  }

  function card(label: string, value: string, id: string) {
    return h("div", { class: "card", id }, h("span", { class: "card-value" }, value), h("span", { class: "muted" }, label));
  }

  function render(d: Dashboard) {
    const r = d.report;
    empty.hidden = r.requests > 0;
    charts.hidden = tables.hidden = r.requests === 0;
    clear(
      cards,
      card("requests", String(r.requests), "card-requests"),
      card("succeeded", pct(r.requests ? r.succeeded / r.requests : null), "card-success"),
      card("cost per successful summary", money(r.cost_per_success, d.currency), "card-cost"),
      card("cache hit rate", pct(r.requests ? r.cache_hit_rate : null), "card-cache"),
      card("energy", `${r.energy_wh.toFixed(2)} Wh`, "card-energy"),
    );
    clear(
      trialBody,
      ...r.trial.map((t) =>
        h(
          "tr",
          {},
          h("td", {}, t.power_mode),
          h("td", {}, t.device_class),
          h("td", {}, t.local_models.join(", ") || "—"),
          h("td", {}, String(t.requests)),
          h("td", {}, pct(t.local_success_rate)),
          h("td", {}, t.local_requests ? `${Math.round(t.local_latency_p50_ms)} ms` : "—"),
          h("td", {}, t.local_requests ? `${Math.round(t.local_latency_p95_ms)} ms` : "—"),
          h("td", {}, pct(t.cloud_fallback_rate)),
          h("td", {}, money(t.cost_per_success, d.currency)),
        ),
      ),
    );
    clear(
      rowsBody,
      ...r.rows.map((x) =>
        h(
          "tr",
          { "data-route": x.route },
          h("td", {}, x.route === "none" ? "Refused" : routeLabel(x.route)),
          h("td", { class: "mono" }, x.model),
          h("td", {}, x.power_mode),
          h("td", {}, x.device_class),
          h("td", {}, String(x.requests)),
          h("td", {}, pct(x.success_rate)),
          h("td", {}, pct(x.fallback_rate)),
          h("td", {}, `${Math.round(x.latency_p50_ms)} ms`),
          h("td", {}, `${Math.round(x.latency_p95_ms)} ms`),
          h("td", {}, money(x.cost_per_success, d.currency)),
        ),
      ),
    );
    for (const c of drawn.splice(0)) c.destroy();
    if (r.requests === 0) return;
    draw(canvases.mix, { type: "bar", data: routeMix(d.days), options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });
    draw(canvases.latency, { type: "line", data: latencySeries(d.days), options: { scales: { y: { beginAtZero: true } } } });
    draw(canvases.trial, { type: "bar", data: trialSeries(r.trial), options: { scales: { y: { beginAtZero: true, max: 100 } } } });
  }

  async function refresh() {
    errors.clear();
    const days = Number(since.value);
    const from = days ? new Date(Date.now() - days * 86400000).toISOString().slice(0, 10) : undefined;
    try {
      render(await ctx.api.dashboard(from));
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  return { el, refresh, shown: () => void refresh() };
}
