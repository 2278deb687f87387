import { createMiddleware } from "hono/factory";
import { jwtVerify, SignJWT } from "jose";
import { DEFAULTS } from "../config";
import { ApiError, unauthorized } from "../errors";
import { COLUMN_CHARS } from "../orders/columns";
import { isStorableText } from "../validation";
import { bearer } from "./bearer";

/**
 * Admission tokens: what the sale's queue gives a shopper whose turn has come, and the
 * only key to the purchase route. Short-lived (60 s), bound to shopper, sale and a
 * unique id, and verified with the algorithm pinned, so a token for one sale or one
 * shopper is worth nothing anywhere else.
 */
export const ADMISSION_ISSUER = "flash-sale-queue";
export const ADMISSION_AUDIENCE = "flash-sale-purchase";

export type AdmissionClaims = {
  sub: string;
  saleId: string;
  jti: string;
  exp: number;
  /** The device the shopper entered the queue with (the page's device id, else its fingerprint): the purchase's device rule keys on it. */
  device: string | null;
  /** When the token was minted, in ms (`iat_ms`; whole seconds of `iat` from an older token): the fast-purchase signal's start. */
  issuedAtMs: number;
  /** The shopper's place in the queue (`pos`), so a reservation can tell the queue this turn is decided; null when absent. */
  position: number | null;
};

const encoder = new TextEncoder();

export async function mintAdmissionToken(
  secret: string,
  claims: { sub: string; saleId: string; jti: string; device?: string; position?: number | null },
  nowMs: number = Date.now(),
  ttlSeconds: number = DEFAULTS.admissionTokenSeconds,
): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlSeconds;
  // `iat` is whole seconds by the JWT spec; the fast-purchase signal needs milliseconds.
  const extra = {
    sale: claims.saleId,
    iat_ms: nowMs,
    ...(claims.device ? { did: claims.device } : {}),
    ...(claims.position ? { pos: claims.position } : {}),
  };
  const token = await new SignJWT(extra)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ADMISSION_ISSUER)
    .setAudience(ADMISSION_AUDIENCE)
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(encoder.encode(secret));
  return { token, expiresAt: new Date(exp * 1000) };
}

/** 401 for a token that is not a valid admission token at all; 403 for one bound to another sale. */
export async function verifyAdmissionToken(
  token: string,
  secret: string,
  saleId: string,
  nowMs?: number,
): Promise<AdmissionClaims> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(token, encoder.encode(secret), {
      algorithms: ["HS256"],
      issuer: ADMISSION_ISSUER,
      audience: ADMISSION_AUDIENCE,
      requiredClaims: ["sub", "jti", "exp", "iat"],
      clockTolerance: DEFAULTS.jwtClockToleranceSeconds,
      currentDate: nowMs === undefined ? undefined : new Date(nowMs),
    }));
  } catch {
    throw unauthorized("The admission token is missing, malformed, expired or badly signed.");
  }
  if (typeof payload.sale !== "string" || typeof payload.sub !== "string" || typeof payload.jti !== "string") {
    throw unauthorized("The admission token lacks its sale, shopper or id.");
  }
  if (payload.sale !== saleId) throw new ApiError(403, "forbidden", "This admission token belongs to another sale.");
  // Both reach the order row: a token that carries what no column can hold buys nothing.
  if (!isStorableText(payload.sub, COLUMN_CHARS.userId))
    throw unauthorized("The admission token's shopper id is unusable.");
  const device = typeof payload.did === "string" && payload.did.length > 0 ? payload.did : null;
  if (device !== null && !isStorableText(device, COLUMN_CHARS.deviceFingerprint))
    throw unauthorized("The admission token's device id is unusable.");
  const issuedAtMs =
    typeof payload.iat_ms === "number" && Number.isFinite(payload.iat_ms) ? payload.iat_ms : payload.iat! * 1000;
  const position =
    typeof payload.pos === "number" && Number.isSafeInteger(payload.pos) && payload.pos > 0 ? payload.pos : null;
  return { sub: payload.sub, saleId: payload.sale, jti: payload.jti, exp: payload.exp!, device, issuedAtMs, position };
}

/** What a route behind `admissionAuth()` may read: the verified admission. */
export type AdmissionEnv = { Bindings: Env; Variables: { admission: AdmissionClaims } };

/** Requires an admission token for the `:saleId` in the path; sets `admission`. */
export function admissionAuth() {
  return createMiddleware<AdmissionEnv>(async function admissionAuth(c, next) {
    const token = bearer(c.req.header("authorization"));
    if (!token) throw unauthorized("An admission token from the sale's queue is required.");
    c.set("admission", await verifyAdmissionToken(token, c.env.ADMISSION_JWT_SECRET, c.req.param("saleId") ?? ""));
    await next();
  });
}
