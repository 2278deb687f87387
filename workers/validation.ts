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

export { z };
