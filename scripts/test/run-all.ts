/**
 * `npm test`: everything a contributor needs to trust a change, in order, stopping at
 * the first red step: typecheck, migrations in step with the schema, unit tests in
 * workerd, integration tests on the real local stack, and the production bundle.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../stack/worker-process";
import { checkTestReport } from "./test-count";

type Step = {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** A further check once the command passed: a problem fails the step. */
  after?: () => string | null;
};

// Vitest reports here, so a skipped test or a test file that stopped running fails the run.
const reportDir = mkdtempSync(join(tmpdir(), "flashsale-test-report-"));
const report = join(reportDir, "vitest.json");
let testsRan = 0;

const steps: Step[] = [
  // Formatting and lint first: cheapest to fail, and `npm run fix` repairs most of it.
  {
    name: "format and lint (biome ci; npm run fix repairs)",
    command: "biome",
    args: ["ci", "--error-on-warnings", "."],
  },
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
  {
    name: "unit and integration tests",
    command: "vitest",
    args: ["run", "--allowOnly=false", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`],
    after: () => {
      const { ran, problem } = checkTestReport(PROJECT_ROOT, report);
      testsRan = ran;
      return problem;
    },
  },
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
  const problem = result.status === 0 && step.after ? step.after() : null;
  if (problem) console.error(`\n${problem}`);
  if (result.status !== 0 || problem) {
    rmSync(reportDir, { recursive: true, force: true });
    console.error(`\n✘ ${step.name} failed after ${seconds} s`);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed++;
  console.log(`✔ ${step.name} (${seconds} s)`);
}
if (skipped)
  console.log("\n⚠ end-to-end browser test SKIPPED: Chromium is not installed (apt-get install -y chromium).");
rmSync(reportDir, { recursive: true, force: true });
console.log(`\nAll checks green in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
console.log(
  `${passed} steps passed, 0 failed${skipped ? `, ${skipped} skipped` : ""}; ${testsRan} unit and integration tests ran`,
);
