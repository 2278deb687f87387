import { DEFAULTS } from "../config";
import type { Problem } from "../errors";
import { COLUMN_CHARS } from "../orders/columns";
import { MAX_SHARDS } from "../queue/shards";
import { storableText, z } from "../validation";

/**
 * A sale definition as the admin sends it, and the rules that make it sellable. The zod
 * shape decides only "is this understood" (400); every business rule is checked here so
 * that one 422 can name every problem at once, before anything is written.
 */

const money = z.union([z.string(), z.number()]);

// Strict, as PATCH is: a misspelt field is refused (400), never silently given its default.
export const saleItemInput = z
  .object({
    sku_id: z.string(),
    // Lengths are business rules (422 below); what no column can hold at all is 400 here.
    name: storableText(Number.MAX_SAFE_INTEGER, 0),
    flash_price: money,
    original_price: money,
    total_stock: z.number(),
    per_user_limit: z.number().optional(),
  })
  .strict();

export const saleInput = z
  .object({
    name: storableText(Number.MAX_SAFE_INTEGER, 0),
    start_time: z.string(),
    end_time: z.string(),
    pre_queue_minutes: z.number().optional(),
    pre_queue_mode: z.string().optional(),
    admission_rate_per_second: z.number().optional(),
    expected_shoppers: z.number().optional(),
    shards: z.number().optional(),
    safety_buffer_percent: z.number().optional(),
    payment_deadline_seconds: z.number().optional(),
    items: z.array(saleItemInput),
  })
  .strict();

export type SaleInput = z.infer<typeof saleInput>;

/** A definition that passed every rule, with defaults filled in and money as "499.00". */
export type SaleDefinition = {
  name: string;
  startTime: Date;
  endTime: Date;
  preQueueMinutes: number;
  preQueueMode: "fifo" | "random";
  admissionRatePerSecond: number;
  expectedShoppers: number;
  /** Queue objects the admin asked for; absent: sized from expectedShoppers. Stored (`flash_sales.shards`) to tell the queue again. */
  shards?: number;
  safetyBufferPercent: number;
  paymentDeadlineSeconds: number;
  items: Array<{
    skuId: string;
    name: string;
    flashPrice: string;
    originalPrice: string;
    totalStock: number;
    perUserLimit: number;
  }>;
};

/** numeric(10,2): at most 8 digits before the point. */
const MAX_CENTS = 9_999_999_999;
/** integer columns. */
const MAX_INT = 2_147_483_647;
/** Shoppers admitted per second: the same range at creation and when tuned live (PATCH). */
export const ADMISSION_RATE_RANGE = { min: 1, max: 1_000_000 } as const;
/**
 * SKU ids become part of Redis key names and of the meta hash's comma-separated `skus`
 * field, so a comma, brace or space in one would corrupt the layout.
 */
const SKU_ID = /^[A-Za-z0-9._-]{1,50}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Cents of a decimal amount with at most two places, or null when it is not one. */
export function toCents(value: string | number): number | null {
  const text = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : value.trim();
  const match = /^(\d{1,10})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return null;
  const cents = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  return cents <= MAX_CENTS ? cents : null;
}

export const formatCents = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;

export function wholeNumber(
  problems: Problem[],
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = MAX_INT,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    problems.push({ field, problem: `must be a whole number from ${min} to ${max}` });
  }
  return v;
}

function time(problems: Problem[], field: string, value: string): Date | null {
  const ms = ISO_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    problems.push({ field, problem: "must be an ISO-8601 time with a zone, such as 2026-12-01T10:00:00Z" });
    return null;
  }
  return new Date(ms);
}

