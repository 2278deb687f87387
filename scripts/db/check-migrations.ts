/**
 * Fails when schema/schema.ts and the committed migrations disagree: drizzle-kit
 * generates into a scratch copy of the committed migrations, and any new migration there
 * means someone changed the schema without generating one. drizzle-kit can print an
 * error and still exit 0, so the check also insists on seeing its verdict.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Inside the project and addressed relatively: drizzle-kit mangles absolute `out` paths.
const scratchRel = ".wrangler/migrations-check";
const scratch = join(root, scratchRel);
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
try {
  cpSync(join(root, "schema/migrations"), join(scratch, "migrations"), { recursive: true });
  const config = join(scratch, "drizzle.config.mjs");
  writeFileSync(
    config,
    `export default ${JSON.stringify({ dialect: "postgresql", schema: "./schema/schema.ts", out: `./${scratchRel}/migrations` })};\n`,
  );
  const sqlFiles = () => readdirSync(join(scratch, "migrations")).filter((f) => f.endsWith(".sql"));
  const before = sqlFiles();
  const run = spawnSync("drizzle-kit", ["generate", "--config", config, "--name", "pending"], {
    cwd: root,
    encoding: "utf8",
  });
  const output = `${run.stdout}\n${run.stderr}`;
  const after = sqlFiles();
  const pending = after.filter((f) => !before.includes(f));
  if (pending.length > 0) {
    console.error(
      `schema/schema.ts has changes with no migration (${pending.join(", ")}); run \`npm run db:generate\`.`,
    );
    process.exit(1);
  }
  if (run.status !== 0 || !/No schema changes/i.test(output)) {
    console.error(`drizzle-kit did not confirm the schema matches the migrations:\n${output}`);
    process.exit(1);
  }
  console.log(`migrations match the schema (${before.length} migration${before.length === 1 ? "" : "s"})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
