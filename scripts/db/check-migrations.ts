/**
 * Fails when schema/schema.ts and the committed migrations disagree: drizzle-kit
 * generates into a scratch folder seeded with the committed snapshots, and any new
 * migration there means someone changed the schema without generating one.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const committed = join(root, "schema/migrations");
const scratch = mkdtempSync(join(tmpdir(), "migrations-check-"));
try {
  cpSync(committed, join(scratch, "migrations"), { recursive: true });
  const config = join(scratch, "drizzle.config.mjs");
  writeFileSync(
    config,
    `export default ${JSON.stringify({ dialect: "postgresql", schema: join(root, "schema/schema.ts"), out: join(scratch, "migrations") })};\n`,
  );
  const before = readdirSync(join(scratch, "migrations")).filter((f) => f.endsWith(".sql"));
  const run = spawnSync("drizzle-kit", ["generate", "--config", config, "--name", "pending"], { cwd: root, encoding: "utf8" });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    throw new Error("drizzle-kit generate failed");
  }
  const after = readdirSync(join(scratch, "migrations")).filter((f) => f.endsWith(".sql"));
  const pending = after.filter((f) => !before.includes(f));
  if (pending.length > 0) {
    console.error(`schema/schema.ts has changes with no migration (${pending.join(", ")}); run \`npm run db:generate\`.`);
    process.exit(1);
  }
  console.log(`migrations match the schema (${before.length} migration${before.length === 1 ? "" : "s"})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
