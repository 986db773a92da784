// The UI's only door to the outside: typed wrappers over the shell's commands (see
// src-tauri/src/lib.rs). Every failure arrives as a UiError with a readable message.

import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppInfo,
  AppStatus,
  CatalogView,
  Dashboard,
  PullProgress,
  Draft,
  EngineEvent,
  Events,
  Finished,
  GrantedFile,
  ModelEntry,
  NoteListItem,
  NoteRecord,
  Outcome,
  Refinement,
  SavedPdf,
  SearchHit,
  SettingsForm,
  SettingsView,
  Source,
  Style,
  SummarizeRequest,
  SummaryReport,
  UiError,
  VerifyReport,
} from "./types";

/** Turns whatever a rejected invoke carries into a UiError. */
export function toUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "message" in e && "kind" in e) {
    const { kind, message } = e as UiError;
    return { kind, message: String(message) };
  }
  if (typeof e === "string") {
    // Tauri's own refusals (e.g. a command not granted) arrive as plain strings.
    return { kind: "failure", message: e };
  }
  if (e instanceof Error) return { kind: "failure", message: e.message };
  return { kind: "failure", message: "Something went wrong, and no reason was given." };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toUiError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  status: () => call<AppStatus>("status"),
  loadDraft: () => call<Draft | null>("load_draft"),
  saveDraft: (id: number | null, body: string) => call<number | null>("save_draft", { id, body }),
  pickFile: () => call<GrantedFile | null>("pick_file"),
  summarize: (
    source: Source,
    style: Style,
    maxWords: number | null,
    onEvent: (e: EngineEvent) => void,
    options: { keepOnDevice?: boolean; dryRun?: boolean; ocr?: boolean } = {},
  ) => {
    const channel = new Channel<EngineEvent>();
    channel.onmessage = onEvent;
    const request: SummarizeRequest = {
      source,
      style,
      maxWords,
      keepOnDevice: !!options.keepOnDevice,
      dryRun: !!options.dryRun,
      ocr: !!options.ocr,
    };
    return call<SummaryReport>("summarize", { request, onEvent: channel });
  },
  cancel: () => call<boolean>("cancel_summary"),
  feedback: (requestId: string, outcome: Outcome) => call<void>("feedback", { requestId, outcome }),
  /** The technician's correction replaces the summary; the request becomes "edited". */
  editSummary: (requestId: string, text: string) => call<void>("edit_summary", { requestId, text }),
  exportMarkdown: (markdown: string, suggestedName: string) =>
    call<string | null>("export_markdown", { markdown, suggestedName }),
  /** The summary as a PDF (the CLI's `export --pdf` page), saved where the user chooses. */
  exportPdf: (noteId: number, requestId: string) => call<SavedPdf | null>("export_pdf", { noteId, requestId }),
  /** Announces finished work on the desktop (the shell checks the user's setting). */
  notifyFinished: (what: Finished, title: string) => call<boolean>("notify_finished", { what, title }),
  history: (limit?: number) => call<NoteListItem[]>("history", { limit }),
  search: (query: string, limit?: number) => call<SearchHit[]>("search_history", { query, limit }),
  openNote: (id: number) => call<NoteRecord>("open_note", { id }),
  deleteNote: (id: number) => call<void>("delete_note", { id }),
  models: () => call<ModelEntry[]>("list_models"),
  importModel: () => call<ModelEntry | null>("import_model"),
  /** Asks for a folder (a USB stick): its signed catalog's models, or its GGUF files. Empty = cancelled. */
  importModelFolder: () => call<ModelEntry[]>("import_model_folder"),
  /** Makes `id` the active model; `version` null = the id's current version. */
  useModel: (id: string, version: string | null = null) => call<void>("use_model", { id, version }),
  /** Deletes one version of `id`; `version` null = every version of it. */
  removeModel: (id: string, version: string | null = null) => call<void>("remove_model", { id, version }),
  /** The catalog; `refresh` fetches the organisation's catalog (if configured and online). */
  modelCatalog: (refresh: boolean) => call<CatalogView>("model_catalog", { refresh }),
  /** Starts or resumes a download in the background: progress arrives via onModelDownload. */
  pullModel: (id: string, version: string | null = null) => call<void>("pull_model", { id, version }),
  /** Stops a download, keeping the partial file (pullModel resumes it). */
  pauseDownload: (id: string) => call<void>("pause_download", { id }),
  /** Stops a download and deletes the partial file. */
  cancelDownload: (id: string) => call<void>("cancel_download", { id }),
  /** Points `id` back at its previous version; returns the version now current. */
  rollbackModel: (id: string) => call<ModelEntry>("rollback_model", { id }),
  /** Checks installed files against their recorded hashes; `id` null = every model. */
  verifyModels: (id: string | null = null) => call<VerifyReport[]>("verify_models", { id }),
  settings: () => call<SettingsView>("get_settings"),
  saveSettings: (form: SettingsForm) => call<SettingsView>("save_settings", { form }),
  setApiKey: (key: string) => call<SettingsView>("set_api_key", { key }),
  clearApiKey: () => call<SettingsView>("clear_api_key"),
  dashboard: (since?: string) => call<Dashboard>("dashboard", { since: since ?? null }),
};

/** Listens for one of the shell's events; the name and the payload's type come from the contract. */
function on<K extends keyof Events>(name: K, handler: (payload: Events[K]) => void): Promise<UnlistenFn> {
  return listen<Events[K]>(name, (e) => handler(e.payload));
}

/** A cloud refinement queued while offline is ready (the background runner finished it). */
export function onRefined(handler: (r: Refinement) => void): Promise<UnlistenFn> {
  return on("fieldbrief://refined", handler);
}

/** A model download moved on (started, progressed, paused, installed, failed…). */
export function onModelDownload(handler: (p: PullProgress) => void): Promise<UnlistenFn> {
  return on("fieldbrief://model-download", handler);
}

/** Files dropped on the window, already granted by the shell. */
export function onFilesDropped(handler: (files: GrantedFile[]) => void): Promise<UnlistenFn> {
  return on("fieldbrief://dropped", handler);
}

/** Fieldbrief was started again: this window came to the front, with the files named. */
export function onReopened(handler: (files: GrantedFile[]) => void): Promise<UnlistenFn> {
  return on("fieldbrief://reopened", handler);
}

/** A drag over the window starts (true) or ends (false). */
export function onDragging(handler: (active: boolean) => void): Promise<UnlistenFn> {
  return on("fieldbrief://drag", handler);
}
