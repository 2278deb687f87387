import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";

describe("health without its dependencies", () => {
  it("answers 503 with Retry-After and names both missing dependencies", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://edge/api/v1/health"), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    const body = (await res.json()) as { error: string; checks: Record<string, string> };
    expect(body.error).toBe("dependency_unavailable");
    expect(body.checks).toEqual({ redis: "down", postgres: "down" });
  });

  it("answers unknown routes with the contract's 404 shape", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://edge/api/v1/nope"), env, ctx);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });
});
