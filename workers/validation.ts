import type { Context } from "hono";
import { z } from "zod";
import { ApiError } from "./errors";

/**
 * Request bodies become typed values here, once. Malformed JSON, a missing field or a
 * wrong type is 400 (the request is not understood); a well-formed request that breaks
 * a business rule is the handler's 422.
 */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw new ApiError(400, "invalid_json", "The request body could not be read.");
  }
  try {
    raw = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "(body)", problem: i.message }));
    throw new ApiError(
      400,
      "bad_request",
      `The request body is missing fields or has the wrong types: ${problems.map((p) => `${p.field}: ${p.problem}`).join("; ")}.`,
      problems,
    );
  }
  return parsed.data;
}

/** A lone UTF-16 surrogate has no UTF-8 form (with the `u` flag, \p{Cs} matches only unpaired halves). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A text that can be stored as it is, in a column of `maxChars` characters. Postgres's
 * varchar(n) counts characters (code points), not UTF-16 units or bytes, so an emoji is
 * one: the limit here is the column's, exactly. Every value that reaches an order goes
 * through this, so whatever the door accepts the orders table accepts too.
 */
export function storableText(maxChars: number, minChars = 1) {
  return z
    .string()
    .refine((s) => !s.includes("\0") && !LONE_SURROGATE.test(s), "must not contain NUL or unpaired UTF-16 surrogates")
    .refine((s) => {
      const chars = [...s].length;
      return chars >= minChars && chars <= maxChars;
    }, `must be ${minChars} to ${maxChars} characters`);
}

/** True when `value` is a storable text of at most `maxChars` characters (headers and token claims). */
export const isStorableText = (value: unknown, maxChars: number): value is string =>
  storableText(maxChars).safeParse(value).success;

export { z };
