/**
 * Queue tokens: `<object>.<uuid>.<mac>`. The object part says which object holds the place
 * (`c` the coordinator or single object, `s<i>` shard i); the MAC is HMAC-SHA256 over the
 * sale id and the rest, keyed from the environment, so the edge refuses a forged or
 * altered token (or one for another sale) with 404 before any object wakes. Nothing
 * else is learnt from a token: the place itself lives only in its object.
 *
 * The key is derived from ADMISSION_JWT_SECRET with its own label, so queue tokens and
 * admission tokens can never stand in for each other and no second secret must be set.
 */
import { timingSafeEqual } from "hono/utils/buffer";
import { base64url } from "../hash";
import { tokenPrefix } from "./shards";

const encoder = new TextEncoder();
const LABEL = "flash-sale queue token v1";
/** 16 bytes of MAC, base64url: forging one is a 2^-128 guess per request. */
const MAC_BYTES = 16;

export const QUEUE_TOKEN =
  /^(c|s[0-9a-z]{1,2})\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{22}$/;

const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(async (root) => {
        const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(LABEL));
        return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      });
    keys.set(secret, key);
  }
  return key;
}

async function mac(secret: string, saleId: string, body: string): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await keyFor(secret), encoder.encode(`${saleId}/${body}`));
  return base64url(new Uint8Array(sig, 0, MAC_BYTES));
}

export async function mintQueueToken(secret: string, saleId: string, shard: number | null): Promise<string> {
  const body = `${tokenPrefix(shard)}.${crypto.randomUUID()}`;
  return `${body}.${await mac(secret, saleId, body)}`;
}

/** True only for a well-formed token this deployment minted for this sale. */
export async function verifyQueueToken(secret: string, saleId: string, token: string): Promise<boolean> {
  if (!QUEUE_TOKEN.test(token)) return false;
  const cut = token.lastIndexOf(".");
  const expected = await mac(secret, saleId, token.slice(0, cut));
  // Constant-time compare (hono's, as the admin token uses): the MAC is the only secret part of a token.
  return timingSafeEqual(token.slice(cut + 1), expected);
}
