/**
 * `npm run test:mutations`: the mutation gate. Each entry of `tests/mutations/*.json` breaks
 * one guard (a `find` → `replace` in one file); the runner applies it alone in a throw-away
 * copy of the repository, runs the tests the entry names, and requires them to FAIL. A
 * mutant whose tests stay green (survived), an entry whose `find` no longer matches exactly
 * once (stale), or a run that broke without any test failing (errored) fails the gate.
 *
 *   npm run test:mutations                       every entry
 *   npm run test:mutations -- --only <id>[,<id>]  some entries (repeatable)
 *   npm run test:mutations -- --list             the entries, and whether each still applies
 *   npm run test:mutations -- --jobs 2           two mutants at a time (two sandboxes)
 *   npm run test:mutations -- --baseline         first runs each entry's tests unbroken and requires them to
 *                                                 PASS (CI skips this: `npm test` has just run them all green)
 *   npm run test:mutations -- --self-check       proves the gate can fail: runs a fixture with a
 *                                                 mutant known to survive, one stale and one killed,
 *                                                 and passes only if each gets exactly that verdict
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../stack/worker-process";
import { loadMutations, type Mutation, mutationFiles, projectsOf, staleReason } from "./mutation-list";
import { createSandbox, type Sandbox } from "./mutation-sandbox";

type Verdict = "killed" | "survived" | "stale" | "errored" | "timeout";
type Outcome = { m: Mutation; verdict: Verdict; seconds: number; detail: string };

const SELF_CHECK = "scripts/test/mutations-self-check.json";

const { values: args } = parseArgs({
  options: {
    help: { type: "boolean", short: "h", default: false },
    only: { type: "string", multiple: true },
    list: { type: "boolean", default: false },
    jobs: { type: "string", default: "1" },
    timeout: { type: "string", default: "600" },
    "self-check": { type: "boolean", default: false },
    baseline: { type: "boolean", default: false },
  },
});

if (args.help) {
  // The usage is this file's opening comment, so the two cannot disagree.
  const usage = readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]!;
  console.log(
    usage
      .replace(/^\/\*\*\n?/, "")
      .replace(/^ \* ?/gm, "")
      .trimEnd(),
  );
  process.exit(0);
}

const root = PROJECT_ROOT;
const selfCheck = args["self-check"];
let mutations = loadMutations(root, selfCheck ? [SELF_CHECK] : mutationFiles(root));
if (args.only?.length) {
  const wanted = new Set(args.only.flatMap((o) => o.split(",")).map((s) => s.trim()));
  const unknown = [...wanted].filter((id) => !mutations.some((m) => m.id === id));
  if (unknown.length) {
    console.error(`no mutation with id ${unknown.join(", ")} (npm run test:mutations -- --list)`);
    process.exit(2);
  }
  mutations = mutations.filter((m) => wanted.has(m.id));
}

if (args.list) {
  for (const m of mutations) {
    const stale = staleReason(root, m);
    console.log(`${stale ? "STALE " : "      "}${m.id}  (${m.source})`);
    console.log(`        ${m.file}: ${JSON.stringify(m.find)} → ${JSON.stringify(m.replace)}`);
    console.log(`        guards: ${m.guards}`);
    console.log(`        tests:  ${m.tests.join(" ")}${stale ? `\n        stale:  ${stale}` : ""}`);
  }
  console.log(`${mutations.length} mutations`);
  process.exit(0);
}

const timeoutMs = Number(args.timeout) * 1000;
const jobs = Math.max(1, Math.min(Number(args.jobs) || 1, 4));

/**
 * Runs the mutant's tests in the sandbox: unit and integration files in one vitest run,
 * fault-suite files (tests/chaos, their own config and stack) in another. Killed as soon
 * as one run has a failing test.
 */
async function runTests(sandbox: Sandbox, m: Pick<Mutation, "tests">): Promise<{ verdict: Verdict; detail: string }> {
  const chaos = m.tests.filter((t) => t.startsWith("tests/chaos/"));
  const main = m.tests.filter((t) => !t.startsWith("tests/chaos/"));
  const runs: string[][] = [];
  if (main.length) runs.push([...projectsOf({ tests: main }).flatMap((p) => ["--project", p]), ...main]);
  if (chaos.length) runs.push(["--config", "vitest.chaos.config.ts", ...chaos]);
  let last: { verdict: Verdict; detail: string } = { verdict: "survived", detail: "no tests" };
  for (const args of runs) {
    last = await runVitest(sandbox, args);
    if (last.verdict !== "survived") return last;
  }
  return last;
}

/** One vitest run; its JSON report tells a failed test from a broken run. */
async function runVitest(sandbox: Sandbox, args: string[]): Promise<{ verdict: Verdict; detail: string }> {
  const reportDir = mkdtempSync(join(tmpdir(), "flashsale-mutant-report-"));
  const report = join(reportDir, "report.json");
  const argv = ["vitest", "run", ...args];
  // --bail: a mutant is killed by its first failing test; the rest of the run would only cost time.
  argv.push("--bail=1", "--reporter=json", `--outputFile.json=${report}`, "--reporter=dot");
  const child = spawn("npx", argv, {
    cwd: sandbox.dir,
    detached: true, // its own process group, so a timeout stops vitest and the stack it started
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // SIGTERM first so vitest's teardown stops the Worker it started; then no mercy.
    process.kill(-child.pid!, "SIGTERM");
    setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }, 15_000).unref();
  }, timeoutMs);
  const code: number = await new Promise((resolve) => child.once("close", (c) => resolve(c ?? 1)));
  clearTimeout(timer);
  let failed = 0;
  let total = 0;
  try {
    const json = JSON.parse(readFileSync(report, "utf8")) as { numFailedTests: number; numTotalTests: number };
    failed = json.numFailedTests;
    total = json.numTotalTests;
  } catch {
    /* no report: the run broke before any test ran */
  }
  rmSync(reportDir, { recursive: true, force: true });
  if (timedOut) return { verdict: "timeout", detail: `tests still running after ${timeoutMs / 1000} s` };
  if (code === 0) return { verdict: "survived", detail: `all ${total} tests passed` };
  if (failed > 0) return { verdict: "killed", detail: `${failed} of ${total} tests failed` };
  return { verdict: "errored", detail: `vitest exited ${code} without a failing test:\n${output.trim()}` };
}

