// The History view: every note and its summaries, full-text search (SQLite FTS5), open,
// summarize again, delete.

import { debounce, h, clear } from "../dom";
import { errorBox, type Context, type View } from "../context";
import { formatWhen, routeLabel, snippetParts } from "../format";
import type { NoteListItem, NoteRecord, SearchHit, UiError } from "../types";

export interface HistoryView extends View {
  refresh: () => Promise<void>;
  /** Opens a note (from the "better summary ready" notice). */
  openNote: (id: number) => Promise<void>;
}

export function historyView(ctx: Context, summarizeAgain: (id: number, title: string) => void): HistoryView {
  let openId: number | null = null;
  const search = h("input", {
    id: "history-search",
    type: "search",
    placeholder: "Search notes and summaries (Ctrl+F)",
    "aria-label": "Search notes and summaries",
    autocomplete: "off",
  });
  const count = h("span", { id: "history-count", class: "muted", "aria-live": "polite" });
  const list = h("ul", { id: "history-list", class: "list", role: "list" });
  const detail = h("div", { id: "note-detail", class: "detail" }, h("p", { class: "muted placeholder" }, "Choose a note to read it and its summaries."));
  const errors = errorBox("history-error");

  const el = h(
    "section",
    { id: "view-history", class: "view split", "aria-label": "History" },
    h("div", { class: "pane list-pane" }, h("div", { class: "toolbar" }, search), count, errors.el, list),
    h("div", { class: "pane" }, detail),
  );

  function item(id: number, title: string, meta: string, extra?: Node) {
    const button = h(
      "button",
      { type: "button", class: "row", "data-note-id": id, onclick: () => void open(id) },
      h("span", { class: "row-title" }, title),
      h("span", { class: "row-meta muted" }, meta),
      extra ?? null,
    );
    if (id === openId) button.setAttribute("aria-current", "true");
    return h("li", {}, button);
  }

  function renderNotes(notes: NoteListItem[]) {
    count.textContent = notes.length === 1 ? "1 note" : `${notes.length} notes`;
    clear(
      list,
      ...notes.map((n) =>
        item(n.id, n.title, `${formatWhen(n.created_at)} · ${n.words} words · ${n.summaries} ${n.summaries === 1 ? "summary" : "summaries"}`),
      ),
    );
  }

  function renderHits(hits: SearchHit[], query: string) {
    count.textContent = hits.length === 0 ? `Nothing matches “${query}”` : `${hits.length} ${hits.length === 1 ? "match" : "matches"}`;
    clear(
      list,
      ...hits.map((hit) => {
        const snippet = h("span", { class: "snippet" });
        for (const part of snippetParts(hit.snippet)) snippet.append(part.hit ? h("mark", {}, part.text) : document.createTextNode(part.text));
        return item(hit.note_id, hit.title, `${formatWhen(hit.created_at)} · in the ${hit.matched_in}`, snippet);
      }),
    );
  }

  async function refresh() {
    errors.clear();
    const q = search.value.trim();
    try {
      if (q) renderHits(await ctx.api.search(q), q);
      else renderNotes(await ctx.api.history());
    } catch (e) {
      errors.show(e as UiError);
    }
  }
  const refreshSoon = debounce(() => void refresh(), 200);
  search.addEventListener("input", refreshSoon);

  async function open(id: number) {
    errors.clear();
    try {
      const note = await ctx.api.openNote(id);
      openId = id;
      for (const b of list.querySelectorAll<HTMLElement>("[data-note-id]")) {
        if (Number(b.dataset.noteId) === id) b.setAttribute("aria-current", "true");
        else b.removeAttribute("aria-current");
      }
      renderNote(note);
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  function renderNote(note: NoteRecord) {
    const confirmBox = h("div", { class: "confirm", hidden: true, role: "group", "aria-label": "Confirm deletion" });
    const del = h("button", { type: "button", id: "delete-note", class: "danger", onclick: () => {
      clear(
        confirmBox,
        `Delete “${note.title}” and its ${note.summaries.length} summaries? The ledger keeps only counts. `,
        h("button", { type: "button", id: "confirm-delete", class: "danger", onclick: () => void remove(note.id) }, "Delete"),
        h("button", { type: "button", onclick: () => { confirmBox.hidden = true; del.focus(); } }, "Keep"),
      );
      confirmBox.hidden = false;
      (confirmBox.querySelector("#confirm-delete") as HTMLElement).focus();
    } }, "Delete…");
    clear(
      detail,
      h("h2", {}, note.title),
      h("p", { class: "muted" }, `${formatWhen(note.created_at)} · ${note.source_kind}: ${note.source_name}${note.pages ? ` · ${note.pages} pages` : ""}`),
      h(
        "div",
        { class: "toolbar" },
        h("button", { type: "button", id: "summarize-again", class: "primary", onclick: () => summarizeAgain(note.id, note.title) }, "Summarize again"),
        del,
      ),
      confirmBox,
      h("h3", {}, note.summaries.length ? "Summaries" : "No summary yet"),
      ...note.summaries.map((s) =>
        h(
          "article",
          { class: "saved-summary" },
          h("p", { class: "muted" }, `${formatWhen(s.created_at)} · ${s.style} · ${routeLabel(s.route)}${s.model ? ` · ${s.model.id}` : ""}${s.edited_at ? ` · edited by you ${formatWhen(s.edited_at)}` : ""}`),
          h("div", { class: "summary" }, s.text),
          s.original_text != null ? h("details", { class: "original-summary" }, h("summary", {}, "What the engine wrote"), h("div", { class: "summary" }, s.original_text)) : null,
        ),
      ),
      h("h3", {}, "Note"),
      h("div", { class: "note-text", tabindex: 0, "aria-label": "Note text" }, note.text),
    );
  }

  async function remove(id: number) {
    try {
      await ctx.api.deleteNote(id);
      openId = null;
      clear(detail, h("p", { class: "muted placeholder" }, "Note deleted."));
      ctx.notify("Note deleted");
      ctx.refreshStatus();
      await refresh();
      search.focus();
    } catch (e) {
      errors.show(e as UiError);
    }
  }

  return {
    el,
    refresh,
    openNote: open,
    shown: () => {
      void refresh();
      search.focus();
    },
    onKey(e) {
      if (e.key.toLowerCase() === "f" && (e.ctrlKey || e.metaKey)) {
        search.focus();
        search.select();
        return true;
      }
      return false;
    },
  };
}
