import { describe, expect, it } from "vitest";
import { exportName, formatBytes, formatEta, formatRate, lengthLine, linesLine, reasonLines, snippetParts, summaryMarkdown } from "./format";
import type { SummaryReport } from "./types";

export function report(over: Partial<SummaryReport> = {}): SummaryReport {
  return {
    request_id: "req-1",
    note_id: 1,
    route: "extractive",
    reasons: [{ code: "no_local_model", detail: "no local model is installed" }],
    summary: "- Pump P-101 bearing at 78 °C\n- Seal kit SK-22 to order",
    model: null,
    engine: "extractive",
    prompt_version: "textrank-1",
    style: "bullets",
    max_words: 150,
    tokens: { input: 40, output: 12 },
    timings_ms: { ingest: 1, save_note: 1, route: 0, generate: 3, store: 1, total: 6, first_token: 0, drafted: 0, accepted: 0 },
    quality: { passed: true, checks: [] },
    dry_run: false,
    chunks: 1,
    document: { name: "pump-report.pdf", kind: "pdf", words: 40, tokens: 52, bytes: 900, encoding: "utf-8", pages: 2, notices: [] },
    length_from: null,
    interim_route: null,
    power: null,
    connectivity: { state: "not_probed", why: "cloud escalation is off" },
    preview: null,
    cloud_tokens: null,
    similar: null,
    cached: null,
    cost: null,
    energy_wh: null,
    device_class: null,
    ...over,
  };
}

describe("format", () => {
  it("exports the summary with where it came from", () => {
    const md = summaryMarkdown(report({ route: "local", model: { id: "qwen", version: "abc123" } }), new Date("2026-11-21T10:00:00.123Z"));
    expect(md.startsWith("# Summary: pump-report.pdf\n\n- Pump P-101 bearing at 78 °C\n- Seal kit SK-22 to order\n")).toBe(true);
    expect(md).toContain("- Route: Local model (qwen@abc123)");
    expect(md).toContain("- Made: 2026-11-21T10:00:00Z by Fieldbrief");
    expect(md).not.toContain("Quality checks failed");
  });

  it("says how long the summary is against its target and where the target came from", () => {
    const r = report({ max_words: 45, length_from: "note", document: { ...report().document, words: 150 } });
    expect(lengthLine(r)).toBe("11 of 45 words (scaled to the 150-word note)");
    expect(lengthLine({ ...r, length_from: "request" })).toBe("11 of 45 words (the length asked for)");
    expect(lengthLine({ ...r, length_from: null })).toBe("11 of 45 words");
    expect(linesLine({ lines: { written: 5, kept: 1 } })).toBe("the model rewrote 5 of 6 lines; 1 kept the note's own words");
    expect(linesLine({ lines: { written: 4, kept: 0 } })).toBe("the model rewrote 4 of 4 lines");
    expect(linesLine({})).toBe("");
    expect(summaryMarkdown(r)).toContain("- Style: bullets, 11 of 45 words (scaled to the 150-word note)\n");
  });

  it("says which quality checks failed", () => {
    const md = summaryMarkdown(
      report({ quality: { passed: false, checks: [{ name: "grounded", passed: false, detail: "" }, { name: "non_empty", passed: true, detail: "" }] } }),
    );
    expect(md).toContain("- Quality checks failed: grounded\n");
  });

  it("names exports after the note, safely", () => {
    expect(exportName("pump-report.pdf")).toBe("pump-report-summary.md");
    expect(exportName("Site 4 / Bay 2: notes.txt")).toBe("Site-4-Bay-2-notes-summary.md");
    expect(exportName("typed note")).toBe("typed-note-summary.md");
    expect(exportName("///")).toBe("note-summary.md");
  });

  it("splits search snippets into hits and text", () => {
    expect(snippetParts("the [bearing] ran [hot]")).toEqual([
      { text: "the ", hit: false },
      { text: "bearing", hit: true },
      { text: " ran ", hit: false },
      { text: "hot", hit: true },
    ]);
    expect(snippetParts("no hits")).toEqual([{ text: "no hits", hit: false }]);
  });

  it("prints sizes and reasons for people", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(1_170_000_000)).toBe("1.1 GiB");
    expect(reasonLines([{ code: "cloud_disabled", detail: "" }, { code: "cloud_denied_for_note", detail: "said so" }])).toEqual(["cloud disabled", "said so"]);
  });

  it("prints download rates in the units download tools use", () => {
    expect(formatRate(0)).toBe("0 B/s");
    expect(formatRate(Number.NaN)).toBe("0 B/s");
    expect(formatRate(850)).toBe("850 B/s");
    expect(formatRate(1500)).toBe("1.5 kB/s");
    expect(formatRate(3_200_000)).toBe("3.2 MB/s");
    expect(formatRate(250_000_000)).toBe("250 MB/s");
    expect(formatRate(1_200_000_000)).toBe("1.2 GB/s");
  });

  it("says roughly how long a download has left", () => {
    expect(formatEta(null)).toBe("");
    expect(formatEta(-1)).toBe("");
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe("");
    expect(formatEta(4)).toBe("a few seconds left");
    expect(formatEta(45)).toBe("less than a minute left");
    expect(formatEta(61)).toBe("about 1 min left");
    expect(formatEta(120)).toBe("about 2 min left");
    expect(formatEta(3599)).toBe("about 1 h left");
    expect(formatEta(2 * 3600 + 15 * 60)).toBe("about 2 h 15 min left");
  });
});
