import { bearerAuth } from "hono/bearer-auth";
import type { MiddlewareHandler } from "hono/types";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "../env";
import { errorBody } from "../errors";

/** Every way the admin check fails is the contract's 401 `unauthorized`, in its JSON shape. */
const refused = () =>
  new Response(JSON.stringify(errorBody("unauthorized", "An admin token is required.")), {
    status: 401,
    headers: { "content-type": "application/json; charset=UTF-8" },
  });

/** The admin / shop back-end token (docs/api.md "Identities and tokens"), compared in constant time. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return bearerAuth<AppEnv>({
    verifyToken: (token, c) => timingSafeEqual(token, c.env.ADMIN_TOKEN),
    noAuthenticationHeader: { message: refused },
    invalidAuthenticationHeader: { message: refused },
    invalidToken: { message: refused },
  });
}
