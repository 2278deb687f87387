/**
 * The admin API as the CLI sees it: one function per call, and every failure turned
 * into a CliError whose message fits on one line.
 */
export class CliError extends Error {}

export type AdminTarget = { url: string; token: string };

export async function adminCall(
  target: AdminTarget,
  method: "GET" | "POST" | "PATCH",
  path: string,
  body?: unknown,
): Promise<any> {
  const url = `${target.url.replace(/\/$/, "")}/api/v1/admin${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the admin API at ${target.url} (${(err as Error).message}); is the stack running (npm start)?`,
    );
  }
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    throw new CliError(
      `${method} ${path} answered ${res.status} with something that is not JSON: ${text.slice(0, 120)}`,
    );
  }
  if (!res.ok) {
    const reason = parsed?.message ?? parsed?.error ?? text.slice(0, 200);
    throw new CliError(
      `${method} ${path} refused (${res.status} ${parsed?.error ?? ""}): ${reason}`.replace(/\s+/g, " "),
    );
  }
  return parsed;
}
