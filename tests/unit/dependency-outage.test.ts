import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isPostgresOutage } from "../../workers/clients/db";
import worker from "../../workers/index";

/** In the unit pool Redis and Postgres point at a closed port: every dependency is down. */
async function call(path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://edge${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("a dependency that is down", () => {
  it("gives the admin's sale list 503 with Retry-After, not 500", async () => {
    const res = await call("/api/v1/admin/sales", { headers: { authorization: "Bearer dev-admin-token" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(await res.json()).toMatchObject({ error: "dependency_unavailable" });
  });

  it("answers an overloaded or reset queue object with 503, not 500", async () => {
    const { errorResponse } = await import("../../workers/errors");
    const { Hono } = await import("hono");
    const app = new Hono().get("/", () => {
      throw Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), { overloaded: true });
    });
    app.onError(errorResponse);
    const res = await app.request("/");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
  });

  it("tells a connection failure from a wrong query", () => {
    expect(
      isPostgresOutage(
        Object.assign(new Error("Failed query: select 1"), { cause: new Error("Connection terminated unexpectedly") }),
      ),
    ).toBe(true);
    expect(isPostgresOutage(Object.assign(new Error("boom"), { code: "08006" }))).toBe(true);
    expect(isPostgresOutage(Object.assign(new Error('relation "nope" does not exist'), { code: "42P01" }))).toBe(false);
  });
});
