import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";

async function get(path: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge${path}`, { headers }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("sales routes without their dependencies", () => {
  it("answers a status for a sale id that is not a UUID with 404, reading nothing", async () => {
    const res = await get("/api/v1/flash-sale/not-a-sale/status");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });

  it("answers a status with 503 and Retry-After when Redis does not answer", async () => {
    const res = await get("/api/v1/flash-sale/00000000-0000-4000-8000-000000000000/status");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ error: "dependency_unavailable" });
  });

  it("refuses every admin sales call without the admin token before touching anything", async () => {
    for (const path of ["/api/v1/admin/sales", "/api/v1/admin/sales/00000000-0000-4000-8000-000000000000"]) {
      expect((await get(path)).status).toBe(401);
      expect((await get(path, { authorization: "Bearer wrong" })).status).toBe(401);
    }
  });
});
