/**
 * The page's one script and one stylesheet, minified and named by content hash, so a
 * name never changes meaning and can be cached forever (see headers.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { ASSET_PREFIX } from "./headers";
import type { Assets } from "./render";

const SRC = fileURLToPath(new URL("./src", import.meta.url));

const hashOf = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex").slice(0, 12);

function writeOnce(dir: string, name: string, data: string | Uint8Array): void {
  const path = join(dir, name);
  // Same name, same content: an existing file is already right (and may be in use by an open page).
  if (!existsSync(path)) writeFileSync(path, data);
}

/** One page's script and stylesheet, named `<name>-<hash>`. */
async function bundlePage(
  dist: string,
  name: string,
  entries: { js: string; css: string; banner?: string },
): Promise<Assets & { jsBytes: Uint8Array }> {
  const assetsDir = join(dist, ASSET_PREFIX);
  mkdirSync(assetsDir, { recursive: true });

  const js = await build({
    entryPoints: [join(SRC, entries.js)],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome90", "firefox90", "safari15"],
    write: false,
    legalComments: "none",
    ...(entries.banner ? { banner: { js: entries.banner } } : {}),
    logLevel: "silent",
  });
  const jsBytes = js.outputFiles[0]!.contents;
  const jsName = `${name}-${hashOf(jsBytes)}.js`;
  writeOnce(assetsDir, jsName, jsBytes);

  const css = await build({
    entryPoints: [join(SRC, entries.css)],
    bundle: true,
    minify: true,
    write: false,
    logLevel: "silent",
    loader: { ".css": "css" },
  });
  const cssText = css.outputFiles[0]!.text;
  const cssName = `${name}-${hashOf(cssText)}.css`;
  writeOnce(assetsDir, cssName, cssText);

  return { js: `${ASSET_PREFIX}${jsName}`, css: `${ASSET_PREFIX}${cssName}`, jsBytes };
}

/** The shopper's page: as small as it can be, on every phone at T=0. */
export const bundleAssets = (dist: string) => bundlePage(dist, "sale", { js: "main.ts", css: "page.css" });

/** The admin dashboard, with its charting library (uPlot): a handful of admins, never the crowd. */
export const bundleAdminAssets = (dist: string) =>
  bundlePage(dist, "admin", {
    js: "admin/main.ts",
    css: "admin/admin.css",
    // Minifying drops uPlot's header comment; its MIT licence asks for the notice to stay.
    banner:
      "/*! uPlot (μPlot) v1.6, Copyright (c) 2025 Leon Sorokin, MIT License: https://github.com/leeoniya/uPlot */",
  });
