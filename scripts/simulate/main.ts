/**
 * `npm run simulate [-- options]`: the T=0 surge on the project's own code, in simulated
 * time (scripts/simulate/simulate.ts), then the report and charts in docs/simulation/.
 * Exits 1 if any run sold more than it loaded.
 */
import { registerLuaText } from "../stack/lua-text";

registerLuaText();
const { parseOptions } = await import("./options");
const { simulate } = await import("./simulate");
const { writeReport, summaryLines } = await import("./report");
const { stopAllRedis } = await import("./sale-redis");

// An interrupted run stops the redis-server it started before it goes.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    void stopAllRedis().finally(() => process.exit(130));
  });

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
}
const started = performance.now();
const result = await simulate(options);
const wallSeconds = (performance.now() - started) / 1000;
for (const line of summaryLines(result, wallSeconds)) console.log(line);
if (options.out) console.log(`report: ${await writeReport(result, options.out, wallSeconds, process.argv.slice(2))}`);
process.exit(result.runs.some((r) => r.figures.oversold > 0) ? 1 : 0);
