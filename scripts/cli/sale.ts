/**
 * The admin CLI: `npm run sale -- <command>`. It drives the admin API (docs/api.md "Admin
 * API") and nothing else, so what it does a shop's back end can do over HTTP too.
 * Output is for people by default and the API's own JSON with --json; progress goes to
 * stderr; a failure is one line on stderr and a non-zero exit.
 */
import { parseArgs } from "node:util";
import type { SaleMetrics } from "../../workers/metrics/report";
import { type AdminTarget, adminCall, CliError } from "./admin-client";
import { demo, demoSummary } from "./demo";
import { deploy, rollback, runWrangler } from "./deploy";
import { metricsSummary, prewarmSummary, reconcileSummary, type Sale, saleList, saleSummary, sloLines } from "./format";
import { fraudCancelSummary, fraudSummary } from "./fraud";
import { readSaleFile } from "./sale-file";
import { type DeployEnv, parseDeployEnv, wranglerVersionsArgs } from "./wrangler-args";

const USAGE = `usage: npm run sale -- <command> [options]

  demo [--starts-in SECS]        local stack: a sale starting in a minute, its page, sign-in links
  create <file.json|file.yaml>   create a sale from a definition file
  list                           every sale with live figures
  show <sale_id> [--watch]       one sale and its SLOs; --watch refreshes them
  prewarm <sale_id>              load its stock into Redis (idempotent)
  cancel <sale_id>               stop the sale and tell queued shoppers
  metrics <sale_id>              counters, backlog, latency, admission, bot signals, SLOs
  pause <sale_id>                stop admitting from the queue (the rate is kept)
  resume <sale_id>               admit again at the sale's rate
  rate <sale_id> <per_second>    change how fast the sale's queue admits, live
  reconcile <sale_id>            compare Postgres orders with Redis and repair
  fraud <sale_id> [--cancel]     after the sale: shared addresses and payment methods, resellers,
                                 bot-flagged shoppers; --cancel (or --order ID...) cancels and returns units
  deploy --env ENV [--dry-run]   pre-render sale pages and run wrangler deploy to ENV
  versions --env ENV             the Worker's recent deployments in ENV (wrangler)
  rollback --env ENV [--to ID]   put the previous Worker version (or version ID) back in ENV

options:
  --url URL          admin API origin (default http://127.0.0.1:8787, or SALE_API_URL)
  --json             print the API's JSON instead of tables
  --interval SECS    refresh interval for show --watch (default 2)
  --env ENV          staging or production (wrangler.jsonc env sections)
  --to ID            rollback: the Worker version to go back to (default: the one before)
  --message TEXT     deploy and rollback: why, recorded with the version
  --dry-run          deploy: wrangler deploy --dry-run (offline); rollback: print the command only
  --cancel           fraud: cancel every order the report marks
  --starts-in SECS   demo: seconds until the sale starts (default 60)
  --shoppers N       demo: how many test shoppers get a sign-in link (default 3)
  --order ID         fraud: cancel this order (repeat for more)
  ADMIN_TOKEN        environment variable with the admin token (default dev-admin-token)`;

type Options = {
  json: boolean;
  watch: boolean;
  dryRun: boolean;
  intervalS: number;
  env?: DeployEnv;
  to?: string;
  message?: string;
  cancel: boolean;
  orders: string[];
  startsInSeconds: number;
  shoppers: number;
};

const progress = (line: string) => process.stderr.write(`… ${line}\n`);

function saleIdArg(args: string[], command: string): string {
  const id = args[0];
  if (!id) throw new CliError(`${command} needs a sale id: npm run sale -- ${command} <sale_id>`);
  return encodeURIComponent(id);
}

