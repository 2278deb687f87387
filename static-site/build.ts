/**
 * Pre-renders the static site into static-site/dist (served by Workers Static Assets).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DIST = fileURLToPath(new URL("./dist", import.meta.url));

export async function buildSite(_options: { apiBase: string }): Promise<void> {
  mkdirSync(DIST, { recursive: true });
  writeFileSync(
    `${DIST}/index.html`,
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>Flash sale</title><h1>Flash sale</h1><p>Open a sale at /sales/&lt;sale_id&gt;/.</p></html>\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildSite({ apiBase: "" });
  console.log(`built ${DIST}`);
}
