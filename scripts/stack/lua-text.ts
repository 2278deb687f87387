/**
 * The Worker's modules import .lua files as text (wrangler's Text rule; vitest has a
 * plugin for it). This hook does the same for Node, so scripts call the project's own
 * purchase code instead of a copy of it. Register it before those modules load (import
 * them dynamically after the call).
 */
import { register } from "node:module";

export function registerLuaText(): void {
  register(
    "data:text/javascript," +
      encodeURIComponent(`
import { readFile } from "node:fs/promises";
export async function load(url, context, next) {
  if (!url.endsWith(".lua")) return next(url, context);
  const text = await readFile(new URL(url), "utf8");
  return { format: "module", shortCircuit: true, source: "export default " + JSON.stringify(text) + ";" };
}`),
  );
}
