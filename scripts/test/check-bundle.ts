/**
 * Builds the production bundle with `wrangler deploy --dry-run` and proves the local
 * tooling stayed out of it: no bridge, no ioredis, no `ws` server, no PGlite.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const outdir = ".wrangler/dry-run";
rmSync(outdir, { recursive: true, force: true });
const run = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir], {
  encoding: "utf8",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
process.stdout.write(run.stdout);
if (run.status !== 0) {
  process.stderr.write(run.stderr);
  process.exit(1);
}
const bundle = readdirSync(outdir)
  .filter((f) => f.endsWith(".js"))
  .map((f) => readFileSync(join(outdir, f), "utf8"))
  .join("\n");
const forbidden = [
  "ioredis",
  "upstash-bridge",
  "neon-ws-proxy",
  "WebSocketServer",
  "pglite",
  "queue-bench",
  "fillForBench",
];
const leaked = forbidden.filter((needle) => bundle.includes(needle));
if (leaked.length > 0) {
  console.error(`local tooling leaked into the production bundle: ${leaked.join(", ")}`);
  process.exit(1);
}
console.log(`bundle is ${(Buffer.byteLength(bundle) / 1024).toFixed(0)} KiB and free of local tooling`);