/** The sale's own answer with its SLOs and their error-budget burn (from its metrics) added as `slo`. */
async function showSale(target: AdminTarget, id: string): Promise<Sale & { slo: SaleMetrics["slo"] }> {
  const [sale, metrics] = await Promise.all([
    adminCall(target, "GET", `/sales/${id}`) as Promise<Sale>,
    adminCall(target, "GET", `/sales/${id}/metrics?seconds=1`) as Promise<SaleMetrics>,
  ]);
  return { ...sale, slo: metrics.slo };
}

const showText = (shown: Awaited<ReturnType<typeof showSale>>) =>
  [saleSummary(shown), "", ...sloLines(shown.slo)].join("\n");

async function watch(target: AdminTarget, id: string, options: Options): Promise<never> {
  for (;;) {
    const shown = await showSale(target, id);
    if (options.json) process.stdout.write(`${JSON.stringify(shown)}\n`);
    else
      process.stdout.write(
        `\x1b[2J\x1b[H${showText(shown)}\n\n  refreshed ${new Date().toISOString()} · every ${options.intervalS}s · Ctrl-C to stop\n`,
      );
    await new Promise((r) => setTimeout(r, options.intervalS * 1000));
  }
}

async function run(command: string, args: string[], target: AdminTarget, options: Options): Promise<void> {
  const print = (answer: unknown, human: () => string) =>
    console.log(options.json ? JSON.stringify(answer, null, 2) : human());
  switch (command) {
    case "demo": {
      const result = await demo(target, {
        startsInSeconds: options.startsInSeconds,
        shoppers: options.shoppers,
        progress,
      });
      return print(result, () => demoSummary(result));
    }
    case "create": {
      const file = args[0];
      if (!file) throw new CliError("create needs a file: npm run sale -- create scripts/cli/examples/phone-sale.yaml");
      const sale = await adminCall(target, "POST", "/sales", readSaleFile(file));
      return print(sale, () => `Created sale ${sale.sale_id}\n\n${saleSummary(sale)}`);
    }
    case "list": {
      const { sales } = await adminCall(target, "GET", "/sales");
      return print(sales, () => saleList(sales));
    }
    case "show": {
      const id = saleIdArg(args, "show");
      if (options.watch) return watch(target, id, options);
      const shown = await showSale(target, id);
      return print(shown, () => showText(shown));
    }
    case "prewarm": {
      const result = await adminCall(target, "POST", `/sales/${saleIdArg(args, "prewarm")}/prewarm`);
      return print(result, () => prewarmSummary(result));
    }
    case "cancel": {
      const sale = await adminCall(target, "POST", `/sales/${saleIdArg(args, "cancel")}/cancel`);
      const told = sale.queue_notified
        ? "queued shoppers were told"
        : "the queue could not be told yet; cancel again to retry";
      return print(sale, () => `Cancelled sale ${sale.sale_id}; ${told}.\n\n${saleSummary(sale)}`);
    }
    case "rate": {
      const id = saleIdArg(args, "rate");
      const rate = Number(args[1]);
      if (!args[1] || !Number.isInteger(rate))
        throw new CliError("rate needs a whole number of shoppers per second: npm run sale -- rate <sale_id> 500");
      const sale = await adminCall(target, "PATCH", `/sales/${id}`, { admission_rate_per_second: rate });
      const told = sale.queue_notified
        ? "the queue admits at it from its next tick"
        : "the queue could not be told yet; run it again";
      return print(
        sale,
        () => `Sale ${sale.sale_id} now admits ${sale.admission_rate_per_second} shoppers a second; ${told}.`,
      );
    }
    case "pause":
    case "resume": {
      const id = saleIdArg(args, command);
      const sale = await adminCall(target, "PATCH", `/sales/${id}`, { admission_paused: command === "pause" });
      const told = sale.queue_notified ? "from the queue's next tick" : "once the queue hears of it; run it again";
      return print(sale, () =>
        sale.admission_paused_at
          ? `Sale ${sale.sale_id} admits nobody ${told} (paused since ${sale.admission_paused_at}).`
          : `Sale ${sale.sale_id} admits ${sale.admission_rate_per_second} shoppers a second again ${told}.`,
      );
    }
    case "metrics": {
      const metrics = await adminCall(target, "GET", `/sales/${saleIdArg(args, "metrics")}/metrics`);
      return print(metrics, () => metricsSummary(metrics));
    }
    case "reconcile": {
      const id = saleIdArg(args, "reconcile");
      if (!options.json) progress(`reconciling sale ${decodeURIComponent(id)}`);
      const report = await adminCall(target, "POST", `/sales/${id}/reconcile`);
      return print(report, () => reconcileSummary(report));
    }
    case "fraud": {
      const id = saleIdArg(args, "fraud");
      if (options.cancel || options.orders.length > 0) {
        const body = options.orders.length > 0 ? { order_ids: options.orders } : undefined;
        const result = await adminCall(target, "POST", `/sales/${id}/fraud/cancel`, body);
        return print(result, () => fraudCancelSummary(result));
      }
      const report = await adminCall(target, "GET", `/sales/${id}/fraud`);
      return print(report, () => fraudSummary(report));
    }
    case "deploy": {
      const result = await deploy(target, {
        dryRun: options.dryRun,
        env: options.env,
        message: options.message,
        progress,
      });
      const where = options.env ?? "the top-level Worker";
      return print(result, () =>
        options.dryRun
          ? `Dry run complete: the bundle for ${where} builds; nothing was deployed.`
          : `Deployed to ${where}. If it misbehaves: npm run sale -- rollback --env ${options.env}`,
      );
    }
    case "versions": {
      if (!options.env) throw new CliError("versions needs --env staging|production");
      await runWrangler(wranglerVersionsArgs(options.env));
      return;
    }
    case "rollback": {
      if (!options.env) throw new CliError("rollback needs --env staging|production");
      const result = await rollback({
        env: options.env,
        versionId: options.to,
        message: options.message,
        dryRun: options.dryRun,
        progress,
      });
      return print(result, () =>
        options.dryRun
          ? `Dry run: would run ${result.command.join(" ")}`
          : `Rolled ${options.env} back${options.to ? ` to ${options.to}` : " to the previous version"}.`,
      );
    }
    default:
      throw new CliError(`unknown command "${command}"; run npm run sale -- --help`);
  }
}