const outcomes: Outcome[] = [];
const runnable: Mutation[] = [];
for (const m of mutations) {
  const stale = staleReason(root, m);
  if (stale) outcomes.push({ m, verdict: "stale", seconds: 0, detail: stale });
  else runnable.push(m);
}
// Unit-only mutants first: they are fast and never start the integration stack.
runnable.sort((a, b) => Number(projectsOf(a).includes("integration")) - Number(projectsOf(b).includes("integration")));

const started = Date.now();
console.log(
  `mutation gate: ${runnable.length} mutants to run${outcomes.length ? `, ${outcomes.length} stale` : ""}` +
    `${jobs > 1 ? `, ${jobs} at a time` : ""}`,
);
for (const o of outcomes) console.log(`  ✘ STALE     ${o.m.id}: ${o.detail}`);

if (args.baseline) {
  // A test that fails without any break would "kill" every mutant: prove each set green first.
  const sets = [...new Map(runnable.map((m) => [m.tests.join(" "), m])).values()];
  const sandbox = createSandbox(root);
  try {
    for (const m of sets) {
      const { verdict, detail } = await runTests(sandbox, m);
      console.log(`  ${verdict === "survived" ? "✔" : "✘"} baseline ${m.tests.join(" ")} (${detail.split("\n")[0]})`);
      if (verdict !== "survived") {
        console.error(`\n✘ mutation gate: the tests above fail with no break applied; fix them first.\n${detail}`);
        process.exit(1);
      }
    }
  } finally {
    sandbox.remove();
  }
}

let done = 0;
let next = 0;
const lanes = Array.from({ length: Math.min(jobs, runnable.length) }, async () => {
  const sandbox = createSandbox(root);
  try {
    while (next < runnable.length) {
      const m = runnable[next++]!;
      const t0 = Date.now();
      const restore = sandbox.apply(m);
      let result: { verdict: Verdict; detail: string };
      try {
        result = await runTests(sandbox, m);
        // A run that broke before any test could fail (the stack did not start on a busy
        // machine) says nothing about the guard: it gets one more try. Survivors get none.
        if (result.verdict === "errored") {
          console.log(`  … ${m.id}: the run broke without a failing test; trying once more`);
          result = await runTests(sandbox, m);
        }
      } finally {
        restore();
      }
      const seconds = (Date.now() - t0) / 1000;
      outcomes.push({ m, ...result, seconds });
      done++;
      const mark = result.verdict === "killed" || result.verdict === "timeout" ? "✔" : "✘";
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      console.log(
        `  ${mark} [${done}/${runnable.length}, ${elapsed} s] ${result.verdict.toUpperCase().padEnd(8)} ${m.id} ` +
          `(${seconds.toFixed(1)} s; ${result.detail.split("\n")[0]})`,
      );
      if (result.verdict === "errored") console.log(result.detail.replace(/^/gm, "      "));
    }
  } finally {
    sandbox.remove();
  }
});
await Promise.all(lanes);

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const count = (v: Verdict) => outcomes.filter((o) => o.verdict === v).length;
const summary =
  `${count("killed") + count("timeout")} killed, ${count("survived")} survived, ` +
  `${count("stale")} stale, ${count("errored")} errored, in ${minutes} min`;

if (selfCheck) {
  // The gate is only worth something if it can fail: every fixture entry must get exactly
  // the verdict it expects (a timeout counts as killed, as in the gate).
  const wrong = outcomes.filter((o) => (o.verdict === "timeout" ? "killed" : o.verdict) !== o.m.expect);
  for (const o of wrong) console.error(`self-check: ${o.m.id} was ${o.verdict}, expected ${o.m.expect}`);
  console.log(
    wrong.length
      ? `\n✘ self-check FAILED (${summary})`
      : `\n✔ self-check: the gate tells killed, survived and stale apart (${summary})`,
  );
  process.exit(wrong.length ? 1 : 0);
}

const bad = outcomes.filter((o) => o.verdict === "survived" || o.verdict === "stale" || o.verdict === "errored");
if (bad.length) {
  console.error("\nThe gate failed. Each of these guards can be broken without a test noticing:");
  for (const o of bad) {
    console.error(`  ${o.verdict.toUpperCase()} ${o.m.id} (${o.m.source})`);
    console.error(`    ${o.m.file}: ${JSON.stringify(o.m.find)} → ${JSON.stringify(o.m.replace)}`);
    console.error(`    guards: ${o.m.guards}`);
    console.error(`    tests:  ${o.m.tests.join(" ")}`);
    if (o.verdict !== "errored") console.error(`    ${o.detail}`);
  }
  console.log(`\n✘ mutation gate: ${summary}`);
  process.exit(1);
}
console.log(`\n✔ mutation gate: ${summary}`);
