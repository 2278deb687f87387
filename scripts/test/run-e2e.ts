/**
 * `npm run test:e2e`: the end-to-end sale in headless Chromium on the local stack
 * (tests/e2e/). Typechecks the page's browser code and the e2e tests first (neither is
 * in the main typecheck: they need DOM types). Needs the system's Chromium
 * (`apt-get install -y chromium`); it never downloads a browser. The stack runs with
 * CAPTCHA_MODE=off, as local development does.
 */
import { spawnSync } from "node:child_process";
import { chromiumPath } from "../../tests/e2e/browser";

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { stdio: "inherit", env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!chromiumPath()) {
  console.error("test:e2e needs Chromium on PATH: `apt-get install -y chromium` (Debian), or set CHROMIUM_PATH.");
  process.exit(1);
}
// `npm test` has typechecked both already; on its own, this runner does it first.
if (process.env.FLASHSALE_TYPECHECKED !== "1") {
  run("tsc", ["--noEmit", "-p", "static-site/tsconfig.json"]);
  run("tsc", ["--noEmit", "-p", "tests/e2e/tsconfig.json"]);
}
const vars = { ...JSON.parse(process.env.FLASHSALE_TEST_VARS ?? "{}"), CAPTCHA_MODE: "off" };
run("vitest", ["run", "--config", "tests/e2e/vitest.config.ts", ...process.argv.slice(2)], {
  ...process.env,
  FLASHSALE_TEST_VARS: JSON.stringify(vars),
});