const OPTIONS = {
  url: { type: "string" },
  json: { type: "boolean", default: false },
  watch: { type: "boolean", default: false },
  "dry-run": { type: "boolean", default: false },
  interval: { type: "string", default: "2" },
  env: { type: "string" },
  to: { type: "string" },
  message: { type: "string" },
  cancel: { type: "boolean", default: false },
  "starts-in": { type: "string", default: "60" },
  shoppers: { type: "string", default: "3" },
  order: { type: "string", multiple: true },
  help: { type: "boolean", short: "h", default: false },
} as const;

function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    console.error(`sale: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const intervalS = Number(values.interval);
  if (!(intervalS > 0)) {
    console.error("sale: --interval must be a number of seconds above 0");
    return 2;
  }
  const target: AdminTarget = {
    url: values.url ?? process.env.SALE_API_URL ?? "http://127.0.0.1:8787",
    token: process.env.ADMIN_TOKEN ?? "dev-admin-token",
  };
  try {
    await run(command, args, target, {
      json: values.json,
      watch: values.watch,
      dryRun: values["dry-run"],
      intervalS,
      env: parseDeployEnv(values.env),
      to: values.to,
      message: values.message,
      cancel: values.cancel,
      orders: values.order ?? [],
      startsInSeconds: Number(values["starts-in"]),
      shoppers: Number(values.shoppers),
    });
    return 0;
  } catch (err) {
    const message =
      err instanceof CliError ? err.message : `unexpected failure: ${(err as Error).message.split("\n")[0]}`;
    console.error(`sale: ${message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
