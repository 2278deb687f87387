/**
 * What an answer from the API means to the shopper. Every outcome says what happened
 * and what to do next, in words, never a status code; `final` tells the purchase intent
 * whether its Idempotency-Key is spent, and `retryAfterSeconds` when trying again helps.
 */
export type Outcome =
  | {
      kind: "reserved";
      reservationToken: string;
      orderId: string | null;
      paymentDeadlineMs: number;
      remaining: number | null;
    }
  | { kind: "sold_out" | "limit" | "not_started" | "ended"; final: true; title: string; message: string }
  | { kind: "retry"; final: false; title: string; message: string; retryAfterSeconds: number }
  | { kind: "rejoin" | "sign_in" | "error"; final: true; title: string; message: string };

export type Context = {
  /** Server time when the answer arrived. */
  serverNowMs: number;
  startMs: number;
  endMs: number;
  /** The SKU's per-shopper limit, for the limit message. */
  limit?: number;
};

type ErrorBody = { error?: unknown; message?: unknown };

const DEFAULT_RETRY_SECONDS = 2;

export function retryAfterSeconds(header: string | null | undefined): number {
  if (!header) return DEFAULT_RETRY_SECONDS;
  const n = Number(header);
  if (Number.isFinite(n) && n >= 0) return Math.min(60, Math.max(1, Math.ceil(n)));
  const at = Date.parse(header);
  // An HTTP date: we cannot trust the device clock against it, so only use it if sensible.
  if (Number.isFinite(at)) return Math.min(60, Math.max(1, Math.ceil((at - Date.now()) / 1000)));
  return DEFAULT_RETRY_SECONDS;
}

function soldOut(): Outcome {
  return {
    kind: "sold_out",
    final: true,
    title: "Sold out",
    message:
      "Every unit has been reserved. Units come back if a reservation isn't paid in time, so keep this page open: we'll tell you here.",
  };
}

function limit(ctx: Context, reason: unknown): Outcome {
  if (reason === "device")
    return {
      kind: "limit",
      final: true,
      title: "Already bought on this device",
      message:
        "Someone has already bought in this sale from this browser, and the sale allows one purchase per device. What was reserved is still theirs.",
    };
  const n = ctx.limit;
  return {
    kind: "limit",
    final: true,
    title: "Limit reached",
    message: `You already have the most this sale allows${n ? ` (${n} per shopper)` : ""} of this item. What you reserved is still yours; pay for it before its deadline.`,
  };
}

function notActive(ctx: Context): Outcome {
  if (ctx.serverNowMs < ctx.startMs) {
    return {
      kind: "not_started",
      final: true,
      title: "Not started yet",
      message: "The sale hasn't started by the shop's clock. Press Buy again when the countdown reaches zero.",
    };
  }
  return {
    kind: "ended",
    final: true,
    title: "The sale has ended",
    message: "This sale is over; nothing more can be bought.",
  };
}

/** Transient trouble: the same request, same key, later. */
function retry(title: string, message: string, seconds: number): Outcome {
  return { kind: "retry", final: false, title, message, retryAfterSeconds: seconds };
}

/** The answer to POST /flash-sale/{id}/purchase. */
export function purchaseOutcome(status: number, body: unknown, retryAfter: string | null, ctx: Context): Outcome {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (status === 200 || status === 201) {
    if (b.status === "reserved" && typeof b.reservation_token === "string") {
      const deadline = typeof b.payment_deadline === "string" ? Date.parse(b.payment_deadline) : Number.NaN;
      return {
        kind: "reserved",
        reservationToken: b.reservation_token,
        orderId: typeof b.order_id === "string" ? b.order_id : null,
        paymentDeadlineMs: deadline,
        remaining: typeof b.remaining_stock === "number" ? b.remaining_stock : null,
      };
    }
    if (b.status === "sold_out") return soldOut();
    if (b.status === "limit_exceeded") return limit(ctx, b.reason);
    return {
      kind: "error",
      final: true,
      title: "Unexpected answer",
      message: "The shop answered in a way this page doesn't understand. Reload the page and try again.",
    };
  }
  return errorOutcome("purchase", status, body, retryAfter, ctx);
}

