import { unavailable } from "../errors";

export const SITEVERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify";
const SITEVERIFY_TIMEOUT_MS = 3_000;

/**
 * Asks Cloudflare Turnstile whether a widget token is genuine and unused. A token is
 * good once: siteverify refuses a replay, so a bot cannot reuse one solve for many entries.
 * Turnstile not answering is a dependency outage (503), never a pass.
 */
export async function verifyTurnstile(secret: string, token: string, remoteIp: string | null): Promise<boolean> {
  const form = new FormData();
  form.append("secret", secret);
  form.append("response", token);
  if (remoteIp) form.append("remoteip", remoteIp);
  let outcome: { success?: unknown };
  try {
    const res = await fetch(SITEVERIFY_URL, {
      method: "POST",
      body: form,
      signal: AbortSignal.timeout(SITEVERIFY_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`siteverify answered ${res.status}`);
    outcome = await res.json();
  } catch (err) {
    console.warn("turnstile siteverify failed:", err instanceof Error ? err.message : err);
    throw unavailable("Captcha verification");
  }
  return outcome.success === true;
}
