import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { verifyAdmissionToken } from "../../workers/auth/admission";
import worker from "../../workers/index";
import { queueStats } from "../../workers/queue/client";
import { SITEVERIFY_URL } from "../../workers/queue/turnstile";
import { countingQueues, freshQueue, START, setClock, shopperToken } from "./queue-helpers";

/**
 * What Turnstile's siteverify was asked, and how it answers: `pass` tokens are genuine
 * unless the service is having a bad day (down, failing with a JSON error body, answering
 * without a verdict, or never answering at all).
 */
let siteverifyCalls: FormData[] = [];
let siteverify: "up" | "down" | "error-json" | "no-verdict" | "silent" = "up";
const realFetch = globalThis.fetch;

beforeEach(() => {
  siteverifyCalls = [];
  siteverify = "up";
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url !== SITEVERIFY_URL) return realFetch(input, init);
    const form = init?.body as FormData;
    siteverifyCalls.push(form);
    if (siteverify === "down") return new Response("unavailable", { status: 502 });
    if (siteverify === "error-json")
      return Response.json({ success: false, "error-codes": ["internal-error"] }, { status: 500 });
    if (siteverify === "no-verdict") return Response.json({ success: "true", "error-codes": [] });
    if (siteverify === "silent")
      return new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason ?? new Error("aborted"))),
      );
    const success = form.get("response") === "pass" && form.get("secret") === env.TURNSTILE_SECRET_KEY;
    return Response.json({ success, "error-codes": success ? [] : ["invalid-input-response"] });
  });
});
afterEach(() => vi.restoreAllMocks());

let ipCounter = 0;
const freshIp = () => `203.0.113.${++ipCounter}`;