/** Any error answer (docs/api.md "Errors and formats"), for the call that got it. */
export function errorOutcome(
  call: "enter" | "purchase" | "queue",
  status: number,
  body: unknown,
  retryAfter: string | null,
  ctx: Context,
): Outcome {
  const code = typeof (body as ErrorBody | null)?.error === "string" ? String((body as ErrorBody).error) : "";
  const wait = retryAfterSeconds(retryAfter);
  if (status === 429 && call === "enter")
    return retry(
      "Too many tries from your connection",
      `Your network has sent a lot of requests to join in a short time. We'll try again for you in ${wait} seconds.`,
      wait,
    );
  if (status === 429)
    return retry(
      "Lots of people are trying right now",
      `We'll try again for you in ${wait} seconds. Your place is kept.`,
      wait,
    );
  if (status === 503 || status === 502 || status === 504) {
    return retry(
      "The shop is very busy",
      `We'll try again for you in ${wait} seconds, with the same request, so nothing happens twice.`,
      wait,
    );
  }
  if (status >= 500)
    return retry(
      "Something went wrong on our side",
      `We'll try again in ${wait} seconds with the same request, so you can't end up with two orders.`,
      wait,
    );
  if (status === 401) {
    if (call === "purchase") {
      return {
        kind: "rejoin",
        final: true,
        title: "Your turn timed out",
        message:
          "Turns to buy last about a minute. Press “Rejoin the queue” to get back in line; you keep your place if you're still in it.",
      };
    }
    return {
      kind: "sign_in",
      final: true,
      title: "Please sign in again",
      message: "Your sign-in has expired. Sign in to the shop, then come back to this page.",
    };
  }
  if (status === 403) {
    if (code === "account_too_new") {
      return {
        kind: "error",
        final: true,
        title: "Account too new",
        message: "This sale is open to accounts at least a day old, to keep bots out. You can join the next one.",
      };
    }
    if (code === "captcha_failed") {
      return {
        kind: "error",
        final: true,
        title: "We couldn't let you in",
        message: "The check that you're a person didn't pass. Reload the page and try the check again.",
      };
    }
    if (call === "enter") {
      return {
        kind: "error",
        final: true,
        title: "We couldn't let you in",
        message: "The shop didn't let this entry through. Reload the page and try again.",
      };
    }
    return {
      kind: "rejoin",
      final: true,
      title: "This turn isn't yours",
      message: "Your turn belongs to another sale or account. Rejoin the queue from this page.",
    };
  }
  if (status === 404)
    return {
      kind: "error",
      final: true,
      title: "Not found",
      message: "This sale or item no longer exists. Reload the page to see what's on sale.",
    };
  if (status === 409)
    return {
      kind: "error",
      final: true,
      title: "That clashed with an earlier request",
      message: "Reload the page to see where your order stands, then try again.",
    };
  if (status === 422) {
    if (code === "sale_not_active") return notActive(ctx);
    if (code === "invalid_quantity") {
      return {
        kind: "error",
        final: true,
        title: "Choose another quantity",
        message: `Pick between 1 and ${ctx.limit ?? "the limit"}, then press Buy.`,
      };
    }
    return {
      kind: "error",
      final: true,
      title: "That can't be done",
      message:
        typeof (body as ErrorBody | null)?.message === "string"
          ? String((body as ErrorBody).message)
          : "Reload the page and try again.",
    };
  }
  if (status === 400)
    return {
      kind: "error",
      final: true,
      title: "The page sent something wrong",
      message: "Reload the page and try again; if it keeps happening, tell the shop.",
    };
  return {
    kind: "error",
    final: true,
    title: "Something unexpected happened",
    message: "Reload the page and try again.",
  };
}

/** No answer at all: the connection dropped or timed out. */
export function networkOutcome(): Outcome {
  return retry(
    "No connection to the shop",
    "Check your connection. We'll try again in a few seconds, with the same request, so nothing happens twice.",
    DEFAULT_RETRY_SECONDS,
  );
}
