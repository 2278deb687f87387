/**
 * What one shopper downloads from the CDN to see a sale: the sale's page as `npm run
 * build:site` renders it (static-site/build.ts, into a temporary directory), and the
 * script and stylesheet it links. Gzip at level 6 (what a CDN commonly applies on the
 * fly) and 9 (the best gzip can do); brotli would be smaller still.
 *
 * A first visit loads all three; a reload within the sale loads only the HTML, because
 * the hashed assets are cached for a year (static-site/headers.ts) and the HTML itself is
 * cached by the edge for 30 s: a refresh storm is answered by the CDN, not the origin.
 * Not counted: Turnstile's own script (Cloudflare's, loaded from its domain), favicons.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { buildSite } from "../../static-site/build";
import type { BenchReport, BenchRow } from "./stats";

/** A sale as a shop would define one: three SKUs with names and prices. */
const EXAMPLE_SALE = {
  sale_id: "00000000-0000-4000-8000-000000000001",
  name: "Midnight phone drop",
  start_time: "2026-12-01T00:00:00.000Z",
  end_time: "2026-12-01T01:00:00.000Z",
  items: [
    { sku_id: "PHONE-128", name: "Phone 128 GB", flash_price: "499.00", original_price: "799.00", total_stock: 1000 },
    { sku_id: "PHONE-256", name: "Phone 256 GB", flash_price: "599.00", original_price: "899.00", total_stock: 500 },
    { sku_id: "CASE", name: "Case", flash_price: "9.00", original_price: "29.00", total_stock: 5000 },
  ],
};

export async function benchPageBytes(): Promise<BenchReport> {
  const dist = mkdtempSync(join(tmpdir(), "flashsale-page-bytes-"));
  try {
    const built = await buildSite({ apiBase: "", sales: [EXAMPLE_SALE], dist });
    const files = [
      { what: "sale page HTML", path: join(dist, built.pages[0]!, "index.html"), cached: "edge 30 s" },
      { what: "script", path: join(dist, built.assets.js), cached: "a year, immutable" },
      { what: "stylesheet", path: join(dist, built.assets.css), cached: "a year, immutable" },
    ];
    const rows: BenchRow[] = files.map(({ what, path, cached }) => {
      const raw = readFileSync(path);
      return {
        file: what,
        bytes: raw.length,
        "gzip-6 bytes": gzipSync(raw, { level: 6 }).length,
        "gzip-9 bytes": gzipSync(raw, { level: 9 }).length,
        "cache-control": cached,
      };
    });
    const sum = (column: string) => rows.reduce((n, r) => n + Number(r[column]), 0);
    rows.push({
      file: "first visit (all three)",
      bytes: sum("bytes"),
      "gzip-6 bytes": sum("gzip-6 bytes"),
      "gzip-9 bytes": sum("gzip-9 bytes"),
      "cache-control": "",
    });
    return {
      name: "page-bytes",
      notes: [
        `The sale page of a 3-SKU example sale as buildSite renders it (${built.pages[0]}), and the assets it links (${built.assets.js}, ${built.assets.css}).`,
        "A reload during the sale fetches only the HTML (the assets are immutable and cached); Turnstile's script, from Cloudflare's domain, is not counted.",
      ],
      rows,
    };
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
}
