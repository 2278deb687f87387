import { describe, expect, it } from "vitest";
import { CliError } from "../../scripts/cli/admin-client";
import { parseDeployEnv, wranglerDeployArgs, wranglerRollbackArgs } from "../../scripts/cli/wrangler-args";

describe("deploys name their environment", () => {
  it("refuses a real deploy without --env: only a dry run may build the top level", () => {
    expect(() => wranglerDeployArgs({ dryRun: false, message: "m" })).toThrow(CliError);
    expect(wranglerDeployArgs({ dryRun: true, message: "m" })).toEqual([
      "deploy",
      "--dry-run",
      "--outdir",
      ".wrangler/dry-run-top",
    ]);
  });

  it("deploys to the named environment with a message saying what ships", () => {
    expect(wranglerDeployArgs({ env: "production", dryRun: false, message: "sale deploy abc123" })).toEqual([
      "deploy",
      "--env",
      "production",
      "--message",
      "sale deploy abc123",
    ]);
  });

  it("knows only staging and production", () => {
    expect(parseDeployEnv("staging")).toBe("staging");
    expect(parseDeployEnv(undefined)).toBeUndefined();
    expect(() => parseDeployEnv("prod")).toThrow('--env must be one of staging, production, not "prod"');
  });

  it("rolls back to the version before, or to a version id, and never passes anything else to wrangler", () => {
    expect(wranglerRollbackArgs({ env: "staging" })).toEqual([
      "rollback",
      "--env",
      "staging",
      "--message",
      "sale rollback",
      "--yes",
    ]);
    expect(() => wranglerRollbackArgs({ env: "staging", versionId: "--help" })).toThrow(CliError);
  });
});
