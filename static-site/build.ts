/**
 * Pre-renders the static site into static-site/dist, which Workers Static Assets serves
 * at / (wrangler.jsonc): one page per sale at /sales/{sale_id}/, the front page, the
 * admin dashboard at /admin/, the hashed scripts and stylesheets, and the `_headers` cache rules.
 *
 * Builds add and replace pages; they never delete another sale's page, so the stack's
 * own build at start-up (no sales given) leaves pages published earlier in place.
 *
 *   npm run build:site                                   # front page + assets
 *   npm run build:site -- --from http://127.0.0.1:8787   # + every sale the stack knows
 *   options: --admin-token T  --api-base URL  --captcha off|<turnstile sitekey>  --currency USD
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { renderAdminPage } from "./admin-page";
import { bundleAdminAssets, bundleAssets } from "./bundle";
import { headersFile } from "./headers";
import { renderIndex, renderSalePage } from "./render";
import { fetchSales, pageConfigFor, type SaleForPage } from "./sale-definition";
import { CONFIG_ELEMENT_ID, type PageConfig } from "./src/config";

export type { SaleForPage } from "./sale-definition";

export const DIST = fileURLToPath(new URL("./dist", import.meta.url));

/** Cloudflare's documented always-passing Turnstile test sitekey; set TURNSTILE_SITEKEY for a real one. */
export const TURNSTILE_TEST_SITEKEY = "1x00000000000000000000AA";

export type BuildOptions = {
  /** Origin of the API ("" for the same origin as the page). */
  apiBase: string;
  /** Sale definitions to pre-render. */
  sales?: SaleForPage[];
  /** Or fetch them from a running stack's admin API. */
  fetchFrom?: { url: string; adminToken: string };
  /** "off" when the server ignores captcha tokens (local CAPTCHA_MODE=off); otherwise a Turnstile sitekey. */
  captcha?: "off" | { sitekey: string };
  currency?: string;
  /** Where to write (tests); defaults to DIST. */
  dist?: string;
};

export type BuildResult = {
  dist: string;
  pages: string[];
  assets: { js: string; css: string };
  jsBytes: number;
  jsGzipBytes: number;
};

function captchaFrom(option: BuildOptions["captcha"]): PageConfig["captcha"] {
  const chosen =
    option ??
    (process.env.CAPTCHA_MODE === "off" ? "off" : { sitekey: process.env.TURNSTILE_SITEKEY ?? TURNSTILE_TEST_SITEKEY });
  return chosen === "off" ? { mode: "off" } : { mode: "turnstile", sitekey: chosen.sitekey };
}

/** Writes via a temporary name and a rename, so wrangler dev never serves half a page. */
function writeAtomically(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** The sales already published in dist, read back from their pages (for the front page). */
function publishedSales(dist: string): PageConfig[] {
  const dir = join(dist, "sales");
  if (!existsSync(dir)) return [];
  const found: PageConfig[] = [];
  for (const id of readdirSync(dir)) {
    const page = join(dir, id, "index.html");
    if (!existsSync(page)) continue;
    const m = readFileSync(page, "utf8").match(
      new RegExp(`<script type="application/json" id="${CONFIG_ELEMENT_ID}">([^<]*)</script>`),
    );
    try {
      if (m?.[1]) found.push(JSON.parse(m[1]) as PageConfig);
    } catch {
      /* a page from an older build: not listed */
    }
  }
  return found;
}

export async function buildSite(options: BuildOptions): Promise<BuildResult> {
  const dist = options.dist ?? DIST;
  mkdirSync(dist, { recursive: true });
  const sales = [...(options.sales ?? []), ...(options.fetchFrom ? await fetchSales(options.fetchFrom) : [])];
  const pageOptions = {
    apiBase: options.apiBase,
    currency: options.currency ?? "USD",
    captcha: captchaFrom(options.captcha),
  };
  // Check every sale before writing any page: a bad definition fails the build, not half of it.
  const configs = sales.map((s) => pageConfigFor(s, pageOptions));

  const assets = await bundleAssets(dist);
  const pages: string[] = [];
  for (const config of configs) {
    const dir = join(dist, "sales", config.sale_id);
    mkdirSync(dir, { recursive: true });
    writeAtomically(join(dir, "index.html"), renderSalePage(config, assets));
    pages.push(`/sales/${config.sale_id}/`);
  }
  writeAtomically(join(dist, "index.html"), renderIndex(publishedSales(dist), assets));
  mkdirSync(join(dist, "admin"), { recursive: true });
  writeAtomically(join(dist, "admin", "index.html"), renderAdminPage(await bundleAdminAssets(dist)));
  writeAtomically(join(dist, "_headers"), headersFile());
  return {
    dist,
    pages,
    assets: { js: assets.js, css: assets.css },
    jsBytes: assets.jsBytes.length,
    jsGzipBytes: gzipSync(assets.jsBytes, { level: 9 }).length,
  };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const from = flag("from");
  const captcha = flag("captcha");
  const result = await buildSite({
    apiBase: flag("api-base") ?? "",
    fetchFrom: from
      ? { url: from, adminToken: flag("admin-token") ?? process.env.ADMIN_TOKEN ?? "dev-admin-token" }
      : undefined,
    captcha: captcha === undefined ? undefined : captcha === "off" ? "off" : { sitekey: captcha },
    currency: flag("currency"),
  });
  console.log(
    `built ${result.dist}: ${result.pages.length} sale page(s), script ${result.assets.js} (${result.jsBytes} B, ${result.jsGzipBytes} B gzip)`,
  );
  for (const page of result.pages) console.log(`  ${page}`);
}
