import { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import { assertSafeConfig } from "./config";
import type { AppEnv } from "./env";
import { ApiError, errorBody, errorResponse } from "./errors";
import { apiHeaders } from "./middleware/api-headers";
import { BODY_LIMITS, limitBody } from "./middleware/body-limit";
import { clients } from "./middleware/clients";
import { observe } from "./middleware/observe";
import { adminFraud } from "./routes/admin-fraud";
import { adminSales } from "./routes/admin-sales";
import { health } from "./routes/health";
import { purchase } from "./routes/purchase";
import { queue } from "./routes/queue";
import { reservations } from "./routes/reservations";
import { status } from "./routes/status";
import { time } from "./routes/time";

/** The API. `extraRoutes` lets the local stack add tools' routes that production never has. */
export function createApp(extraRoutes?: (app: Hono<AppEnv>) => void) {
  const app = new Hono<AppEnv>();

  app.use("/api/*", apiHeaders());
  // Outside everything else, so it sees every answer: refusals by the middleware below included.
  app.use("/api/*", observe());
  // A known path asked with the wrong method is 405 with `Allow`, not 404.
  app.use(
    "/api/*",
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json(
          errorBody("method_not_allowed", `${c.req.method} is not allowed here; use ${methods.join(" or ")}.`),
          405,
          {
            Allow: methods.join(", "),
          },
        ),
    }),
  );
  app.use("/api/*", async function safeConfig(c, next) {
    assertSafeConfig(c.env);
    await next();
  });
  // The API's ceiling; each route that reads a body sets its own, smaller, limit.
  app.use("/api/*", limitBody(BODY_LIMITS.any));
  app.use("/api/*", clients());

  app.route("/api/v1/health", health);
  app.route("/api/v1/time", time);
  app.route("/api/v1/flash-sale", status);
  app.route("/api/v1/admin/sales", adminSales);
  app.route("/api/v1/admin/sales", adminFraud);
  app.route("/api/v1/flash-sale", queue);
  app.route("/api/v1/flash-sale", purchase);
  app.route("/api/v1/reservations", reservations);
  extraRoutes?.(app);

  app.notFound((c) => errorResponse(new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`), c));
  app.onError(errorResponse);
  return app;
}
