import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig, type Plugin } from "vitest/config";

/** `.lua` files import as text, as wrangler's Text rule does for the production bundle. */
const luaAsText = (): Plugin => ({
  name: "lua-as-text",
  enforce: "pre",
  load(id) {
    if (!id.endsWith(".lua")) return null;
    return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
  },
});

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          luaAsText(),
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                // Unit tests isolate the edge: nothing may reach a real dependency from here.
                UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
                UPSTASH_REDIS_REST_TOKEN: "unit-test-token",
                DATABASE_URL: "postgres://postgres@127.0.0.1:9/none",
                NEON_LOCAL_WS_PROXY: "127.0.0.1:9/v1",
                SHOPPER_JWT_SECRET: "dev-shopper-secret",
                ADMISSION_JWT_SECRET: "dev-admission-secret",
                ADMIN_TOKEN: "dev-admin-token",
                TURNSTILE_SECRET_KEY: "1x0000000000000000000000000000000AA",
                CAPTCHA_MODE: "turnstile",
              },
            },
          }),
        ],
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          // Plain Node: what must run without workerd (the queue's rules, for tests and simulations).
          name: "node",
          environment: "node",
          include: ["tests/node/**/*.test.ts"],
        },
      },
      {
        plugins: [luaAsText()],
        test: {
          name: "integration",
          environment: "node",
          include: ["tests/integration/**/*.test.ts"],
          globalSetup: ["tests/integration/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One shared stack; files run one after another so load tests are not
          // measuring each other on a two-core machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
