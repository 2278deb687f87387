/**
 * `sale deploy` and `sale rollback`: pre-render every sale's page (static-site/build.ts, from
 * the sales the admin API knows), ship the Worker with its assets through `wrangler deploy`
 * to a named environment (wrangler.jsonc `env`), and put the previous Worker version back
 * through `wrangler rollback` when a deploy goes bad (docs/runbook.md "A bad deploy").
 */
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildSite } from "../../static-site/build";
import { type AdminTarget, CliError } from "./admin-client";
import { type DeployEnv, wranglerDeployArgs, wranglerRollbackArgs } from "./wrangler-args";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What this checkout is, for the version's message: the version list then says which commit runs. */
function revision(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown revision";
  }
}

/** Runs wrangler from the repository; its own output goes to stderr, so --json output on stdout stays parseable. */
export async function runWrangler(args: string[]): Promise<void> {
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("wrangler", args, {
      cwd: ROOT,
      stdio: ["inherit", process.stderr, process.stderr],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    child.once("error", reject);
    child.once("exit", (c) => resolve(c ?? 1));
  }).catch((err: Error) => {
    throw new CliError(`cannot run wrangler: ${err.message}`);
  });
  if (code !== 0) throw new CliError(`wrangler ${args.join(" ")} failed (exit ${code}); its output is above`);
}

export const isLoopback = (url: string) => /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(url);

/** Pre-renders every sale's page from the admin API's sales into static-site/dist. */
export async function buildPages(target: AdminTarget, options: { local: boolean; progress: (line: string) => void }) {
  options.progress(`pre-rendering sale pages from ${target.url}`);
  // Pages for the local stack skip the captcha widget, as the local Worker ignores captcha
  // tokens (CAPTCHA_MODE=off); anything that ships keeps Turnstile, with TURNSTILE_SITEKEY
  // or Cloudflare's test sitekey.
  const captcha = options.local
    ? ("off" as const)
    : { sitekey: process.env.TURNSTILE_SITEKEY ?? "1x00000000000000000000AA" };
  options.progress(
    options.local
      ? "local pages: captcha widget off, as the local Worker ignores it"
      : `captcha: Turnstile sitekey ${captcha === "off" ? "" : captcha.sitekey}`,
  );
  // A variable, not a literal: the build takes the sales to render from the admin API.
  const build = { apiBase: "", fetchFrom: { url: target.url, adminToken: target.token }, captcha };
  try {
    await buildSite(build);
  } catch (err) {
    throw new CliError(`building the sale pages failed: ${(err as Error).message.split("\n")[0]}`);
  }
}

export async function deploy(
  target: AdminTarget,
  options: { dryRun: boolean; env?: DeployEnv; message?: string; progress: (line: string) => void },
): Promise<{ dry_run: boolean; env: DeployEnv | null; command: string[] }> {
  const args = wranglerDeployArgs({ ...options, message: options.message ?? `sale deploy ${revision()}` });
  await buildPages(target, { local: options.dryRun && isLoopback(target.url), progress: options.progress });
  options.progress(`wrangler ${args.join(" ")}`);
  await runWrangler(args);
  return { dry_run: options.dryRun, env: options.env ?? null, command: ["wrangler", ...args] };
}

/** `--dry-run` prints the command and runs nothing: wrangler's rollback has no dry run of its own. */
export async function rollback(options: {
  env: DeployEnv;
  versionId?: string;
  message?: string;
  dryRun: boolean;
  progress: (line: string) => void;
}): Promise<{ dry_run: boolean; env: DeployEnv; command: string[] }> {
  const args = wranglerRollbackArgs(options);
  options.progress(`${options.dryRun ? "would run" : "running"}: wrangler ${args.join(" ")}`);
  if (!options.dryRun) await runWrangler(args);
  return { dry_run: options.dryRun, env: options.env, command: ["wrangler", ...args] };
}
