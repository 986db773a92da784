// Test helpers: a fake shell behind @tauri-apps/api/mocks, recording every command.

import { mockIPC, mockWindows, clearMocks } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import { vi } from "vitest";
import { api } from "./api";
import type { Context } from "./context";

export type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeShell {
  calls: { cmd: string; args: Record<string, unknown> }[];
  named: (cmd: string) => Record<string, unknown>[];
}

/** Answers commands from `handlers`; an unknown command fails the way Tauri refuses one. */
export function fakeShell(handlers: Record<string, Handler>): FakeShell {
  const calls: FakeShell["calls"] = [];
  mockWindows("main");
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const handler = handlers[cmd];
      if (!handler) throw `command ${cmd} not allowed by the test`;
      return handler(a);
    },
    { shouldMockEvents: true },
  );
  return { calls, named: (cmd) => calls.filter((c) => c.cmd === cmd).map((c) => c.args) };
}

/** Sends message number `index` down a channel, as the Rust side does. */
export function sendOnChannel(channel: unknown, index: number, message: unknown): void {
  const id = (channel as Channel<unknown>).id;
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } }).__TAURI_INTERNALS__;
  internals.runCallback(id, { index, message });
}

export function reset(): void {
  clearMocks();
  document.body.replaceChildren();
  localStorage.clear();
}

/** Lets pending promises and timers run. */
export async function settle(ms = 0): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  await Promise.resolve();
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el as T;
}

export function type(el: HTMLTextAreaElement | HTMLInputElement, text: string): void {
  el.value = text;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

export function key(k: string, init: KeyboardEventInit = {}): void {
  document.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, ...init }));
}

/** The app shell around a view: the real API (over the fake shell) and recording hooks. */
export function fakeContext(): Context {
  return { api, refreshStatus: vi.fn(), setBusy: vi.fn(), show: vi.fn(), notify: vi.fn(), openNote: vi.fn() };
}
