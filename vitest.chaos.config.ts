import { defineConfig } from "vitest/config";

/**
 * `npm run test:chaos`: faults mid-sale on a stack of the suite's own (its own Redis with
 * an AOF, its own Postgres cluster, bridges and Worker on free ports). A separate config,
 * so `vitest run` in `npm test` never starts it; CI runs it as a step of its own.
 */
export default defineConfig({
  test: {
    name: "chaos",
    environment: "node",
    include: ["tests/chaos/**/*.test.ts"],
    globalSetup: ["tests/chaos/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // One stack, one fault at a time: a fault must not be another test's weather.
    fileParallelism: false,
  },
});
