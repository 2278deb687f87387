import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { unauthorized } from "../errors";

/** Compares in time that does not depend on where the strings first differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/** The admin / shop back-end token (API.md "Identities and tokens"). */
export function adminAuth() {
  return createMiddleware<AppEnv>(async function adminAuth(c, next) {
    const token = bearer(c.req.header("authorization"));
    if (!token || !timingSafeEqual(token, c.env.ADMIN_TOKEN)) throw unauthorized("An admin token is required.");
    await next();
  });
}
