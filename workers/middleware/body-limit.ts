import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../errors";

/**
 * Largest request body each kind of route reads, in bytes. A purchase or a queue entry
 * is a few fields (a captcha token is at most 2 KB); a sale definition lists its items.
 * `any` is the whole API's ceiling, so no route can be made to buffer more.
 */
export const BODY_LIMITS = {
  purchase: 4 * 1024,
  enterQueue: 8 * 1024,
  // An address of 2,000 characters may take 4 bytes each in UTF-8, as a JSON escape up to 12.
  confirm: 32 * 1024,
  /** Routes that take no body (cancel, prewarm, reconcile) or one number (patch). */
  small: 1024,
  createSale: 256 * 1024,
  any: 256 * 1024,
} as const;

/**
 * hono's body limit (Content-Length checked before anything is read; a chunked body is
 * counted as it streams), answering 413 in the API's error shape before the handler
 * runs, so nothing is written for a body that is too large.
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(
        413,
        "payload_too_large",
        `The request body is larger than this route accepts (${maxBytes} bytes).`,
        [{ field: "(body)", problem: `must be at most ${maxBytes} bytes` }],
      );
    },
  });
}
