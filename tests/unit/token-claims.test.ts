import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { mintAdmissionToken, verifyAdmissionToken } from "../../workers/auth/admission";
import worker from "../../workers/index";

/**
 * Tokens signed with the RIGHT key but wrong in one claim or the algorithm: what an
 * attacker who learned nothing forges, and what a lax verifier lets through. Each is
 * refused with 401 before the route asks Redis anything; the well-formed control token
 * gets past the check (and finds Redis down in the unit pool: 503), which proves the 401s
 * come from the claim and not from something else.
 */
const SALE = "0b0e6f1c-4f6b-4c47-9a53-6f1f2b8e2c11";
const RESERVATION = `${SALE}.AAAAAAAAAAAAAAAAAAAAAA`;

async function call(path: string, token: string, body?: unknown) {
  const ctx = createExecutionContext();
  const init: RequestInit = { headers: { authorization: `Bearer ${token}`, "idempotency-key": crypto.randomUUID() } };
  if (body !== undefined) {
    init.method = "POST";
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await worker.fetch(
    new Request(`http://edge${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as { error: string } };
}

const now = () => Math.floor(Date.now() / 1000);
const key = (secret: string) => new TextEncoder().encode(secret);

type Shape = {
  alg?: "HS256" | "HS384" | "HS512";
  claims?: JWTPayload;
  drop?: Array<"iss" | "aud" | "exp" | "iat" | "sub" | "jti">;
};

/** An admission token as the queue mints it, with one thing changed. */
async function admission(shape: Shape = {}): Promise<string> {
  const base: JWTPayload = {
    sale: SALE,
    iss: "flash-sale-queue",
    aud: "flash-sale-purchase",
    sub: "shopper-1",
    jti: crypto.randomUUID(),
    iat: now(),
    exp: now() + 60,
    ...shape.claims,
  };
  for (const claim of shape.drop ?? []) delete base[claim];
  return new SignJWT(base)
    .setProtectedHeader({ alg: shape.alg ?? "HS256", typ: "JWT" })
    .sign(key(env.ADMISSION_JWT_SECRET));
}

/** A shop session JWT, with one thing changed. */
async function session(shape: Shape & { acct?: boolean } = {}): Promise<string> {
  const base: JWTPayload = {
    sub: "shopper-1",
    iat: now(),
    exp: now() + 3_600,
    ...(shape.acct === false ? {} : { acct_created: now() - 30 * 86_400 }),
    ...shape.claims,
  };
  for (const claim of shape.drop ?? []) delete base[claim];
  return new SignJWT(base)
    .setProtectedHeader({ alg: shape.alg ?? "HS256", typ: "JWT" })
    .sign(key(env.SHOPPER_JWT_SECRET));
}

const unsigned = (payload: JWTPayload) =>
  `${btoa(JSON.stringify({ alg: "none", typ: "JWT" }))}.${btoa(JSON.stringify(payload))}.`.replace(/=/g, "");

const buy = (token: string) => call(`/api/v1/flash-sale/${SALE}/purchase`, token, { sku_id: "PHONE", quantity: 1 });
const readReservation = (token: string) => call(`/api/v1/reservations/${RESERVATION}`, token);

describe("the purchase route takes only a well-formed admission token", () => {
  it("lets the queue's own token past the check (control)", async () => {
    expect((await buy(await admission())).status).toBe(503);
  });

  it.each<[string, Shape]>([
    ["another audience", { claims: { aud: "flash-sale-admin" } }],
    ["no audience", { drop: ["aud"] }],
    ["another issuer", { claims: { iss: "someone-else" } }],
    ["no issuer", { drop: ["iss"] }],
    ["HS384 with the same secret", { alg: "HS384" }],
    ["HS512 with the same secret", { alg: "HS512" }],
    ["no exp", { drop: ["exp"] }],
    ["an exp in the past (beyond the 5 s tolerance)", { claims: { exp: now() - 30 } }],
    ["no jti", { drop: ["jti"] }],
    ["no subject", { drop: ["sub"] }],
  ])("refuses a token with %s, signed with the right key: 401", async (_, shape) => {
    const res = await buy(await admission(shape));
    expect(res).toEqual({ status: 401, body: expect.objectContaining({ error: "unauthorized" }) });
  });

  it("refuses the queue's token for another sale: 403", async () => {
    const res = await buy(await admission({ claims: { sale: crypto.randomUUID() } }));
    expect(res).toEqual({ status: 403, body: expect.objectContaining({ error: "forbidden" }) });
  });

  it("refuses an unsigned (alg: none) token: 401", async () => {
    const res = await buy(
      unsigned({
        sale: SALE,
        iss: "flash-sale-queue",
        aud: "flash-sale-purchase",
        sub: "x",
        jti: "j",
        iat: now(),
        exp: now() + 60,
      }),
    );
    expect(res.status).toBe(401);
  });

  it("refuses a shop session token in place of an admission token: 401", async () => {
    expect((await buy(await session())).status).toBe(401);
  });
});

describe("shopper routes take only a well-formed shop session", () => {
  it("lets the shop's own session past the check (control)", async () => {
    expect((await readReservation(await session())).status).toBe(503);
  });

  it.each<[string, Shape & { acct?: boolean }]>([
    ["no acct_created", { acct: false }],
    ["a text acct_created", { claims: { acct_created: "yesterday" } }],
    ["HS384 with the same secret", { alg: "HS384" }],
    ["HS512 with the same secret", { alg: "HS512" }],
    ["no exp", { drop: ["exp"] }],
    ["no subject", { drop: ["sub"] }],
  ])("refuses a session with %s, signed with the right key: 401", async (_, shape) => {
    const res = await readReservation(await session(shape));
    expect(res).toEqual({ status: 401, body: expect.objectContaining({ error: "unauthorized" }) });
  });

  it("refuses an unsigned (alg: none) session: 401", async () => {
    const res = await readReservation(unsigned({ sub: "x", iat: now(), exp: now() + 60, acct_created: 1 }));
    expect(res.status).toBe(401);
  });
});

describe("an admission token says when the turn came, to the millisecond", () => {
  it("carries its mint time in ms (iat_ms), and a token without it is read by its whole-second iat", async () => {
    const sale = "00000000-0000-4000-8000-000000000001";
    const mintedAt = 1_763_800_000_123;
    const { token } = await mintAdmissionToken(
      env.ADMISSION_JWT_SECRET,
      { sub: "s", saleId: sale, jti: "j" },
      mintedAt,
    );
    expect((await verifyAdmissionToken(token, env.ADMISSION_JWT_SECRET, sale, mintedAt + 10)).issuedAtMs).toBe(
      mintedAt,
    );

    const older = await new SignJWT({ sale })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("flash-sale-queue")
      .setAudience("flash-sale-purchase")
      .setSubject("s")
      .setJti("j")
      .setIssuedAt(Math.floor(mintedAt / 1000))
      .setExpirationTime(Math.floor(mintedAt / 1000) + 60)
      .sign(new TextEncoder().encode(env.ADMISSION_JWT_SECRET));
    expect((await verifyAdmissionToken(older, env.ADMISSION_JWT_SECRET, sale, mintedAt + 10)).issuedAtMs).toBe(
      1_763_800_000_000,
    );
  });
});
