// The shapes the shell's commands take and return and its events carry: all generated from the
// Rust types into contract.ts (src-tauri/src/contract.rs fails when the two differ). Change the
// Rust type, regenerate, and let the type check show the UI code that must follow.

export type * from "./contract";
