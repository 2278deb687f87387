/**
 * `sale deploy`: pre-renders every sale's page (static-site/build.ts, from the sales the
 * admin API knows) and ships the Worker with its assets through `wrangler deploy`.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildSite } from "../../static-site/build";
import { type AdminTarget, CliError } from "./admin-client";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export async function deploy(
  target: AdminTarget,
  options: { dryRun: boolean; progress: (line: string) => void },
): Promise<{ dry_run: boolean }> {
  options.progress(`pre-rendering sale pages from ${target.url}`);
  // Pages for the local stack (a dry run against a loopback admin API) skip the captcha
  // widget, as the local Worker ignores captcha tokens (CAPTCHA_MODE=off); anything that
  // ships keeps Turnstile, with TURNSTILE_SITEKEY or Cloudflare's test sitekey.
  const local = options.dryRun && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(target.url);
  const captcha = local ? ("off" as const) : { sitekey: process.env.TURNSTILE_SITEKEY ?? "1x00000000000000000000AA" };
  options.progress(
    local
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
  const args = ["deploy", ...(options.dryRun ? ["--dry-run"] : [])];
  options.progress(`wrangler ${args.join(" ")}`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("wrangler", args, {
      cwd: ROOT,
      // Wrangler's own progress goes to stderr, so --json output on stdout stays parseable.
      stdio: ["ignore", process.stderr, process.stderr],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    child.once("error", reject);
    child.once("exit", (c) => resolve(c ?? 1));
  }).catch((err: Error) => {
    throw new CliError(`cannot run wrangler: ${err.message}`);
  });
  if (code !== 0) throw new CliError(`wrangler ${args.join(" ")} failed (exit ${code}); its output is above`);
  return { dry_run: options.dryRun };
}
