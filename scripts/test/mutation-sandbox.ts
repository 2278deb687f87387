/**
 * A throw-away copy of the repository for mutants: every file git knows (tracked, or new
 * and not ignored, so an uncommitted change is tested as it stands), node_modules linked
 * back, and the built sale pages the Worker serves. It is self-contained: wrangler dev,
 * vitest and the integration stack all resolve paths from the copy, never the original.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { applyMutation, type Mutation } from "./mutation-list";

export type Sandbox = {
  dir: string;
  /** Applies one mutant; the returned function restores the file. */
  apply(m: Mutation): () => void;
  remove(): void;
};

export function createSandbox(root: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "flashsale-mutant-"));
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean);
  for (const file of listed) {
    const from = join(root, file);
    if (!existsSync(from)) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(from, join(dir, file));
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  // The Worker serves the built pages; wrangler dev refuses to start without them.
  const pages = join(root, "static-site/dist");
  if (existsSync(pages)) cpSync(pages, join(dir, "static-site/dist"), { recursive: true });
  else {
    const built = spawnSync("npx", ["tsx", "static-site/build.ts"], { cwd: dir, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`building the sale pages in the sandbox failed:\n${built.stderr}`);
  }
  return {
    dir,
    apply(m) {
      const path = join(dir, m.file);
      const original = readFileSync(path, "utf8");
      writeFileSync(path, applyMutation(original, m));
      return () => writeFileSync(path, original);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
