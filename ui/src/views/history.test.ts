import { afterEach, describe, expect, it, vi } from "vitest";
import { byId, fakeContext, fakeShell, reset, settle, type } from "../test-helpers";
import { historyView } from "./history";

const note = {
  id: 5,
  created_at: "2026-11-20T08:00:00Z",
  title: "Substation inspection",
  source_kind: "pdf",
  source_name: "substation-inspection.pdf",
  source_path: null,
  original_bytes: 5800,
  est_tokens: 900,
  encoding: "utf-8",
  pages: 2,
  notices: [],
  text: "TX1 LV tails at 86 °C.",
  summaries: [{ id: 1, request_id: "r", created_at: "2026-11-20T08:00:01Z", style: "bullets", route: "extractive", engine: "extractive", model: null, prompt_version: "textrank-1", text: "- TX1 LV tails at 86 °C", original_text: null, edited_at: null }],
};

function mount() {
  const again = vi.fn();
  const ctx = fakeContext();
  const view = historyView(ctx, again);
  document.body.append(view.el);
  return { view, again, ctx };
}

describe("History view", () => {
  afterEach(reset);

  it("lists notes, then searches as you type and highlights the hits", async () => {
    const shell = fakeShell({
      history: () => [{ id: 5, created_at: note.created_at, title: note.title, source_kind: "pdf", source_name: note.source_name, words: 700, summaries: 1 }],
      search_history: () => [{ note_id: 5, title: note.title, created_at: note.created_at, matched_in: "note", snippet: "LV [tails] at 86 °C" }],
    });
    const { view } = mount();
    await view.refresh();
    expect(byId("history-count").textContent).toBe("1 note");
    expect(byId("history-list").textContent).toContain("Substation inspection");
    type(byId<HTMLInputElement>("history-search"), "tails");
    await settle(250);
    await settle();
    expect(shell.named("search_history")).toEqual([{ query: "tails", limit: undefined }]);
    expect(byId("history-count").textContent).toBe("1 match");
    expect([...document.querySelectorAll("#history-list mark")].map((m) => m.textContent)).toEqual(["tails"]);
  });

  it("shows FTS errors plainly", async () => {
    fakeShell({ search_history: () => Promise.reject({ kind: "bad_input", message: "Search text is empty" }) });
    mount();
    type(byId<HTMLInputElement>("history-search"), "   x");
    await settle(250);
    await settle();
    expect(byId("history-error").textContent).toBe("Search text is empty");
  });

  it("opens a note, summarizes it again, and deletes it only after confirmation", async () => {
    const shell = fakeShell({
      history: () => [{ id: 5, created_at: note.created_at, title: note.title, source_kind: "pdf", source_name: note.source_name, words: 700, summaries: 1 }],
      open_note: () => note,
      delete_note: () => null,
    });
    const { view, again } = mount();
    await view.refresh();
    (document.querySelector("[data-note-id='5']") as HTMLElement).click();
    await settle();
    expect(byId("note-detail").textContent).toContain("- TX1 LV tails at 86 °C");
    byId("summarize-again").click();
    expect(again).toHaveBeenCalledWith(5, "Substation inspection");
    byId("delete-note").click();
    expect(shell.named("delete_note")).toHaveLength(0);
    byId("confirm-delete").click();
    await settle();
    expect(shell.named("delete_note")).toEqual([{ id: 5 }]);
    expect(byId("note-detail").textContent).toContain("Note deleted.");
  });

  it("shows an edited summary as the technician wrote it, with the engine's text beside it", async () => {
    const edited = { ...note.summaries[0], text: "- TX1 LV tails at 86 °C; re-torqued", original_text: "- TX1 LV tails at 86 °C", edited_at: "2026-11-20T09:00:00Z" };
    fakeShell({
      history: () => [{ id: 5, created_at: note.created_at, title: note.title, source_kind: "pdf", source_name: note.source_name, words: 700, summaries: 1 }],
      open_note: () => ({ ...note, summaries: [edited] }),
    });
    const { view } = mount();
    await view.refresh();
    (document.querySelector("[data-note-id='5']") as HTMLElement).click();
    await settle();
    const saved = document.querySelector(".saved-summary")!;
    expect(saved.querySelector(".summary")!.textContent).toBe("- TX1 LV tails at 86 °C; re-torqued");
    expect(saved.textContent).toContain("edited by you");
    expect(saved.querySelector(".original-summary .summary")!.textContent).toBe("- TX1 LV tails at 86 °C");
  });
});
