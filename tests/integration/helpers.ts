/**
 * What integration tests share: the running stack's addresses, production clients
 * pointed at the local bridges, and tokens minted the way the shop and admins would.
 */
import { Redis } from "@upstash/redis";
import { SignJWT } from "jose";
import { inject } from "vitest";
import { createNodePool, useLocalNeonProxy } from "../../scripts/db/neon-node";

export const workerUrl = () => inject("workerUrl");
export const adminToken = () => inject("adminToken");

export function upstash(options: { automaticDeserialization?: boolean } = {}): Redis {
  return new Redis({
    url: inject("upstashUrl"),
    token: inject("upstashToken"),
    automaticDeserialization: options.automaticDeserialization ?? false,
    enableTelemetry: false,
  });
}

export function neonPool(max = 4) {
  useLocalNeonProxy(inject("neonProxyPort"));
  return createNodePool(inject("databaseUrl"), max);
}

const shopperSecret = new TextEncoder().encode(process.env.SHOPPER_JWT_SECRET ?? "dev-shopper-secret");

/** A session JWT as the shop's login would issue it (API.md "Identities and tokens"). */
export async function shopperToken(
  sub: string,
  options: { accountAgeSeconds?: number; expiresInSeconds?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ acct_created: now - (options.accountAgeSeconds ?? 30 * 86_400) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3_600))
    .sign(shopperSecret);
}

export async function api(
  path: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${workerUrl()}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body, headers: res.headers };
}

export const admin = (path: string, init: Parameters<typeof api>[1] = {}) =>
  api(`/api/v1/admin${path}`, { ...init, token: init.token ?? adminToken() });

export const uniq = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
