// The Summarize view: the note editor (autosaved), files by dialog or drop, style and length,
// streaming output with progress, the route badge and its reasons, copy / export / feedback.

import { debounce, h, clear, icon, ICONS } from "../dom";
import { errorBox, type Context, type View } from "../context";
import { windowInFront } from "../focus";
import { exportName, formatBytes, formatMs, formatWhen, lengthLine, linesLine, reasonLines, ROUTE_MEANINGS, routeLabel, summaryMarkdown } from "../format";
import type { EngineEvent, GrantedFile, Outcome, Route, SendWhen, Source, Style, SummaryReport, UiError } from "../types";

type Input =
  | { kind: "editor" }
  | { kind: "file"; file: GrantedFile }
  | { kind: "saved"; id: number; title: string };

export interface SummarizeView extends View {
  /** Summarize a note from history again. */
  summarizeSaved: (id: number, title: string) => void;
  /** Restores the last draft into the editor (at start-up). */
  restoreDraft: () => Promise<void>;
  /** Files dropped on the window. */
  filesDropped: (files: GrantedFile[]) => void;
  dragging: (active: boolean) => void;
  /** Saves the editor now (before the window closes). */
  flush: () => void;
}

export function summarizeView(ctx: Context): SummarizeView {
  let input: Input = { kind: "editor" };
  let draftId: number | null = null;
  let running = false;
  let report: SummaryReport | null = null;
  let outcome: Outcome | null = null;
  /** The summary's editor while the technician corrects it. */
  let editing: HTMLTextAreaElement | null = null;
  let savingEdit = false;
  /** The shown summary is the technician's correction (its outcome is "edited" unless rated). */
  let edited = false;

  // ── Note side ──────────────────────────────────────────────────────────────
  const editor = h("textarea", {
    id: "note-editor",
    "aria-label": "Note",
    placeholder: "Type or paste a note, open a file (Ctrl+O), or drop a .txt, .md or .pdf file here.",
    spellcheck: "true",
  });
  const saveState = h("span", { id: "autosave-state", class: "muted", "aria-live": "polite" });
  const sourceName = h("span", { class: "chip-name" });
  const sourceChip = h(
    "div",
    { id: "source-chip", class: "chip", hidden: true },
    sourceName,
    h("button", { type: "button", class: "link", id: "clear-source", onclick: () => setInput({ kind: "editor" }) }, "Use the editor instead"),
  );
  const dropZone = h("div", { id: "drop-zone", class: "drop-zone", hidden: true }, "Drop a .txt, .md or .pdf file to summarize it");
  const openButton = h("button", { type: "button", id: "open-file", title: "Open a note or report (Ctrl+O)", onclick: () => void openFile() }, "Open file…");

  const styleSelect = h(
    "select",
    { id: "style", "aria-label": "Summary style" },
    h("option", { value: "bullets" }, "Bullets"),
    h("option", { value: "brief" }, "Brief"),
    h("option", { value: "handover" }, "Handover (found / done / open)"),
  );
  const lengthInput = h("input", {
    id: "max-words",
    type: "number",
    min: 10,
    max: 2000,
    step: 10,
    placeholder: "auto",
    "aria-label": "Maximum words",
    title: "Maximum words (empty: the style's default)",
  });
  const keepInput = h("input", { type: "checkbox", id: "keep-on-device" }) as HTMLInputElement;
  const keepLabel = h(
    "label",
    { title: "This note never goes to the cloud, now or later, whatever the settings say" },
    keepInput,
    " Keep on this device",
  );
  const previewButton = h(
    "button",
    { type: "button", id: "preview-send", class: "link", title: "Show exactly what would leave this laptop for this note", onclick: () => void preview() },
    "What would be sent?",
  );
  const sendPreview = h("div", { id: "send-preview", class: "preview", hidden: true });
  const summarizeButton = h("button", { type: "button", id: "summarize", class: "primary", title: "Summarize (Ctrl+Enter)", onclick: () => void run() }, "Summarize");
  const cancelButton = h("button", { type: "button", id: "cancel", hidden: true, title: "Cancel (Esc)", onclick: () => void cancel() }, "Cancel");

  // ── Summary side ───────────────────────────────────────────────────────────
  const progress = h("progress", { id: "progress", hidden: true, "aria-label": "Progress" });
  const progressLabel = h("span", { id: "progress-label", class: "muted", "aria-live": "polite" });
  const badge = h("span", { id: "route-badge", class: "badge", hidden: true });
  const why = h("details", { id: "why", hidden: true }, h("summary", {}, "Why this route?"), h("ul", { id: "why-reasons" }));
  const output = h("div", { id: "summary-output", class: "summary", tabindex: 0, "aria-label": "Summary", "aria-live": "off" });
  const placeholder = h("p", { class: "muted placeholder" }, "The summary appears here as it is written.");
  output.append(placeholder);
  const quality = h("div", { id: "quality", class: "warning", hidden: true });
  // "A very similar note was summarized on …": offered, never served in this note's place.
  const similar = h("div", { id: "similar-offer", class: "offer", role: "note", hidden: true });
  const docInfo = h("p", { id: "doc-info", class: "muted" });
  const errors = errorBox("summarize-error");
  const ocrButton = h(
    "button",
    {
      type: "button",
      id: "ocr",
      hidden: true,
      title: "Recognise the scanned pages' text on this laptop (Tesseract); check names and figures against the original",
      onclick: () => void run({ ocr: true }),
    },
    "Recognise text (OCR)",
  );
  const editButton = h("button", { type: "button", id: "edit-summary", disabled: true, title: "Correct the summary; your text is what history, copy and export use", onclick: () => startEdit() }, "Edit");
  const copyButton = h("button", { type: "button", id: "copy", disabled: true, onclick: () => void copy() }, "Copy");
  const exportButton = h("button", { type: "button", id: "export", disabled: true, title: "Export the summary as Markdown", onclick: () => void exportMd() }, "Markdown…");
  const pdfButton = h("button", { type: "button", id: "export-pdf", disabled: true, title: "Save as a PDF for a work order: title, date, site, the summary, and route, model and quality in the footer", onclick: () => void exportPdf() }, "PDF…");
  const printButton = h("button", { type: "button", id: "print", disabled: true, title: "Print the summary (Ctrl+P)", onclick: () => window.print() }, "Print…");
  // What the window's own print shows above and below the summary (see @media print).
  const printHeader = h("div", { id: "print-header", class: "print-only" });
  const printFooter = h("div", { id: "print-footer", class: "print-only" });
  const up = h("button", { type: "button", id: "thumb-up", class: "icon", disabled: true, "aria-pressed": "false", "aria-label": "Good summary", title: "Good summary", onclick: () => void rate("accepted") }, icon(ICONS.thumbUp));
  const down = h("button", { type: "button", id: "thumb-down", class: "icon", disabled: true, "aria-pressed": "false", "aria-label": "Poor summary", title: "Poor summary", onclick: () => void rate("rejected") }, icon(ICONS.thumbDown));

  const el = h(
    "section",
    { id: "view-summarize", class: "view split", "aria-label": "Summarize" },
    h(
      "div",
      { class: "pane note-pane" },
      h("div", { class: "toolbar" }, openButton, sourceChip, h("span", { class: "spacer" }), saveState),
      h("div", { class: "editor-wrap" }, editor, dropZone),
      h(
        "div",
        { class: "toolbar" },
        h("label", {}, "Style ", styleSelect),
        h("label", {}, "Max words ", lengthInput),
        keepLabel,
        previewButton,
        h("span", { class: "spacer" }),
        cancelButton,
        summarizeButton,
      ),
      sendPreview,
    ),
    h(
      "div",
      { class: "pane summary-pane" },
      h("div", { class: "toolbar" }, badge, progress, progressLabel, h("span", { class: "spacer" }), editButton, copyButton, exportButton, pdfButton, printButton, up, down),
      errors.el,
      ocrButton,
      why,
      printHeader,
      output,
      quality,
      similar,
      docInfo,
      printFooter,
    ),
  );

  // ── Autosave ───────────────────────────────────────────────────────────────
  let saving: Promise<void> = Promise.resolve();
  const save = debounce(() => {
    const body = editor.value;
    saveState.textContent = "Saving…";
    saving = saving.then(async () => {
      try {
        draftId = await ctx.api.saveDraft(draftId, body);
        saveState.textContent = body.trim() ? "Draft saved" : "";
        saveState.classList.remove("bad");
      } catch (e) {
        saveState.textContent = `Not saved: ${(e as UiError).message}`;
        saveState.classList.add("bad");
      }
    });
  }, 400);
  editor.addEventListener("input", () => {
    if (input.kind !== "editor") setInput({ kind: "editor" });
    save();
  });

  function setInput(next: Input) {
    input = next;
    sourceChip.hidden = next.kind === "editor";
    editor.classList.toggle("dimmed", next.kind !== "editor");
    if (next.kind === "file") {
      const f = next.file;
      sourceName.textContent = `${f.kind === "pdf" ? "PDF" : "File"}: ${f.name} (${formatBytes(f.bytes)})`;
    } else if (next.kind === "saved") {
      sourceName.textContent = `Saved note: ${next.title}`;
    }
  }

  async function openFile() {
    errors.clear();
    try {
      const file = await ctx.api.pickFile();
      if (file) setInput({ kind: "file", file });
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  // ── Running ────────────────────────────────────────────────────────────────
  let pending = "";
  let frame = 0;
  const flushTokens = () => {
    frame = 0;
    if (!pending) return;
    placeholder.remove();
    output.append(document.createTextNode(pending));
    pending = "";
  };

  function onEvent(e: EngineEvent) {
    if (e.event === "token") {
      pending += e.text;
      if (!frame) frame = requestAnimationFrame(flushTokens);
      progressLabel.textContent = "Writing…";
    } else if (e.event === "progress") {
      progress.max = e.total;
      progress.value = e.done;
      progressLabel.textContent = progressText(e.stage, e.done, e.total);
    }
  }

  function setRunning(on: boolean) {
    running = on;
    ctx.setBusy(on);
    summarizeButton.disabled = on;
    openButton.disabled = on;
    cancelButton.hidden = !on;
    progress.hidden = !on;
    el.setAttribute("aria-busy", String(on));
    if (on) {
      progress.removeAttribute("value");
      progressLabel.textContent = "Working…";
    } else {
      progressLabel.textContent = "";
    }
  }

  function resetOutput() {
    report = null;
    outcome = null;
    editing = null;
    edited = false;
    pending = "";
    clear(output, placeholder);
    badge.hidden = true;
    why.hidden = true;
    quality.hidden = true;
    similar.hidden = true;
    docInfo.textContent = "";
    for (const b of [editButton, copyButton, exportButton, pdfButton, printButton, up, down]) b.disabled = true;
    up.setAttribute("aria-pressed", "false");
    down.setAttribute("aria-pressed", "false");
    errors.clear();
    ocrButton.hidden = true;
  }

  function currentSource(): Source | null {
    switch (input.kind) {
      case "file":
        return { kind: "file", token: input.file.token };
      case "saved":
        return { kind: "saved", id: input.id };
      case "editor": {
        if (!editor.value.trim()) return null;
        return { kind: "draft", id: draftId, body: editor.value };
      }
    }
  }

  async function run(options: { ocr?: boolean } = {}) {
    if (running) return;
    const source = currentSource();
    resetOutput();
    if (!source) {
      errors.show({ kind: "bad_input", message: "There is nothing to summarize yet: type or paste a note, or open a file." });
      editor.focus();
      return;
    }
    // Anything still waiting to autosave goes first; the shell saves the text again anyway.
    save.flush();
    await saving;
    if (source.kind === "draft") source.id = draftId;
    const maxWords = lengthInput.value ? Math.max(10, Math.round(Number(lengthInput.value))) : null;
    setRunning(true);
    try {
      const r = await ctx.api.summarize(source, styleSelect.value as Style, maxWords, onEvent, {
        keepOnDevice: keepInput.checked,
        ocr: !!options.ocr,
      });
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      pending = "";
      show(r);
      if (!windowInFront()) void ctx.api.notifyFinished("summary", noteTitle(r)).catch(() => {});
    } catch (e) {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      pending = "";
      const err = e as UiError;
      if (err.kind === "cancelled") {
        clear(output, h("p", { class: "muted" }, "Cancelled. The note is saved; summarize it again at any time."));
      } else {
        clear(output, placeholder);
        errors.show(err);
        // A scan that OCR on this laptop can read: offered, never done unasked.
        ocrButton.hidden = err.kind !== "scanned";
      }
    } finally {
      setRunning(false);
      ctx.refreshStatus();
    }
  }

  /** A dry run: the route this note would take and, for the cloud, the exact redacted text. */
  /** When a previewed request would leave the laptop, after "N bytes would go to …". */
  const SEND_WHEN: Record<SendWhen, string> = {
    now: "",
    when_online: " when the laptop is online",
    if_quality_gate_fails: " only if the summary made on this laptop fails the quality checks",
  };

  async function preview() {
    const source = currentSource();
    if (!source) {
      errors.show({ kind: "bad_input", message: "There is nothing to preview yet: type or paste a note, or open a file." });
      return;
    }
    save.flush();
    await saving;
    if (source.kind === "draft") source.id = draftId;
    const maxWords = lengthInput.value ? Math.max(10, Math.round(Number(lengthInput.value))) : null;
    try {
      const r = await ctx.api.summarize(source, styleSelect.value as Style, maxWords, () => {}, { keepOnDevice: keepInput.checked, dryRun: true });
      const p = r.preview;
      const head = p
        ? h("p", {}, h("strong", {}, `${p.bytes} bytes would go to ${p.endpoint} (${p.model})`), SEND_WHEN[p.when], ". Redacted: ", p.redactions.length ? p.redactions.map((x) => `${x.placeholder} (${x.kind})`).join(", ") : "nothing found.")
        : h("p", {}, h("strong", {}, "Nothing would leave this laptop"), ` — route ${routeLabel(r.route)}: ${r.reasons.map((x) => x.detail).join("; ")}.`);
      const body = p ? h("pre", { id: "send-preview-text" }, p.messages.map((m) => `— ${m.role} —\n${m.content}`).join("\n\n")) : "";
      clear(sendPreview, head, body);
      sendPreview.dataset.route = r.route;
      sendPreview.hidden = false;
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  function show(r: SummaryReport) {
    report = r;
    clear(output, r.summary ?? "");
    badge.textContent =
      routeLabel(r.route) + (r.interim_route ? ` · ${routeLabel(r.interim_route)} now` : "") + (r.chunks > 1 ? ` · ${r.chunks} parts` : "");
    badge.dataset.route = r.route;
    badge.title = ROUTE_MEANINGS[r.route as Route] ?? "";
    badge.hidden = false;
    const list = why.querySelector("ul")!;
    clear(list, ...reasonLines(r.reasons).map((line) => h("li", {}, line)));
    why.hidden = r.reasons.length === 0;
    const failed = r.quality?.checks.filter((c) => !c.passed) ?? [];
    quality.hidden = failed.length === 0;
    clear(quality, h("strong", {}, "Check this summary: "), failed.map((c) => c.detail || c.name).join("; "));
    showSimilar(r);
    const d = r.document;
    docInfo.textContent = [
      `${d.name}: ${d.words} words`,
      d.pages ? `${d.pages} pages` : "",
      r.summary ? `summary ${lengthLine(r)}` : "",
      linesLine(r),
      r.model ? `model ${r.model.id}` : r.engine ?? "",
      `${formatMs(r.timings_ms.total)}`,
      ...d.notices,
    ]
      .filter(Boolean)
      .join(" · ");
    fillPrint(r);
    for (const b of [editButton, copyButton, exportButton, pdfButton, printButton, up, down]) b.disabled = false;
  }

  // ── Editing the summary ────────────────────────────────────────────────────
  // The technician's correction replaces the summary (history, search, copy, export); the
  // request is recorded as "edited" and the engine's own text is kept in history.

  function startEdit() {
    if (!report?.summary || running || editing) return;
    const area = h("textarea", { id: "summary-editor", class: "summary-editor", rows: 10, "aria-label": "Edit the summary" }) as HTMLTextAreaElement;
    area.value = report.summary;
    editing = area;
    clear(
      output,
      area,
      h(
        "div",
        { class: "toolbar" },
        h("span", { class: "muted" }, "Ctrl+Enter saves, Esc discards"),
        h("span", { class: "spacer" }),
        h("button", { type: "button", id: "discard-edit", onclick: () => endEdit() }, "Discard"),
        h("button", { type: "button", id: "save-edit", class: "primary", onclick: () => void saveEdit() }, "Save edit"),
      ),
    );
    for (const b of [editButton, copyButton, exportButton, pdfButton, printButton, up, down]) b.disabled = true;
    area.focus();
  }

  function endEdit() {
    if (!report) return;
    editing = null;
    clear(output, report.summary ?? "");
    for (const b of [editButton, copyButton, exportButton, pdfButton, printButton, up, down]) b.disabled = false;
    editButton.focus();
  }

  async function saveEdit() {
    const target = report;
    const area = editing;
    if (!target || !area || savingEdit) return;
    const text = area.value.trim();
    errors.clear();
    if (!text) {
      errors.show({ kind: "bad_input", message: "An edited summary cannot be empty. Discard the edit, or rate the summary as poor." });
      area.focus();
      return;
    }
    savingEdit = true;
    summarizeButton.disabled = true;
    try {
      await ctx.api.editSummary(target.request_id, text);
      // A new summary may have replaced this one meanwhile: the edit is saved, nothing to show.
      if (report !== target) return;
      report = { ...report, summary: text };
      edited = true;
      outcome = "edited";
      up.setAttribute("aria-pressed", "false");
      down.setAttribute("aria-pressed", "false");
      endEdit();
      ctx.notify("Your edit is saved");
    } catch (e) {
      errors.show(e as UiError);
    } finally {
      savingEdit = false;
      summarizeButton.disabled = running;
    }
  }

  function showSimilar(r: SummaryReport) {
    const o = r.similar;
    similar.hidden = !o;
    if (!o) return;
    const when = formatWhen(o.summarized_at);
    const earlier = h("details", { id: "similar-summary" }, h("summary", {}, "Show that summary"), h("div", { class: "summary" }, o.summary));
    const noteId = o.note_id;
    clear(
      similar,
      h("p", {}, `A very similar note was summarized on ${when}: “${o.note_title}” (${Math.round(o.similarity * 100)} % alike). This summary was made for your note; the earlier one may help to compare.`),
      earlier,
      noteId != null ? h("button", { type: "button", id: "open-similar", onclick: () => ctx.openNote(noteId) }, "Open that note") : null,
    );
  }

  async function cancel() {
    if (!running) return;
    progressLabel.textContent = "Cancelling…";
    try {
      await ctx.api.cancel();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function copy() {
    if (!report?.summary) return;
    const text = report.summary;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Older WebKit: copy through a selection.
      const area = h("textarea", { class: "offscreen", "aria-hidden": "true" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    ctx.notify("Summary copied");
  }

  /** What the technician calls this note: its first line when typed, else the file's name. */
  function noteTitle(r: SummaryReport): string {
    const first = input.kind === "editor" ? editor.value.split("\n").map((l) => l.replace(/^#+/, "").trim()).find(Boolean) : undefined;
    const t = first ?? r.document.name;
    return t.length > 80 ? `${t.slice(0, 79)}…` : t;
  }

  function fillPrint(r: SummaryReport) {
    const checks = r.quality?.checks ?? [];
    const failed = checks.filter((c) => !c.passed).map((c) => c.name);
    clear(
      printHeader,
      h("h2", {}, r.document.name),
      h("p", {}, `Summarized ${formatWhen(new Date().toISOString())} · style ${r.style}`),
    );
    clear(
      printFooter,
      h("p", {}, `Route: ${routeLabel(r.route)} · Model: ${r.model ? `${r.model.id} ${r.model.version}` : r.engine ?? "none"}`),
      h("p", {}, checks.length === 0 ? "Quality: not checked" : failed.length ? `Quality flags: ${failed.join(", ")} (of ${checks.length} checks)` : `Quality: all ${checks.length} checks passed`),
      h("p", {}, `Request ${r.request_id} · Fieldbrief`),
    );
  }

  async function exportPdf() {
    if (!report || report.note_id === null) return;
    try {
      const saved = await ctx.api.exportPdf(report.note_id, report.request_id);
      if (!saved) return;
      ctx.notify(
        saved.missing.length
          ? `Saved to ${saved.path}; the font cannot draw ${saved.missing.join(" ")} (printed as boxes)`
          : `Saved to ${saved.path} (${saved.pages} ${saved.pages === 1 ? "page" : "pages"})`,
      );
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function exportMd() {
    if (!report) return;
    try {
      const path = await ctx.api.exportMarkdown(summaryMarkdown(report), exportName(report.document.name));
      if (path) ctx.notify(`Saved to ${path}`);
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  async function rate(o: Outcome) {
    if (!report) return;
    const next = outcome === o ? (edited ? "edited" : null) : o;
    try {
      // Taking a rating back records the request as pending again (or edited, if it was).
      await ctx.api.feedback(report.request_id, next ?? "pending");
      outcome = next;
      up.setAttribute("aria-pressed", String(outcome === "accepted"));
      down.setAttribute("aria-pressed", String(outcome === "rejected"));
      ctx.notify(next && next !== "edited" ? "Thanks: recorded" : "Rating removed");
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  return {
    el,
    shown: () => editor.focus(),
    onKey(e) {
      if (editing && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        void saveEdit();
        return true;
      }
      if (editing && e.key === "Escape") {
        endEdit();
        return true;
      }
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        void run();
        return true;
      }
      if (e.key === "Escape" && running) {
        void cancel();
        return true;
      }
      if (e.key.toLowerCase() === "o" && (e.ctrlKey || e.metaKey) && !running) {
        void openFile();
        return true;
      }
      return false;
    },
    summarizeSaved(id, title) {
      setInput({ kind: "saved", id, title });
      void run();
    },
    async restoreDraft() {
      try {
        const d = await ctx.api.loadDraft();
        if (d) {
          draftId = d.id;
          editor.value = d.body;
          saveState.textContent = "Draft restored";
        }
      } catch (e) {
        errors.show(e as UiError);
      }
    },
    filesDropped(files) {
      dropZone.hidden = true;
      const usable = files.filter((f) => f.kind !== "model");
      if (usable.length === 0) {
        errors.show({ kind: "bad_input", message: "Drop a .txt, .md or .pdf file (models are imported in the Models view)." });
        return;
      }
      errors.clear();
      setInput({ kind: "file", file: usable[0] });
      if (usable.length > 1) ctx.notify(`Using ${usable[0].name}; one file at a time`);
    },
    dragging(active) {
      dropZone.hidden = !active;
    },
    flush: () => save.flush(),
  };
}

/** What a progress event means to the person waiting. */
export function progressText(stage: string, done: number, total: number): string {
  if (stage === "ocr") return done < total ? `Recognising text (OCR): page ${done + 1} of ${total}` : `Recognised ${total} pages`;
  if (stage === "parts") return `Summarizing in parts: ${done} of ${total} done`;
  if (stage.startsWith("combine")) return `Combining the parts: ${done} of ${total} done`;
  return `${stage}: ${done} of ${total}`;
}
