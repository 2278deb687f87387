/**
 * Reads a sale definition from a JSON or YAML file. Times may be written relative to
 * now ("+10m", "+2h", "+1d", "+30s") so that an example file stays usable; they are
 * resolved here, once, and the API only ever sees ISO-8601 UTC.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { CliError } from "./admin-client";

const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function resolveTime(value: unknown, nowMs: number): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== "string") return value;
  const relative = /^\+(\d+)([smhd])$/.exec(value.trim());
  if (!relative) return value;
  return new Date(nowMs + Number(relative[1]) * UNITS[relative[2] as keyof typeof UNITS]).toISOString();
}

export function readSaleFile(path: string, nowMs = Date.now()): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new CliError(
      `${path} is not valid ${extname(path) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  if (!data || typeof data !== "object" || Array.isArray(data))
    throw new CliError(`${path} must hold one sale definition (a mapping)`);
  const sale = { ...(data as Record<string, unknown>) };
  for (const field of ["start_time", "end_time"]) sale[field] = resolveTime(sale[field], nowMs);
  return sale;
}
