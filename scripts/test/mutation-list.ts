/**
 * The mutation list: every `tests/mutations/*.json` entry is a one-line break of a guard
 * and the tests that must go red when it is applied. Read and checked here, once.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const Entry = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase words joined by '-'"),
  file: z.string().min(1),
  find: z.string().min(1),
  replace: z.string(),
  guards: z.string().min(1),
  tests: z.array(z.string().regex(/^tests\/(unit|integration|chaos|node)\/.+\.test\.ts$/)).min(1),
  /** Only in the runner's self-check fixture: the verdict the runner must reach. */
  expect: z.enum(["killed", "survived", "stale"]).optional(),
});

export type Mutation = z.infer<typeof Entry> & { source: string };

export function loadMutations(root: string, files: string[]): Mutation[] {
  const all: Mutation[] = [];
  for (const file of files) {
    const parsed = z.array(Entry).safeParse(JSON.parse(readFileSync(join(root, file), "utf8")));
    if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
    for (const entry of parsed.data) all.push({ ...entry, source: file });
  }
  const seen = new Map<string, string>();
  for (const m of all) {
    const other = seen.get(m.id);
    if (other) throw new Error(`mutation id ${m.id} is in both ${other} and ${m.source}`);
    seen.set(m.id, m.source);
  }
  return all;
}

export function mutationFiles(root: string): string[] {
  const dir = "tests/mutations";
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => `${dir}/${f}`);
}

/** How often `needle` occurs in `text` (non-overlapping). */
export function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

/**
 * Why an entry cannot be applied as written, or null. A `find` that no longer matches
 * exactly once means the guarded line moved: the entry must be rewritten, never skipped,
 * or a stale mutation would pass silently.
 */
export function staleReason(root: string, m: Mutation): string | null {
  let text: string;
  try {
    text = readFileSync(join(root, m.file), "utf8");
  } catch {
    return `${m.file} does not exist`;
  }
  const missing = m.tests.filter((t) => !existsSync(join(root, t)));
  if (missing.length) return `its tests do not exist: ${missing.join(", ")}`;
  const n = occurrences(text, m.find);
  if (n !== 1) return `\`find\` occurs ${n} times in ${m.file} (must be exactly once)`;
  if (m.find === m.replace) return "`replace` equals `find`: nothing would change";
  return null;
}

export function applyMutation(text: string, m: Pick<Mutation, "find" | "replace">): string {
  const at = text.indexOf(m.find);
  return text.slice(0, at) + m.replace + text.slice(at + m.find.length);
}

/** Which vitest projects a mutant's tests need: unit-only mutants never start the integration stack. */
export function projectsOf(m: Pick<Mutation, "tests">): Array<"unit" | "integration" | "node"> {
  return (["unit", "integration", "node"] as const).filter((p) => m.tests.some((t) => t.startsWith(`tests/${p}/`)));
}
