/**
 * `sale demo`: a whole sale to try in a browser, on the local stack only. Creates a sale
 * that starts in a minute, loads its stock, publishes its page, and mints a session for
 * a few test shoppers with the local development secret, handed over as sign-in links
 * that carry the session in the fragment (`#session=`: never sent to a server, so never in
 * a log). The development secret signs nothing a deployed Worker accepts, which is also
 * why the command refuses any stack but a loopback one.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { buildSite } from "../../static-site/build";
import { type AdminTarget, adminCall, CliError } from "./admin-client";
import { isLoopback } from "./deploy";

const DEV_VARS = fileURLToPath(new URL("../../.dev.vars", import.meta.url));

/** The shopper secret the local Worker verifies with: the environment's, else .dev.vars's, else the contract's default. */
export function localShopperSecret(): string {
  if (process.env.SHOPPER_JWT_SECRET) return process.env.SHOPPER_JWT_SECRET;
  try {
    const line = readFileSync(DEV_VARS, "utf8")
      .split("\n")
      .find((l) => l.startsWith("SHOPPER_JWT_SECRET="));
    if (line) return line.slice("SHOPPER_JWT_SECRET=".length).trim();
  } catch {
    /* no .dev.vars: the default below is what it would hold */
  }
  return "dev-shopper-secret";
}

/** A session as the shop's login issues it (docs/api.md "Identities and tokens"), for an account a month old. */
async function session(sub: string, secret: string, nowS: number, hours: number): Promise<string> {
  return new SignJWT({ acct_created: nowS - 30 * 86_400 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + hours * 3_600)
    .sign(new TextEncoder().encode(secret));
}

export type Demo = {
  sale_id: string;
  starts_at: string;
  page_url: string;
  dashboard_url: string;
  shoppers: Array<{ user_id: string; link: string }>;
};

export async function demo(
  target: AdminTarget,
  options: { startsInSeconds: number; shoppers: number; progress: (line: string) => void },
): Promise<Demo> {
  if (!isLoopback(target.url))
    throw new CliError(
      `demo runs only on the local stack (it signs sessions with the development secret), not ${target.url}`,
    );
  if (!(options.startsInSeconds >= 5)) throw new CliError("--starts-in must be at least 5 seconds");
  if (!(options.shoppers >= 1 && options.shoppers <= 20)) throw new CliError("--shoppers must be 1 to 20");
  const base = target.url.replace(/\/$/, "");
  const start = Date.now() + options.startsInSeconds * 1000;
  const stamp = new Date(start).toISOString().slice(11, 19);
  options.progress(`creating a demo sale that starts at ${stamp} UTC`);
  const created = await adminCall(target, "POST", "/sales", {
    name: `Demo sale at ${stamp} UTC`,
    start_time: new Date(start).toISOString(),
    end_time: new Date(start + 30 * 60_000).toISOString(),
    safety_buffer_percent: 0,
    items: [
      {
        sku_id: "DEMO-PHONE",
        name: "Demo phone, 128 GB",
        flash_price: "199.00",
        original_price: "399.00",
        total_stock: Math.max(2, options.shoppers - 1),
        per_user_limit: 1,
      },
      {
        sku_id: "DEMO-CASE",
        name: "Demo phone case",
        flash_price: "9.00",
        original_price: "19.00",
        total_stock: 20,
        per_user_limit: 2,
      },
    ],
  });
  const saleId: string = created.sale_id;
  options.progress(`loading its stock into Redis`);
  await adminCall(target, "POST", `/sales/${saleId}/prewarm`);
  options.progress(`publishing its page`);
  // The stack's own publisher would find it within seconds; the demo does not wait for it.
  await buildSite({ apiBase: "", sales: [await adminCall(target, "GET", `/sales/${saleId}`)], captcha: "off" });

  const secret = localShopperSecret();
  const nowS = Math.floor(Date.now() / 1000);
  const page = `${base}/sales/${saleId}/`;
  const shoppers = [];
  for (let i = 1; i <= options.shoppers; i++) {
    const user_id = `demo-shopper-${i}-${saleId.slice(0, 8)}`;
    const token = await session(user_id, secret, nowS, 2);
    shoppers.push({ user_id, link: `${page}#session=${token}` });
  }
  return {
    sale_id: saleId,
    starts_at: new Date(start).toISOString(),
    page_url: page,
    dashboard_url: `${base}/admin/`,
    shoppers,
  };
}

export function demoSummary(d: Demo): string {
  return [
    `Demo sale ${d.sale_id} starts at ${d.starts_at}.`,
    "",
    `Its page: ${d.page_url}`,
    "",
    "Open each link in its own browser profile or private window (a page keeps the session it was given):",
    ...d.shoppers.map((s) => `  ${s.user_id}\n    ${s.link}`),
    "",
    `Dashboard (admin token dev-admin-token): ${d.dashboard_url}`,
    `Live figures in this terminal: npm run sale -- show ${d.sale_id} --watch`,
  ].join("\n");
}
