/**
 * The wrangler commands `sale deploy`, `sale versions` and `sale rollback` run, built
 * here and nowhere else, without running anything (tests/unit/deploy-commands.test.ts).
 */
import { CliError } from "./admin-client";

/** The environments wrangler.jsonc names; the top level is only for `wrangler dev` and dry runs. */
export const DEPLOY_ENVS = ["staging", "production"] as const;
export type DeployEnv = (typeof DEPLOY_ENVS)[number];

export function parseDeployEnv(value: string | undefined): DeployEnv | undefined {
  if (value === undefined) return undefined;
  if ((DEPLOY_ENVS as readonly string[]).includes(value)) return value as DeployEnv;
  throw new CliError(`--env must be one of ${DEPLOY_ENVS.join(", ")}, not "${value}"`);
}

/**
 * The wrangler command a deploy runs. A real deploy must name its environment: shipping the
 * top level by accident would put development's settings in front of shoppers.
 */
export function wranglerDeployArgs(options: { env?: DeployEnv; dryRun: boolean; message: string }): string[] {
  if (!options.env && !options.dryRun)
    throw new CliError(`deploy needs --env (${DEPLOY_ENVS.join(" or ")}); only a --dry-run may leave it out`);
  const env = options.env ? ["--env", options.env] : [];
  if (options.dryRun) return ["deploy", ...env, "--dry-run", "--outdir", `.wrangler/dry-run-${options.env ?? "top"}`];
  return ["deploy", ...env, "--message", options.message];
}

/**
 * The wrangler command a rollback runs: to `versionId`, or (none given) to the version that
 * served 100 % of traffic in the deployment before the current one, as wrangler chooses.
 * `--yes` because the CLI is the confirmation: the operator typed `rollback --env …`.
 */
export function wranglerRollbackArgs(options: { env: DeployEnv; versionId?: string; message?: string }): string[] {
  if (options.versionId !== undefined && !/^[0-9a-f-]{8,}$/i.test(options.versionId))
    throw new CliError(`--to must be a Worker version id (see npm run sale -- versions --env ${options.env})`);
  return [
    "rollback",
    ...(options.versionId ? [options.versionId] : []),
    "--env",
    options.env,
    "--message",
    options.message ?? "sale rollback",
    "--yes",
  ];
}

export function wranglerVersionsArgs(env: DeployEnv): string[] {
  return ["deployments", "list", "--env", env];
}
