import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { publishNewSales } from "../../scripts/stack/page-publisher";
import { admin, adminToken, until, workerUrl } from "./fixtures";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "sale-cli-"));

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs `npm run sale -- …` as an admin would (same entry point), against the test stack. */
/** The JSON a successful run printed; a failed run fails the test with what it said. */
function parseRun(run: Run) {
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  return JSON.parse(run.stdout);
}

function sale(args: string[], options: { url?: string; untilStdoutLines?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(ROOT, "node_modules/.bin/tsx"),
      ["scripts/cli/sale.ts", ...args, "--url", options.url ?? workerUrl()],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ADMIN_TOKEN: adminToken(),
          PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
        },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      if (options.untilStdoutLines && stdout.split("\n").length > options.untilStdoutLines) child.kill("SIGTERM");
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const example = readFileSync(join(ROOT, "scripts/cli/examples/phone-sale.yaml"), "utf8");

describe("the admin CLI", () => {
  it("drives a sale from the example YAML file through pre-warming to reconciliation", async () => {
    const yaml = file("phone.yaml", example.replace(/^name: .*$/m, `name: CLI phone sale ${Date.now()}`));
    const created = await sale(["create", yaml, "--json"]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const { sale_id: id, start_time, end_time } = JSON.parse(created.stdout);
    expect(Date.parse(start_time) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(Date.parse(end_time) - Date.parse(start_time)).toBe(30 * 60_000);

    const list = await sale(["list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+CLI phone sale \\d+\\s+scheduled`));

    const first = await sale(["prewarm", id]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Pre-warmed sale ${id}`);
    expect(first.stdout).toMatch(/PHONE-16-128\s+990 of 1000 units on sale/);
    const second = await sale(["prewarm", id]);
    expect(second.stdout).toContain("already pre-warmed");

    const shown = await sale(["show", id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/PHONE-16-128\s+Phone 16, 128 GB\s+499.00\s+999.00\s+1000\s+990\s+990\s+1/);
    expect(shown.stdout).toContain("0 queued");
    // Before any shopper, every objective holds and says it has nothing to judge yet.
    expect(shown.stdout).toMatch(/ok\s+shopper requests answered without a 5xx\s+99\.95%\s+no traffic/);

    const metrics = await sale(["metrics", id]);
    expect(metrics.code).toBe(0);
    expect(metrics.stdout).toMatch(/QUEUED\s+ADMITTED\s+RESERVED\s+PAID\s+EXPIRED\s+CANCELLED\s+REMAINING\s+OUTBOX/);
    expect(metrics.stdout).toMatch(/0\s+0\s+0\s+0\s+0\s+0\s+5940\s+0/);

    const rate = await sale(["rate", id, "500"]);
    expect(rate.code, rate.stderr).toBe(0);
    expect(rate.stdout).toContain(`Sale ${id} now admits 500 shoppers a second`);
    const paused = await sale(["pause", id]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain(`Sale ${id} admits nobody`);
    const resumed = await sale(["resume", id]);
    expect(resumed.stdout).toContain(`Sale ${id} admits 500 shoppers a second again`);

    const reconciled = await sale(["reconcile", id, "--json"]);
    expect(reconciled.code, reconciled.stderr).toBe(0);
    expect(JSON.parse(reconciled.stdout)).toMatchObject({
      sale_id: id,
      excess_cancelled: 0,
      missing_orders_written: 0,
    });

    const cancelled = await sale(["cancel", id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`Cancelled sale ${id}`);
    expect(JSON.parse((await sale(["show", id, "--json"])).stdout).status).toBe("cancelled");
  });

  it("refuses an invalid definition file with every reason in one line and a non-zero exit", async () => {
    const bad = file(
      "bad.json",
      JSON.stringify({
        name: "bad",
        start_time: "+1h",
        end_time: "+30m",
        items: [{ sku_id: "X", name: "X", flash_price: "20.00", original_price: "10.00", total_stock: 5 }],
      }),
    );
    const res = await sale(["create", bad]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    const lines = res.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^sale: .*422 validation_failed.*end_time must be after start_time.*items\[0\]\.flash_price must not exceed/,
    );
  });

  it("says in one line what is wrong with a missing file, a broken file, an unknown sale or an unreachable API", async () => {
    const cases: Array<[string[], RegExp, string | undefined]> = [
      [["create", join(dir, "nope.yaml")], /^sale: cannot read .*nope\.yaml: ENOENT$/, undefined],
      [["create", file("broken.yaml", "name: [unclosed")], /^sale: .*broken\.yaml is not valid YAML/, undefined],
      [
        ["show", "00000000-0000-4000-8000-000000000000"],
        /^sale: GET .* refused \(404 not_found\): Sale was not found\.$/,
        undefined,
      ],
      [["list"], /^sale: cannot reach the admin API at http:\/\/127\.0\.0\.1:9/, "http://127.0.0.1:9"],
      [["frobnicate"], /^sale: unknown command "frobnicate"/, undefined],
    ];
    for (const [args, message, url] of cases) {
      const res = await sale(args, { url });
      expect(res.code, args.join(" ")).not.toBe(0);
      expect(res.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(res.stderr.trim()).toMatch(message);
    }
  });

  it("refreshes the live figures with show --watch", async () => {
    const created = parseRun(await sale(["create", file("watch.yaml", example), "--json"]));
    const res = await sale(["show", created.sale_id, "--watch", "--json", "--interval", "0.3"], {
      untilStdoutLines: 2,
    });
    const frames = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames) expect(frame).toMatchObject({ sale_id: created.sale_id, figures: { queued: 0 } });
  });

  it("pre-renders the sale pages and builds the deploy with deploy --dry-run", async () => {
    const created = parseRun(await sale(["create", file("deploy.yaml", example), "--json"]));
    const { sales } = (await admin("/sales")).body as { sales: Array<{ sale_id: string }> };
    const pages = sales.map((s) => join(ROOT, "static-site/dist/sales", s.sale_id));
    try {
      const res = await sale(["deploy", "--dry-run", "--json"]);
      expect(res.code, res.stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ dry_run: true, env: null });
      expect(res.stderr).toContain("pre-rendering sale pages");
      expect(res.stderr).toContain("wrangler deploy --dry-run");
      expect(existsSync(join(ROOT, "static-site/dist/sales", created.sale_id, "index.html"))).toBe(true);
    } finally {
      // The pages of this run's throwaway sales do not belong in the developer's dist.
      for (const page of pages) rmSync(page, { recursive: true, force: true });
    }
  }, 120_000);

  it("deploys only to a named environment: --env staging builds offline with staging's own settings", async () => {
    const refused = await sale(["deploy"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("deploy needs --env (staging or production)");
    expect((await sale(["deploy", "--env", "prod", "--dry-run"])).stderr).toContain(
      '--env must be one of staging, production, not "prod"',
    );
    const res = await sale(["deploy", "--env", "staging", "--dry-run", "--json"]);
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      dry_run: true,
      env: "staging",
      command: ["wrangler", "deploy", "--env", "staging", "--dry-run", "--outdir", ".wrangler/dry-run-staging"],
    });
    // wrangler read the staging section: its own vars and limiter namespaces, not the top level's.
    expect(res.stderr).toMatch(/ENVIRONMENT \("staging"\)/);
    expect(res.stderr).toContain("ENTER_QUEUE_DEVICE_LIMITER");
  }, 120_000);

  it("rolls an environment back through wrangler rollback, to the version before or a named one", async () => {
    const previous = parseRun(await sale(["rollback", "--env", "production", "--dry-run", "--json"]));
    expect(previous.command).toEqual([
      "wrangler",
      "rollback",
      "--env",
      "production",
      "--message",
      "sale rollback",
      "--yes",
    ]);
    const named = parseRun(
      await sale([
        "rollback",
        "--env",
        "staging",
        "--to",
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "--message",
        "5xx after deploy",
        "--dry-run",
        "--json",
      ]),
    );
    expect(named.command).toEqual([
      "wrangler",
      "rollback",
      "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
      "--env",
      "staging",
      "--message",
      "5xx after deploy",
      "--yes",
    ]);
    expect((await sale(["rollback", "--dry-run"])).stderr).toContain("rollback needs --env");
    expect((await sale(["rollback", "--env", "staging", "--to", "x; rm -rf", "--dry-run"])).stderr).toContain(
      "--to must be a Worker version id",
    );
  });

  it("publishes a sale's page on the local stack as soon as it exists, without a deploy", async () => {
    const created = parseRun(await sale(["create", file("page.yaml", example), "--json"]));
    const page = join(ROOT, "static-site/dist/sales", created.sale_id);
    const published: string[] = [];
    try {
      published.push(...(await publishNewSales({ url: workerUrl(), adminToken: adminToken() })));
      expect(published).toContain(created.sale_id);
      // wrangler dev picks up new asset files from its watcher, within moments.
      const res = await until(
        () => fetch(`${workerUrl()}/sales/${created.sale_id}/`),
        (r) => r.status === 200,
        15_000,
      );
      expect(await res.text()).toContain(created.name);
      // A second pass finds nothing new to publish.
      expect(await publishNewSales({ url: workerUrl(), adminToken: adminToken() })).not.toContain(created.sale_id);
    } finally {
      rmSync(page, { recursive: true, force: true });
      for (const id of published) rmSync(join(ROOT, "static-site/dist/sales", id), { recursive: true, force: true });
    }
  });

  it("runs the demo only on a local stack: its sessions are signed with the development secret", async () => {
    const res = await sale(["demo"], { url: "https://shop.example.com" });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("demo runs only on the local stack");
  });
});
