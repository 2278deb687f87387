import { describe, expect, it } from "vitest";
import { api } from "./fixtures";

describe("health", () => {
  it("is 200 when Redis and Postgres answer through the bridges", async () => {
    const res = await api("/api/v1/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", checks: { redis: "ok", postgres: "ok" } });
  });

  it("tells the time in ISO-8601 and milliseconds, uncached", async () => {
    const before = Date.now();
    const res = await api("/api/v1/time");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(Math.abs(res.body.now_ms - before)).toBeLessThan(5_000);
    expect(new Date(res.body.now).getTime()).toBe(res.body.now_ms);
  });
});
