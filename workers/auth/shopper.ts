import { createMiddleware } from "hono/factory";
import { jwtVerify } from "jose";
import { DEFAULTS } from "../config";
import { unauthorized } from "../errors";
import { COLUMN_CHARS } from "../orders/columns";
import { isStorableText } from "../validation";
import { bearer } from "./bearer";

export type ShopperClaims = { sub: string; acctCreated: number };

const encoder = new TextEncoder();

/** The door's account-age rule: an account younger than the minimum cannot join a queue (docs/api.md "Purchase rules"). */
export function accountTooNew(shopper: ShopperClaims, nowMs: number): boolean {
  return nowMs / 1000 - shopper.acctCreated < DEFAULTS.minAccountAgeSeconds;
}

/**
 * Verifies the shop's session JWT: HS256 only (so `alg: none` and algorithm swaps are
 * refused), a subject, an expiry, and the account's creation time for the age rule.
 */
export async function verifyShopperToken(token: string, secret: string, nowSeconds?: number): Promise<ShopperClaims> {
  try {
    const { payload } = await jwtVerify(token, encoder.encode(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["sub", "exp", "iat"],
      clockTolerance: DEFAULTS.jwtClockToleranceSeconds,
      currentDate: nowSeconds === undefined ? undefined : new Date(nowSeconds * 1000),
    });
    const acct = payload.acct_created;
    // The subject becomes every order's user_id: it must fit that column as it is.
    if (!isStorableText(payload.sub, COLUMN_CHARS.userId)) throw new Error("bad sub");
    if (typeof acct !== "number" || !Number.isFinite(acct)) throw new Error("bad acct_created");
    return { sub: payload.sub, acctCreated: acct };
  } catch {
    throw unauthorized("The session token is missing, malformed, expired or badly signed.");
  }
}

/** What a route behind `shopperAuth()` may read: the verified session. */
export type ShopperEnv = { Bindings: Env; Variables: { shopper: ShopperClaims } };

/** Requires a shopper session; sets `shopper`. */
export function shopperAuth() {
  return createMiddleware<ShopperEnv>(async function shopperAuth(c, next) {
    const token = bearer(c.req.header("authorization"));
    if (!token) throw unauthorized();
    c.set("shopper", await verifyShopperToken(token, c.env.SHOPPER_JWT_SECRET));
    await next();
  });
}
