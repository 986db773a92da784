import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { report } from "../format.test";
import { byId, fakeContext, fakeShell, key, reset, sendOnChannel, settle, type } from "../test-helpers";
import type { SummaryReport } from "../types";
import { summarizeView } from "./summarize";

let listeners = new AbortController();

function mount() {
  const notes: string[] = [];
  const ctx = { ...fakeContext(), notify: (m: string) => notes.push(m) };
  const view = summarizeView(ctx);
  document.body.append(view.el);
  document.addEventListener("keydown", (e) => view.onKey?.(e), { signal: listeners.signal });
  return { view, ctx, notes };
}

describe("Summarize view", () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => {
    listeners.abort();
    listeners = new AbortController();
    reset();
  });

  it("autosaves what is typed as a draft, reusing the draft's id", async () => {
    let nextId = 7;
    const shell = fakeShell({ save_draft: (a) => (a.id as number | null) ?? nextId++ });
    mount();
    const editor = byId<HTMLTextAreaElement>("note-editor");
    type(editor, "Pump P-101");
    type(editor, "Pump P-101 bearing hot");
    await settle(450);
    await settle();
    expect(shell.named("save_draft")).toEqual([{ id: null, body: "Pump P-101 bearing hot" }]);
    type(editor, "Pump P-101 bearing hot, 78 °C");
    await settle(450);
    await settle();
    expect(shell.named("save_draft")[1]).toEqual({ id: 7, body: "Pump P-101 bearing hot, 78 °C" });
    expect(byId("autosave-state").textContent).toBe("Draft saved");
  });

  it("says plainly when a draft could not be saved", async () => {
    fakeShell({ save_draft: () => Promise.reject({ kind: "failure", message: "database or disk is full" }) });
    mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "note");
    await settle(450);
    await settle();
    expect(byId("autosave-state").textContent).toBe("Not saved: database or disk is full");
  });

  it("streams tokens, then shows the summary, the route badge and why (Ctrl+Enter)", async () => {
    let finish: (r: SummaryReport) => void = () => {};
    let channel: unknown;
    const shell = fakeShell({
      save_draft: () => 3,
      summarize: (a) => {
        channel = a.onEvent;
        return new Promise((resolve) => (finish = resolve));
      },
      feedback: () => null,
    });
    const { ctx } = mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "Pump P-101 bearing at 78 °C. Seal kit SK-22 to order.");
    byId<HTMLSelectElement>("style").value = "handover";
    byId<HTMLInputElement>("max-words").value = "60";
    key("Enter", { ctrlKey: true });
    await settle();
    const request = shell.named("summarize")[0].request as Record<string, unknown>;
    expect(request).toEqual({ source: { kind: "draft", id: 3, body: "Pump P-101 bearing at 78 °C. Seal kit SK-22 to order." }, style: "handover", maxWords: 60, keepOnDevice: false, dryRun: false, ocr: false });
    expect(byId<HTMLButtonElement>("summarize").disabled).toBe(true);
    expect(byId("cancel").hidden).toBe(false);
    expect(ctx.setBusy).toHaveBeenCalledWith(true);

    sendOnChannel(channel, 0, { event: "progress", stage: "parts", done: 1, total: 3 });
    await settle();
    expect(byId("progress-label").textContent).toBe("Summarizing in parts: 1 of 3 done");
    expect(byId<HTMLProgressElement>("progress").value).toBe(1);
    sendOnChannel(channel, 1, { event: "token", text: "- Pump " });
    sendOnChannel(channel, 2, { event: "token", text: "P-101" });
    await settle(40);
    expect(byId("progress-label").textContent).toBe("Writing…");
    expect(byId<HTMLProgressElement>("progress").max).toBe(3);
    expect(byId("summary-output").textContent).toBe("- Pump P-101");

    finish(report({ route: "local-chunked", chunks: 3, summary: "- Pump P-101 bearing at 78 °C", reasons: [{ code: "doc_exceeds_local_context", detail: "the note needs 9000 tokens; the model holds 2048" }] }));
    await settle();
    expect(byId("summary-output").textContent).toBe("- Pump P-101 bearing at 78 °C");
    const badge = byId("route-badge");
    expect(badge.hidden).toBe(false);
    expect(badge.dataset.route).toBe("local-chunked");
    expect(badge.textContent).toBe("Local model, in parts · 3 parts");
    expect(byId("why").hidden).toBe(false);
    expect(byId("why-reasons").textContent).toBe("the note needs 9000 tokens; the model holds 2048");
    expect(byId<HTMLButtonElement>("summarize").disabled).toBe(false);
    expect(byId("cancel").hidden).toBe(true);

    byId("thumb-up").click();
    await settle();
    expect(shell.named("feedback")).toEqual([{ requestId: "req-1", outcome: "accepted" }]);
    expect(byId("thumb-up").getAttribute("aria-pressed")).toBe("true");
    byId("thumb-down").click();
    await settle();
    expect(shell.named("feedback")[1]).toEqual({ requestId: "req-1", outcome: "rejected" });
    expect(byId("thumb-up").getAttribute("aria-pressed")).toBe("false");
    expect(byId("thumb-down").getAttribute("aria-pressed")).toBe("true");
  });

  it("edits the summary: the correction is saved, shown and copied, and Esc discards an edit", async () => {
    const shell = fakeShell({
      save_draft: () => 3,
      summarize: () => report({ summary: "- Pump P-101 bearing at 78 °C" }),
      edit_summary: () => null,
      feedback: () => null,
    });
    const { notes } = mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "Pump P-101 bearing at 78 °C.");
    byId("summarize").click();
    await settle();
    expect(byId<HTMLButtonElement>("edit-summary").disabled).toBe(false);

    byId("edit-summary").click();
    const area = byId<HTMLTextAreaElement>("summary-editor");
    expect(area.value).toBe("- Pump P-101 bearing at 78 °C");
    expect(byId<HTMLButtonElement>("copy").disabled).toBe(true);
    area.value = "   ";
    byId("save-edit").click();
    await settle();
    expect(shell.named("edit_summary")).toHaveLength(0);
    expect(byId("summarize-error").textContent).toContain("cannot be empty");

    area.value = "- Pump P-101 bearing at 78 °C; replaced, 41 °C after";
    key("Enter", { ctrlKey: true });
    await settle();
    expect(shell.named("edit_summary")).toEqual([{ requestId: "req-1", text: "- Pump P-101 bearing at 78 °C; replaced, 41 °C after" }]);
    expect(shell.named("summarize"), "Ctrl+Enter saved the edit, it did not summarize again").toHaveLength(1);
    expect(byId("summary-output").textContent).toBe("- Pump P-101 bearing at 78 °C; replaced, 41 °C after");
    expect(notes).toContain("Your edit is saved");
    expect(byId<HTMLButtonElement>("copy").disabled).toBe(false);

    byId("edit-summary").click();
    byId<HTMLTextAreaElement>("summary-editor").value = "something else";
    key("Escape");
    await settle();
    expect(document.getElementById("summary-editor")).toBeNull();
    expect(byId("summary-output").textContent).toBe("- Pump P-101 bearing at 78 °C; replaced, 41 °C after");
    expect(shell.named("edit_summary")).toHaveLength(1);

    // A thumb after the edit, taken back: the request is "edited" again, not "pending".
    byId("thumb-up").click();
    await settle();
    byId("thumb-up").click();
    await settle();
    expect(shell.named("feedback")).toEqual([
      { requestId: "req-1", outcome: "accepted" },
      { requestId: "req-1", outcome: "edited" },
    ]);
  });

  it("an edit saved while a new summary starts does not overwrite the new one", async () => {
    let finishEdit: () => void = () => {};
    let summaries = 0;
    fakeShell({
      save_draft: () => 3,
      summarize: () => report({ request_id: `req-${++summaries}`, summary: summaries === 1 ? "first" : "second" }),
      edit_summary: () => new Promise<null>((resolve) => (finishEdit = () => resolve(null))),
    });
    const { view } = mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "Pump P-101 bearing at 78 °C.");
    byId("summarize").click();
    await settle();
    byId("edit-summary").click();
    byId<HTMLTextAreaElement>("summary-editor").value = "first, corrected";
    byId("save-edit").click();
    await settle();
    expect(byId<HTMLButtonElement>("summarize").disabled).toBe(true);
    // The save is slow; History's "Summarize again" starts a new summary meanwhile.
    view.summarizeSaved!(5, "Another note");
    await settle();
    finishEdit();
    await settle();
    expect(byId("summary-output").textContent).toBe("second");
  });

  it("shows the shell's error for a bad file, and no stale summary", async () => {
    fakeShell({
      pick_file: () => ({ token: 4, name: "broken.pdf", bytes: 2048, kind: "pdf" }),
      summarize: () => Promise.reject({ kind: "bad_input", message: "broken.pdf: not a valid PDF (the file is truncated or damaged)" }),
    });
    mount();
    byId("open-file").click();
    await settle();
    expect(byId("source-chip").hidden).toBe(false);
    expect(byId("source-chip").textContent).toContain("PDF: broken.pdf (2.0 KiB)");
    byId("summarize").click();
    await settle();
    const error = byId("summarize-error");
    expect(error.hidden).toBe(false);
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toBe("broken.pdf: not a valid PDF (the file is truncated or damaged)");
    expect(byId("route-badge").hidden).toBe(true);
    expect(byId<HTMLButtonElement>("copy").disabled).toBe(true);
  });

  it("offers OCR for a scan it can read here, asks for it only when clicked, and shows its progress", async () => {
    let channel: unknown;
    let finish: (r: SummaryReport) => void = () => {};
    const shell = fakeShell({
      pick_file: () => ({ token: 9, name: "scan.pdf", bytes: 90_000, kind: "pdf" }),
      summarize: (a) => {
        const request = a.request as { ocr: boolean };
        if (!request.ocr) {
          return Promise.reject({ kind: "scanned", message: "scan.pdf: no text layer on any of its 2 pages: it is a scan (images only)" });
        }
        channel = a.onEvent;
        return new Promise((resolve) => (finish = resolve));
      },
    });
    mount();
    byId("open-file").click();
    await settle();
    byId("summarize").click();
    await settle();
    expect(byId("summarize-error").textContent).toContain("it is a scan");
    const offer = byId<HTMLButtonElement>("ocr");
    expect(offer.hidden).toBe(false);
    expect((shell.named("summarize")[0].request as { ocr: boolean }).ocr).toBe(false);
    offer.click();
    await settle();
    expect((shell.named("summarize")[1].request as { ocr: boolean }).ocr).toBe(true);
    expect(offer.hidden).toBe(true);
    sendOnChannel(channel, 0, { event: "progress", stage: "ocr", done: 1, total: 2 });
    expect(byId("progress-label").textContent).toBe("Recognising text (OCR): page 2 of 2");
    finish(report());
    await settle();
    expect(byId("summarize-error").hidden).toBe(true);
    // Any other refusal offers nothing.
    fakeShell({ summarize: () => Promise.reject({ kind: "bad_input", message: "broken.pdf: corrupt PDF" }) });
    byId("summarize").click();
    await settle();
    expect(byId("ocr").hidden).toBe(true);
  });

  it("cancels with Esc and says the note is kept", async () => {
    let fail: (e: unknown) => void = () => {};
    const shell = fakeShell({
      save_draft: () => 1,
      summarize: () => new Promise((_, reject) => (fail = reject)),
      cancel_summary: () => {
        fail({ kind: "cancelled", message: "Cancelled" });
        return true;
      },
    });
    mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "a long note");
    byId("summarize").click();
    await settle();
    key("Escape");
    await settle();
    expect(shell.named("cancel_summary")).toHaveLength(1);
    expect(byId("summary-output").textContent).toContain("Cancelled. The note is saved");
    expect(byId("summarize-error").hidden).toBe(true);
    expect(byId("cancel").hidden).toBe(true);
  });

  it("refuses an empty note without calling the engine", async () => {
    const shell = fakeShell({});
    mount();
    byId("summarize").click();
    await settle();
    expect(shell.named("summarize")).toHaveLength(0);
    expect(byId("summarize-error").textContent).toContain("nothing to summarize");
  });

  it("takes a dropped file as the source, and sends models elsewhere", async () => {
    fakeShell({});
    const { view } = mount();
    view.dragging(true);
    expect(byId("drop-zone").hidden).toBe(false);
    view.filesDropped([{ token: 9, name: "model.gguf", bytes: 10, kind: "model" }]);
    expect(byId("drop-zone").hidden).toBe(true);
    expect(byId("summarize-error").textContent).toContain("Models view");
    view.filesDropped([{ token: 10, name: "visit.md", bytes: 300, kind: "text" }]);
    expect(byId("source-chip").textContent).toContain("File: visit.md");
    expect(byId("summarize-error").hidden).toBe(true);
    // Typing again returns to the editor.
    type(byId<HTMLTextAreaElement>("note-editor"), "x");
    expect(byId("source-chip").hidden).toBe(true);
  });

  it("restores the last draft after a restart", async () => {
    fakeShell({ load_draft: () => ({ id: 12, body: "half-typed note", updated_at: "2026-11-21T10:00:00Z" }), save_draft: (a) => a.id });
    const { view } = mount();
    await view.restoreDraft();
    expect(byId<HTMLTextAreaElement>("note-editor").value).toBe("half-typed note");
    expect(byId("autosave-state").textContent).toBe("Draft restored");
  });
  it("keeps a note on this device and previews exactly what would be sent", async () => {
    const dry = report({
      route: "cloud",
      dry_run: true,
      summary: null,
      note_id: null,
      preview: {
        endpoint: "https://llm.example/v1",
        model: "m",
        messages: [
          { role: "system", content: "You summarize field technicians' notes." },
          { role: "user", content: "Note:\nCall [EMAIL_1] about P-101." },
        ],
        redactions: [{ placeholder: "[EMAIL_1]", kind: "email" }],
        bytes: 80,
        when: "now",
      },
    });
    const shell = fakeShell({
      save_draft: () => 4,
      summarize: (a) => {
        const r = a.request as { keepOnDevice: boolean; dryRun: boolean };
        if (r.dryRun && r.keepOnDevice) {
          return report({ route: "extractive", dry_run: true, summary: null, reasons: [{ code: "cloud_denied_for_note", detail: "this note is kept on this device" }] });
        }
        return r.dryRun ? dry : report();
      },
    });
    mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "Call jo@example.org about P-101.");
    byId("preview-send").click();
    await settle();
    await settle();
    const preview = byId("send-preview");
    expect(preview.hidden).toBe(false);
    expect(preview.dataset.route).toBe("cloud");
    expect(preview.textContent).toContain("80 bytes would go to https://llm.example/v1");
    expect(byId("send-preview-text").textContent).toContain("Call [EMAIL_1] about P-101.");
    expect(preview.textContent).toContain("[EMAIL_1] (email)");
    expect(shell.named("summarize")[0].request).toMatchObject({ dryRun: true, keepOnDevice: false });

    byId<HTMLInputElement>("keep-on-device").click();
    byId("preview-send").click();
    await settle();
    await settle();
    expect(preview.textContent).toContain("Nothing would leave this laptop");
    expect(preview.textContent).toContain("this note is kept on this device");

    byId("summarize").click();
    await settle();
    await settle();
    expect(shell.named("summarize")[2].request).toMatchObject({ dryRun: false, keepOnDevice: true });
  });
  it("says when a previewed note would leave only if the summary on this laptop fails", async () => {
    fakeShell({
      save_draft: () => 4,
      summarize: () =>
        report({
          route: "local",
          dry_run: true,
          summary: null,
          note_id: null,
          preview: { endpoint: "https://llm.example/v1", model: "m", messages: [], redactions: [], bytes: 64, when: "if_quality_gate_fails" },
        }),
    });
    mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "P-101 bearing 78 °C.");
    byId("preview-send").click();
    await settle();
    await settle();
    const text = byId("send-preview").textContent ?? "";
    expect(text).toContain("64 bytes would go to https://llm.example/v1 (m) only if the summary made on this laptop fails the quality checks");
    expect(text).not.toContain("Nothing would leave this laptop");
  });
  it("offers a very similar earlier note without putting its summary in place of this one", async () => {
    fakeShell({
      save_draft: () => 4,
      summarize: () =>
        report({
          summary: "- Bearing at 81 °C on P-101",
          similar: { note_id: 17, note_title: "Pump P-101 inspection", summarized_at: "2026-05-12T09:30:00Z", similarity: 0.87, summary: "- Bearing at 78 °C on P-101", request_id: "r-old", route: "local" },
        }),
    });
    const { ctx } = mount();
    type(byId<HTMLTextAreaElement>("note-editor"), "Pump P-101 bearing at 81 °C.");
    byId("summarize").click();
    await settle();
    await settle();
    expect(byId("summary-output").textContent).toBe("- Bearing at 81 °C on P-101");
    const offer = byId("similar-offer");
    expect(offer.hidden).toBe(false);
    expect(offer.textContent).toContain("A very similar note was summarized on");
    expect(offer.textContent).toContain("“Pump P-101 inspection” (87 % alike)");
    expect(byId("similar-summary").textContent).toContain("78 °C");
    byId("open-similar").click();
    expect(ctx.openNote).toHaveBeenCalledWith(17);
  });
});
