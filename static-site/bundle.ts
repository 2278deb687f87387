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

export async function bundleAssets(dist: string): Promise<Assets & { jsBytes: Uint8Array }> {
  const assetsDir = join(dist, ASSET_PREFIX);
  mkdirSync(assetsDir, { recursive: true });

  const js = await build({
    entryPoints: [join(SRC, "main.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome90", "firefox90", "safari15"],
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const jsBytes = js.outputFiles[0]!.contents;
  const jsName = `sale-${hashOf(jsBytes)}.js`;
  writeOnce(assetsDir, jsName, jsBytes);

  const css = await build({
    entryPoints: [join(SRC, "page.css")],
    bundle: true,
    minify: true,
    write: false,
    logLevel: "silent",
    loader: { ".css": "css" },
  });
  const cssText = css.outputFiles[0]!.text;
  const cssName = `sale-${hashOf(cssText)}.css`;
  writeOnce(assetsDir, cssName, cssText);

  return { js: `${ASSET_PREFIX}${jsName}`, css: `${ASSET_PREFIX}${cssName}`, jsBytes };
}
