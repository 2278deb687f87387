import { createMiddleware } from "hono/factory";
import { jwtVerify } from "jose";
import { DEFAULTS } from "../config";
import type { AppEnv } from "../env";
import { unauthorized } from "../errors";
import { COLUMN_CHARS } from "../orders/columns";
import { isStorableText } from "../validation";
import { bearer } from "./admin";

export type ShopperClaims = { sub: string; acctCreated: number };

const encoder = new TextEncoder();

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

declare module "hono" {
  interface ContextVariableMap {
    shopper: ShopperClaims;
  }
}

/** Requires a shopper session; sets `shopperId` and `shopper`. */
export function shopperAuth() {
  return createMiddleware<AppEnv>(async function shopperAuth(c, next) {
    const token = bearer(c.req.header("authorization"));
    if (!token) throw unauthorized();
    const claims = await verifyShopperToken(token, c.env.SHOPPER_JWT_SECRET);
    c.set("shopperId", claims.sub);
    c.set("shopper", claims);
    await next();
  });
}
