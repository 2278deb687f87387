/**
 * `npm test`: everything a contributor needs to trust a change, in order, stopping at
 * the first red step: typecheck, migrations in step with the schema, unit tests in
 * workerd, integration tests on the real local stack, and the production bundle.
 */
import { spawnSync } from "node:child_process";

type Step = { name: string; command: string; args: string[]; env?: Record<string, string> };

const steps: Step[] = [
  // Formatting and lint first: cheapest to fail, and `npm run fix` repairs most of it.
  { name: "format and lint (biome ci; npm run fix repairs)", command: "biome", args: ["ci", "."] },
  {
    name: "generated Worker types are current (wrangler types --check)",
    command: "npm",
    args: ["run", "--silent", "types:check"],
  },
  { name: "build sale pages", command: "tsx", args: ["static-site/build.ts"] },
  { name: "typecheck (workers)", command: "tsc", args: ["--noEmit", "-p", "tsconfig.json"] },
  { name: "typecheck (scripts and tests)", command: "tsc", args: ["--noEmit", "-p", "tsconfig.scripts.json"] },
  { name: "typecheck (sale page)", command: "tsc", args: ["--noEmit", "-p", "static-site/tsconfig.json"] },
  { name: "typecheck (end-to-end tests)", command: "tsc", args: ["--noEmit", "-p", "tests/e2e/tsconfig.json"] },
  { name: "migrations match the schema", command: "tsx", args: ["scripts/db/check-migrations.ts"] },
  { name: "unit and integration tests", command: "vitest", args: ["run"] },
  { name: "production bundle (wrangler deploy --dry-run)", command: "tsx", args: ["scripts/test/check-bundle.ts"] },
];

// The browser test needs Debian's Chromium. Without it the step is skipped out loud on a
// contributor's machine; in CI (CI=true) a missing browser is a failure, never a skip.
const chromium =
  process.env.CHROMIUM_PATH || spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).stdout.trim();
let skipped = 0;
if (chromium) {
  steps.push({
    name: "end-to-end sale in headless Chromium",
    command: "tsx",
    args: ["scripts/test/run-e2e.ts"],
    env: { FLASHSALE_TYPECHECKED: "1" },
  });
} else if (process.env.CI) {
  console.error("CI needs Chromium for the end-to-end test: apt-get install -y chromium");
  process.exit(1);
} else {
  skipped = 1;
}

const started = Date.now();
let passed = 0;
for (const step of steps) {
  const t0 = Date.now();
  console.log(`\n▶ ${step.name}`);
  const result = spawnSync(step.command, step.args, { stdio: "inherit", env: { ...process.env, ...step.env } });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`\n✘ ${step.name} failed after ${seconds} s`);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed++;
  console.log(`✔ ${step.name} (${seconds} s)`);
}
if (skipped)
  console.log("\n⚠ end-to-end browser test SKIPPED: Chromium is not installed (apt-get install -y chromium).");
console.log(`\nAll checks green in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
console.log(skipped ? `${passed} passed, 0 failed, ${skipped} skipped` : `${passed} passed, 0 failed`);
