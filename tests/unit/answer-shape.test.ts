import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";

async function call(path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("every API answer has one shape", () => {
  it("answers a known path asked with the wrong method with 405 and the methods it serves", async () => {
    const res = await call("/api/v1/time", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await res.json()).toMatchObject({ error: "method_not_allowed" });
    const purchase = await call(`/api/v1/flash-sale/${crypto.randomUUID()}/purchase`, { method: "GET" });
    expect(purchase.status).toBe(405);
    expect(purchase.headers.get("allow")).toBe("POST");
  });

  it("still answers an unknown path with 404, not 405", async () => {
    expect((await call("/api/v1/nowhere", { method: "DELETE" })).status).toBe(404);
  });

  it("says nosniff and a deliberate Cache-Control on answers and on errors alike", async () => {
    for (const res of [
      await call("/api/v1/time"),
      await call("/api/v1/nowhere"),
      await call("/api/v1/health"),
      await call("/api/v1/admin/sales"),
      await call("/api/v1/time", { method: "POST" }),
    ]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("refuses a missing, malformed or wrong admin token with the contract's 401 body", async () => {
    for (const authorization of [undefined, "Bearer", "Bearer a b", "Basic abc", "Bearer wrong-token", "Bearer ∑"]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const res = await call("/api/v1/admin/sales", { headers });
      expect(res.status, String(authorization)).toBe(401);
      expect(await res.json()).toMatchObject({ error: "unauthorized", message: expect.any(String) });
    }
  });
});