/** Every rule of a sellable sale, checked against the server's clock `nowMs`. */
export function validateSale(
  input: SaleInput,
  nowMs: number,
): { ok: true; sale: SaleDefinition } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const name = input.name.trim();
  // Characters as Postgres counts them (code points), so an emoji is one, as in the column.
  if (name.length === 0 || [...name].length > COLUMN_CHARS.saleName)
    problems.push({ field: "name", problem: `must be 1 to ${COLUMN_CHARS.saleName} characters` });

  const startTime = time(problems, "start_time", input.start_time);
  const endTime = time(problems, "end_time", input.end_time);
  if (startTime && startTime.getTime() <= nowMs) {
    problems.push({
      field: "start_time",
      problem: `must be in the future (the server's clock reads ${new Date(nowMs).toISOString()})`,
    });
  }
  if (startTime && endTime && endTime.getTime() <= startTime.getTime()) {
    problems.push({ field: "end_time", problem: "must be after start_time" });
  }

  const preQueueMinutes = wholeNumber(
    problems,
    "pre_queue_minutes",
    input.pre_queue_minutes,
    DEFAULTS.preQueueMinutes,
    0,
    24 * 60,
  );
  const preQueueMode = input.pre_queue_mode ?? DEFAULTS.preQueueMode;
  if (preQueueMode !== "fifo" && preQueueMode !== "random")
    problems.push({ field: "pre_queue_mode", problem: "must be fifo or random" });
  const admissionRatePerSecond = wholeNumber(
    problems,
    "admission_rate_per_second",
    input.admission_rate_per_second,
    DEFAULTS.admissionRatePerSecond,
    ADMISSION_RATE_RANGE.min,
    ADMISSION_RATE_RANGE.max,
  );
  const expectedShoppers = wholeNumber(
    problems,
    "expected_shoppers",
    input.expected_shoppers,
    DEFAULTS.expectedShoppers,
    1,
  );
  const shards =
    input.shards === undefined ? undefined : wholeNumber(problems, "shards", input.shards, 1, 1, MAX_SHARDS);
  const safetyBufferPercent = input.safety_buffer_percent ?? DEFAULTS.safetyBufferPercent;
  if (
    !(safetyBufferPercent >= 0 && safetyBufferPercent < 100) ||
    Math.abs(Math.round(safetyBufferPercent * 100) - safetyBufferPercent * 100) > 1e-6
  ) {
    problems.push({
      field: "safety_buffer_percent",
      problem: "must be at least 0 and below 100, with at most two decimal places",
    });
  }

  // How long a reservation waits for payment (docs/api.md: default 10 min). At least a minute,
  // so a shopper can get through a checkout; at most a day, so stock is not held hostage.
  const paymentDeadlineSeconds = wholeNumber(
    problems,
    "payment_deadline_seconds",
    input.payment_deadline_seconds,
    DEFAULTS.paymentDeadlineSeconds,
    60,
    86_400,
  );

  if (input.items.length === 0) problems.push({ field: "items", problem: "must list at least one item" });
  const seen = new Set<string>();
  const items: SaleDefinition["items"] = [];
  input.items.forEach((item, i) => {
    const at = (field: string) => `items[${i}].${field}`;
    if (!SKU_ID.test(item.sku_id)) {
      problems.push({ field: at("sku_id"), problem: "must be 1 to 50 letters, digits, dots, dashes or underscores" });
    } else if (seen.has(item.sku_id)) {
      problems.push({ field: at("sku_id"), problem: `duplicates SKU ${item.sku_id}; each SKU may appear once` });
    }
    seen.add(item.sku_id);
    const itemName = item.name.trim();
    if (itemName.length === 0 || [...itemName].length > COLUMN_CHARS.itemName)
      problems.push({ field: at("name"), problem: `must be 1 to ${COLUMN_CHARS.itemName} characters` });
    const flash = toCents(item.flash_price);
    const original = toCents(item.original_price);
    if (flash === null || flash <= 0)
      problems.push({ field: at("flash_price"), problem: "must be an amount above 0 with at most two decimal places" });
    if (original === null || original <= 0)
      problems.push({
        field: at("original_price"),
        problem: "must be an amount above 0 with at most two decimal places",
      });
    if (flash !== null && original !== null && flash > original) {
      problems.push({
        field: at("flash_price"),
        problem: `must not exceed the original price (${formatCents(flash)} > ${formatCents(original)})`,
      });
    }
    const totalStock = wholeNumber(problems, at("total_stock"), item.total_stock, 0, 1);
    const perUserLimit = wholeNumber(problems, at("per_user_limit"), item.per_user_limit, DEFAULTS.perUserLimit, 1);
    items.push({
      skuId: item.sku_id,
      name: itemName,
      flashPrice: formatCents(flash ?? 0),
      originalPrice: formatCents(original ?? 0),
      totalStock,
      perUserLimit,
    });
  });

  if (problems.length > 0 || !startTime || !endTime) return { ok: false, problems };
  return {
    ok: true,
    sale: {
      name,
      startTime,
      endTime,
      preQueueMinutes,
      preQueueMode: preQueueMode as "fifo" | "random",
      admissionRatePerSecond,
      expectedShoppers,
      ...(shards === undefined ? {} : { shards }),
      safetyBufferPercent,
      paymentDeadlineSeconds,
      items,
    },
  };
}

/** Units put on sale in Redis: the safety buffer is held back for replication loss. */
export function loadedUnits(totalStock: number, safetyBufferPercent: number): number {
  // Integer maths in hundredths of a percent so 1% of 1000 is exactly 10, not 10.000…1. The
  // buffer rounds up: any buffer above 0% holds back at least one unit (1% of 99 is 1, not 0).
  return totalStock - Math.ceil((totalStock * Math.round(safetyBufferPercent * 100)) / 10_000);
}
