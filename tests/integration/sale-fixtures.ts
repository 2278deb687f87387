/**
 * Sales for purchase tests: created and pre-warmed through the admin API, as an admin
 * would, and admission tokens minted as the sale's queue mints them, so purchase tests
 * exercise the purchase path on its own.
 */
import { inject } from "vitest";
import { mintAdmissionToken } from "../../workers/auth/admission";
import { admin } from "./helpers";

export type FixtureItem = {
  sku_id: string;
  total_stock: number;
  per_user_limit?: number;
  flash_price?: string;
  original_price?: string;
};

const admissionSecret = process.env.ADMISSION_JWT_SECRET ?? "dev-admission-secret";

export async function createSale(options: {
  items: FixtureItem[];
  startInMs?: number;
  durationMs?: number;
  name?: string;
  paymentDeadlineSeconds?: number;
  admissionRatePerSecond?: number;
}) {
  const start = Date.now() + (options.startInMs ?? 1_500);
  const res = await admin("/sales", {
    body: {
      name: options.name ?? "Purchase test sale",
      start_time: new Date(start).toISOString(),
      end_time: new Date(start + (options.durationMs ?? 3_600_000)).toISOString(),
      safety_buffer_percent: 0,
      ...(options.paymentDeadlineSeconds === undefined
        ? {}
        : { payment_deadline_seconds: options.paymentDeadlineSeconds }),
      ...(options.admissionRatePerSecond === undefined
        ? {}
        : { admission_rate_per_second: options.admissionRatePerSecond }),
      items: options.items.map((i) => ({
        sku_id: i.sku_id,
        name: `Item ${i.sku_id}`,
        flash_price: i.flash_price ?? "499.00",
        original_price: i.original_price ?? "999.00",
        total_stock: i.total_stock,
        per_user_limit: i.per_user_limit ?? 2,
      })),
    },
  });
  if (res.status !== 201) throw new Error(`create sale: ${res.status} ${JSON.stringify(res.body)}`);
  const saleId: string = res.body.sale_id;
  const warm = await admin(`/sales/${saleId}/prewarm`, { method: "POST" });
  if (warm.status !== 200) throw new Error(`prewarm: ${warm.status} ${JSON.stringify(warm.body)}`);
  return { saleId, startMs: start };
}

/** A sale already open for purchases. */
export async function createActiveSale(options: Omit<Parameters<typeof createSale>[0], "startInMs">) {
  const sale = await createSale({ ...options, startInMs: 1_200 });
  const wait = sale.startMs - Date.now() + 50;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return sale;
}

export async function admissionToken(saleId: string, shopper: string, device?: string, nowMs?: number) {
  const { token } = await mintAdmissionToken(
    admissionSecret,
    { sub: shopper, saleId, jti: crypto.randomUUID(), device },
    nowMs,
  );
  return token;
}

/** How many purchase calls were retried after a lost connection (reported by load tests). */
export let networkRetries = 0;

export async function buy(
  saleId: string,
  token: string,
  body: unknown,
  idempotencyKey: string | null = crypto.randomUUID(),
) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  if (idempotencyKey !== null) headers["idempotency-key"] = idempotencyKey;
  // A connection lost before the answer is retried with the same Idempotency-Key, as a
  // real client does: the key makes the retry return the first answer, never a second
  // order. (Under load the local dev server now and then drops a keep-alive socket.)
  let res: Response | undefined;
  let text = "";
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(`${inject("workerUrl")}/api/v1/flash-sale/${saleId}/purchase`, {
        method: "POST",
        headers,
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      text = await res.text();
      break;
    } catch (err) {
      if (attempt >= 3 || idempotencyKey === null) throw err;
      networkRetries++;
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
    }
  }
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res!.status, body: parsed, headers: res!.headers };
}

/** Runs tasks with at most `limit` in flight: thousands of buyers without thousands of sockets at once. */
export async function inParallel<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  });
  await Promise.all(lanes);
  return results;
}

export async function cutOff(dependency: "redis" | "postgres", down: boolean) {
  const res = await fetch(`${inject("controlUrl")}/${dependency}/${down ? "down" : "up"}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`fault injection failed: ${res.status}`);
}
