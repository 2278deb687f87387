/**
 * The names of a sale's metric counters in Redis, and their reading back. One hash per
 * bucket (second, minute, total: workers/keys.ts) holds every kind, told apart by prefix:
 *
 *   r|<METHOD> <route>|<status>|<error code or ->   requests answered
 *   l|<purchase|queue>|le_<ms>                       latency histogram buckets
 *   d|<decision>                                     purchase decisions (reserved, sold_out...)
 *   u|reserved                                       units reserved
 *   q|length, q|admitted                             queue samples taken when the metrics were read
 *
 * Route names are hono's route patterns (`POST /flash-sale/:saleId/purchase`), so a
 * sale's counters never carry a shopper's id or token.
 */
import type { PurchaseDecision } from "../purchase/purchase";
import { bucketOf } from "./latency";

export type LatencyKind = "purchase" | "queue";

export const requestField = (route: string, status: number, code: string | null) =>
  `r|${route}|${status}|${code ?? "-"}`;
export const latencyField = (kind: LatencyKind, ms: number) => `l|${kind}|${bucketOf(ms)}`;
export const decisionField = (kind: PurchaseDecision["kind"]) => `d|${kind}`;
export const RESERVED_UNITS = "u|reserved";
export const QUEUE_LENGTH = "q|length";
export const QUEUE_ADMITTED = "q|admitted";

export type RequestCount = { route: string; status: number; error: string | null; count: number };

/** Counters of one bucket, parsed once: requests, latency buckets per kind, decisions, units, queue samples. */
export type BucketFigures = {
  requests: RequestCount[];
  latency: Record<LatencyKind, Record<string, number>>;
  decisions: Record<string, number>;
  reservedUnits: number;
  queue: { length: number | null; admitted: number | null };
};

export function parseBucket(hash: Record<string, string> | null): BucketFigures {
  const figures: BucketFigures = {
    requests: [],
    latency: { purchase: {}, queue: {} },
    decisions: {},
    reservedUnits: 0,
    queue: { length: null, admitted: null },
  };
  for (const [field, raw] of Object.entries(hash ?? {})) {
    const n = Number(raw);
    const parts = field.split("|");
    switch (parts[0]) {
      case "r":
        figures.requests.push({
          route: parts[1] ?? "",
          status: Number(parts[2]),
          error: parts[3] && parts[3] !== "-" ? parts[3] : null,
          count: n,
        });
        break;
      case "l":
        if (parts[1] === "purchase" || parts[1] === "queue") figures.latency[parts[1]][parts[2] ?? ""] = n;
        break;
      case "d":
        figures.decisions[parts[1] ?? ""] = n;
        break;
      case "u":
        figures.reservedUnits = n;
        break;
      case "q":
        if (parts[1] === "length") figures.queue.length = n;
        if (parts[1] === "admitted") figures.queue.admitted = n;
        break;
    }
  }
  return figures;
}

/** Several buckets added up (the last minutes, for burn rates). */
export function mergeBuckets(list: BucketFigures[]): BucketFigures {
  const requests = new Map<string, RequestCount>();
  const merged = parseBucket(null);
  for (const figures of list) {
    for (const r of figures.requests) {
      const key = `${r.route}|${r.status}|${r.error}`;
      const seen = requests.get(key);
      if (seen) seen.count += r.count;
      else requests.set(key, { ...r });
    }
    for (const kind of ["purchase", "queue"] as const)
      for (const [bucket, n] of Object.entries(figures.latency[kind]))
        merged.latency[kind][bucket] = (merged.latency[kind][bucket] ?? 0) + n;
    for (const [decision, n] of Object.entries(figures.decisions))
      merged.decisions[decision] = (merged.decisions[decision] ?? 0) + n;
    merged.reservedUnits += figures.reservedUnits;
  }
  merged.requests = [...requests.values()];
  return merged;
}
