/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The app loads ui/dist from the binary (no dev server), under a CSP that allows only its own
// scripts and styles: keep the output free of inline code.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    // No inline <script> or data: modules: the CSP would refuse them.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
