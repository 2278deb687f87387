/**
 * The end-to-end suite: a real headless Chromium against the real local stack (the
 * integration suite's global setup: own ports, own database, dropped afterwards).
 * Run by `npm run test:e2e` (scripts/test/run-e2e.ts), which checks for a browser first.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "e2e",
    environment: "node",
    include: ["tests/e2e/**/*.e2e.ts"],
    globalSetup: ["tests/integration/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