async function enter(
  saleId: string,
  options: { sub?: string; token?: string | null; body?: unknown; ip?: string; accountAgeSeconds?: number } = {},
) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cf-connecting-ip": options.ip ?? freshIp(),
  };
  const token =
    options.token === undefined
      ? await shopperToken(options.sub ?? "door-shopper", options.accountAgeSeconds)
      : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const body = options.body ?? { captcha_token: "pass", device_fingerprint: `fp-${options.sub ?? "door-shopper"}` };
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://edge/api/v1/flash-sale/${saleId}/enter-queue`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe("the queue's door", () => {
  it("lets a verified shopper in and the poll finds their place", async () => {
    const { saleId } = await freshQueue();
    const res = await enter(saleId, { sub: "alice", ip: "198.51.100.23" });
    expect(res.status).toBe(200);
    // The solve is checked against the address it is used from, as Turnstile advises.
    expect(siteverifyCalls[0]?.get("remoteip")).toBe("198.51.100.23");
    expect(res.body).toMatchObject({
      queue_position: 1,
      estimated_wait_seconds: expect.any(Number),
      queue_token: expect.any(String),
    });
    expect(siteverifyCalls).toHaveLength(1);
    const poll = await worker.fetch(
      new Request(`http://edge/api/v1/flash-sale/${saleId}/queue/${res.body.queue_token}`),
      env,
      createExecutionContext(),
    );
    expect(poll.status).toBe(200);
    expect(await poll.json()).toMatchObject({ state: "waiting", queue_position: 1, admitted_through: 0 });
  });

  it("refuses a missing captcha_token with 400 and queues nobody", async () => {
    const { saleId } = await freshQueue();
    const res = await enter(saleId, { body: { device_fingerprint: "fp-1" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("bad_request");
    expect((await queueStats(env, saleId)).length).toBe(0);
  });

  it("refuses an invalid captcha with 403 and queues nobody", async () => {
    const { saleId } = await freshQueue();
    const res = await enter(saleId, { body: { captcha_token: "forged", device_fingerprint: "fp-1" } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("captcha_failed");
    expect(siteverifyCalls[0]?.get("response")).toBe("forged");
    expect((await queueStats(env, saleId)).length).toBe(0);
  });

  // Turnstile's own trouble is never the shopper's fault: a 503 to retry, never "captcha failed", never a hang.
  it.each([
    ["cannot be asked", "down"],
    ["fails with an error body", "error-json"],
    ["never answers", "silent"],
  ] as const)(
    "answers 503 with Retry-After when Turnstile %s, and queues nobody",
    async (_, trouble) => {
      const { saleId } = await freshQueue();
      siteverify = trouble;
      const res = await enter(saleId);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe("dependency_unavailable");
      expect(res.headers.get("retry-after")).toBe("2");
      expect((await queueStats(env, saleId)).length).toBe(0);
    },
    15_000,
  );

  it("lets nobody in on an answer that is not a clear yes", async () => {
    const { saleId } = await freshQueue();
    siteverify = "no-verdict";
    const res = await enter(saleId);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("captcha_failed");
    expect((await queueStats(env, saleId)).length).toBe(0);
  });

  it("lets three shoppers on identical phones in, each with a place, and gives each admission its own device id", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 100 });
    const phone = "fp-same-model-same-os-same-language";
    const entries = [];
    for (const sub of ["twin-1", "twin-2", "twin-3"])
      entries.push(
        await enter(saleId, {
          sub,
          body: { captcha_token: "pass", device_fingerprint: phone, device_id: `id-${sub}` },
        }),
      );
    expect(entries.map((e) => e.status)).toEqual([200, 200, 200]);
    expect(entries.map((e) => e.body.queue_position)).toEqual([1, 2, 3]);
    // A client without a device id still gets in on the same fingerprint.
    const legacy = await enter(saleId, { sub: "twin-4", body: { captcha_token: "pass", device_fingerprint: phone } });
    expect(legacy.status).toBe(200);
    await setClock(stub, START);
    await stub.tick();
    await setClock(stub, START + 1_000);
    await stub.tick();
    const devices = [];
    for (const e of [...entries, legacy]) {
      const view = await stub.poll(e.body.queue_token);
      if (!view.ok || !view.value.admission_token) throw new Error(`not admitted: ${JSON.stringify(view)}`);
      devices.push(
        (await verifyAdmissionToken(view.value.admission_token, env.ADMISSION_JWT_SECRET, saleId, START + 1_000))
          .device,
      );
    }
    // The purchase's one-per-device rule keys on the page's id; without one, on the fingerprint.
    expect(devices).toEqual(["id-twin-1", "id-twin-2", "id-twin-3", phone]);
  });

  it("refuses an account younger than 24 h with 403 account_too_new, before asking Turnstile", async () => {
    const { saleId } = await freshQueue();
    const res = await enter(saleId, { accountAgeSeconds: 23 * 3600 });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("account_too_new");
    expect(siteverifyCalls).toHaveLength(0);
    expect((await queueStats(env, saleId)).length).toBe(0);
  });

  it("lets a crowd of 150 in from 150 addresses, and 100 shoppers sharing one carrier-NAT address", async () => {
    const { saleId } = await freshQueue();
    const crowd = [];
    for (let i = 0; i < 150; i++) crowd.push((await enter(saleId, { sub: `crowd-${i}`, ip: freshIp() })).status);
    expect(crowd.filter((s) => s !== 200)).toEqual([]);
    // The seed's 10 requests/s per address, as 100 per 10 s: one NAT's worth of shoppers within a second.
    const nat = freshIp();
    const behindNat = [];
    for (let i = 0; i < 100; i++) behindNat.push((await enter(saleId, { sub: `nat-${i}`, ip: nat })).status);
    expect(behindNat.filter((s) => s !== 200)).toEqual([]);
    expect((await queueStats(env, saleId)).length).toBe(250);
  }, 60_000);

  it("limits one address's flood: past 100 in a window it answers 429 with Retry-After, before any token is read", async () => {
    const { saleId } = await freshQueue();
    const ip = freshIp();
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof enter>> | undefined;
    // Sessionless, so each request that passes the limiter stops at 401 at once and the flood
    // fits in one window. The limiter counts in fixed windows: within two it must refuse.
    for (let i = 0; i < 201 && !refused; i++) {
      const res = await enter(saleId, { token: null, ip });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
    expect(refused?.headers.get("retry-after")).toBe("10");
    expect(refused?.body.error).toBe("rate_limited");
    // Another address is not affected.
    expect((await enter(saleId, { sub: "elsewhere" })).status).toBe(200);
  });

  it("limits one shopper's flood from many addresses: 429 with Retry-After, other shoppers unaffected", async () => {
    const { saleId } = await freshQueue();
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof enter>> | undefined;
    for (let i = 0; i < 21 && !refused; i++) {
      const res = await enter(saleId, { sub: "flooder", ip: freshIp() });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(refused?.headers.get("retry-after")).toBe("10");
    expect(refused?.body.error).toBe("rate_limited");
    expect((await queueStats(env, saleId)).length).toBe(1);
    expect((await enter(saleId, { sub: "patient-shopper" })).status).toBe(200);
  });

  it("limits one device id entering for a crowd of accounts: 429 with Retry-After, other devices unaffected", async () => {
    const { saleId } = await freshQueue();
    const device = { captcha_token: "pass", device_fingerprint: "fp-tablet", device_id: "one-tablet" };
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof enter>> | undefined;
    for (let i = 0; i < 21 && !refused; i++) {
      const res = await enter(saleId, { sub: `account-${i}`, body: device });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(refused?.headers.get("retry-after")).toBe("10");
    expect(refused?.body.error).toBe("rate_limited");
    const other = { ...device, device_id: "another-phone" };
    expect((await enter(saleId, { sub: "next-account", body: other })).status).toBe(200);
  });

  it("answers a forged, altered or other sale's queue token with 404 at the edge, waking no object", async () => {
    const { saleId } = await freshQueue();
    const other = await freshQueue();
    const real = (await enter(saleId, { sub: "token-owner" })).body.queue_token as string;
    const elsewhere = (await enter(other.saleId, { sub: "token-owner" })).body.queue_token as string;
    // Every way to reach an object goes through the namespace: count them.
    const { env: counting, counted } = countingQueues();
    const look = async (sale: string, token: string) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`http://edge/api/v1/flash-sale/${sale}/queue/${token}`),
        counting,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res.status;
    };
    const [body, macPart] = [real.slice(0, real.lastIndexOf(".")), real.slice(real.lastIndexOf(".") + 1)];
    const forged = `c.${crypto.randomUUID()}.${macPart}`;
    const altered = `${body.slice(0, -1)}${body.endsWith("0") ? "1" : "0"}.${macPart}`;
    const madeUpMac = `${body}.${"A".repeat(22)}`;
    for (const token of [forged, altered, madeUpMac, elsewhere, `c.${crypto.randomUUID()}`])
      expect(await look(saleId, token)).toBe(404);
    expect(counted.gets).toBe(0);
    expect(await look(saleId, real)).toBe(200);
    expect(counted.gets).toBeGreaterThan(0);
  });

  it("refuses a missing session with 401, and a sale id that is not a UUID with 404", async () => {
    const { saleId } = await freshQueue();
    expect((await enter(saleId, { token: null })).status).toBe(401);
    expect((await enter("not-a-sale")).status).toBe(404);
    const poll = await worker.fetch(
      new Request(`http://edge/api/v1/flash-sale/${saleId}/queue/guess`),
      env,
      createExecutionContext(),
    );
    expect(poll.status).toBe(404);
    expect((await queueStats(env, saleId)).length).toBe(0);
  });
});
