/**
 * `npm run bench [-- <name>...]`: runs the benchmarks one after another (or the named
 * ones), prints a table per benchmark, and writes everything measured to
 * bench-results/latest.json. Exits 0 when every benchmark ran; 1 when one failed.
 *
 *   purchase-script   purchase.lua vs the seed's reference script, in Redis (./purchase-script.ts)
 *   postgres-peer     the same sale decided by Postgres row locking, against purchase.lua (./postgres-peer.ts)
 *   outbox-drain      1,000 orders from the outbox into Postgres by the production drain (./outbox-drain.ts)
 *   page-bytes        what a shopper downloads from the CDN for a sale page, gzipped (./page-bytes.ts)
 *   purchase-http     end-to-end purchases through the Worker in workerd (./purchase-http.ts)
 *   queue*            any scripts/bench/queue*.ts of the queue's own: imported and called
 *                     when it exports `bench()` returning a report, otherwise run as a
 *                     script with its output relayed
 *
 * BENCH_REPEATS (default 5) sets how many times each measurement is repeated.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { registerLuaText } from "../stack/lua-text";
import type { BenchReport, BenchRow } from "./stats";

// .lua files load as text (scripts/stack/lua-text.ts) before the benchmarks' modules load, hence the dynamic imports below.
registerLuaText();

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Every benchmark is bounded by its own loops; this is the backstop for a spawned script. */
const SPAWNED_TIMEOUT_MS = 120_000;

const repeats = Math.max(1, Number(process.env.BENCH_REPEATS ?? 5));
const log = (line: string) => console.log(line);

type Bench = { name: string; run(): Promise<BenchReport> };

const builtIn: Bench[] = [
  {
    name: "purchase-script",
    run: async () => (await import("./purchase-script")).benchPurchaseScript({ repeats, log }),
  },
  {
    name: "postgres-peer",
    run: async () => (await import("./postgres-peer")).benchPostgresPeer({ repeats, log }),
  },
  {
    name: "outbox-drain",
    run: async () => (await import("./outbox-drain")).benchOutboxDrain({ repeats, log }),
  },
  {
    name: "page-bytes",
    run: async () => (await import("./page-bytes")).benchPageBytes(),
  },
  {
    name: "purchase-http",
    run: async () => (await import("./purchase-http")).benchPurchaseHttp({ repeats, log }),
  },
];

/** Runs a standalone benchmark script and keeps the tail of what it printed. */
function spawnScript(name: string, file: string): Promise<BenchReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      process.stdout.write(chunk);
      output = (output + chunk.toString()).slice(-4_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGTERM"), SPAWNED_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${file} exited with ${code ?? signal}`));
      resolve({
        name,
        notes: [`standalone script ${file}; its output is relayed above`],
        rows: [{ output: output.trim() }],
      });
    });
  });
}

/** The queue engineer's benchmarks, whatever shape they take (see the header). */
function queueBenches(): Bench[] {
  return readdirSync(HERE)
    .filter((f) => /^queue.*\.ts$/.test(f))
    .map((file) => {
      const name = file.replace(/\.ts$/, "");
      const path = join(HERE, file);
      const exportsBench = /export\s+(async\s+)?function\s+bench\b/.test(readFileSync(path, "utf8"));
      return {
        name,
        run: async () => {
          if (!exportsBench) return spawnScript(name, join("scripts/bench", file));
          const mod = (await import(`./${file}`)) as {
            bench(options: { repeats: number; log: typeof log }): Promise<BenchReport>;
          };
          return mod.bench({ repeats, log });
        },
      };
    });
}

function printTable(rows: BenchRow[]): void {
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ");
  console.log(line(columns));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}

const all = [...builtIn, ...queueBenches()];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((w) => !all.some((b) => b.name === w));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(", ")}; known: ${all.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
const selected = wanted.length ? all.filter((b) => wanted.includes(b.name)) : all;

const startedAt = new Date();
const machine = {
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? "?",
  node: process.version,
  loadavg_at_start: loadavg().map((l) => l.toFixed(2)),
};
const results: Array<BenchReport & { seconds: number; error?: string }> = [];
let failed = false;
console.log(
  `bench: ${selected.map((b) => b.name).join(", ")}; ${repeats} repeat(s); ${machine.cpus} CPUs, load ${machine.loadavg_at_start.join(" ")}`,
);
for (const bench of selected) {
  console.log(`\n== ${bench.name}`);
  const t0 = performance.now();
  try {
    const report = await bench.run();
    const seconds = (performance.now() - t0) / 1000;
    results.push({ ...report, seconds });
    console.log("");
    for (const note of report.notes) console.log(`  ${note}`);
    console.log("");
    printTable(report.rows);
    console.log(`(${seconds.toFixed(1)} s)`);
  } catch (err) {
    failed = true;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`${bench.name} failed: ${message}`);
    results.push({ name: bench.name, notes: [], rows: [], seconds: (performance.now() - t0) / 1000, error: message });
  }
}

const out = join(ROOT, "bench-results");
mkdirSync(out, { recursive: true });
const file = join(out, "latest.json");
writeFileSync(
  file,
  `${JSON.stringify(
    {
      started_at: startedAt.toISOString(),
      command: `npm run bench${wanted.length ? ` -- ${wanted.join(" ")}` : ""}`,
      repeats,
      machine,
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${file}`);
// Clients and servers are closed by each benchmark; exit explicitly in case a keep-alive lingers.
process.exit(failed ? 1 : 0);
