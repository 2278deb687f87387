/**
 * The page's calls to the shopper API (docs/api.md). Each returns the status, the parsed
 * body and Retry-After, or throws on no answer at all; deciding what an answer means
 * is outcomes.ts's job, so this file stays a thin, bounded transport.
 */
export type Answer = { status: number; body: unknown; retryAfter: string | null };

const TIMEOUT_MS = 10_000;

export class NoAnswer extends Error {}

export function apiClient(apiBase: string, saleId: string) {
  const base = `${apiBase}/api/v1`;
  const sale = `${base}/flash-sale/${encodeURIComponent(saleId)}`;

  async function call(url: string, init: RequestInit & { token?: string | null } = {}): Promise<Answer> {
    const headers = new Headers(init.headers);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw new NoAnswer(err instanceof Error ? err.message : String(err));
    }
    const text = await res.text().catch(() => "");
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { error: "not_json", message: text.slice(0, 200) };
    }
    return { status: res.status, body, retryAfter: res.headers.get("retry-after") };
  }

  return {
    /** Never cached (the Worker says no-store); `cache: "no-store"` makes sure no browser cache skews a sample. */
    time: () => call(`${base}/time`, { cache: "no-store" }),
    /** Cacheable for about a second at the edge: the browser may use what the edge says. */
    status: () => call(`${sale}/status`),
    enterQueue: (session: string, captchaToken: string, device: { id: string; fingerprint: string }) =>
      call(`${sale}/enter-queue`, {
        method: "POST",
        token: session,
        body: JSON.stringify({
          captcha_token: captchaToken,
          device_fingerprint: device.fingerprint,
          device_id: device.id,
        }),
      }),
    queue: (queueToken: string) => call(`${sale}/queue/${encodeURIComponent(queueToken)}`, { cache: "no-store" }),
    queueSocketUrl: (queueToken: string) => {
      const url = new URL(`${sale}/queue/${encodeURIComponent(queueToken)}`, location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      return url.toString();
    },
    purchase: (admissionToken: string, idempotencyKey: string, skuId: string, quantity: number) =>
      call(`${sale}/purchase`, {
        method: "POST",
        token: admissionToken,
        headers: { "idempotency-key": idempotencyKey },
        body: JSON.stringify({ sku_id: skuId, quantity }),
      }),
    reservation: (session: string, reservationToken: string) =>
      call(`${base}/reservations/${encodeURIComponent(reservationToken)}`, { token: session, cache: "no-store" }),
    cancelReservation: (session: string, reservationToken: string) =>
      call(`${base}/reservations/${encodeURIComponent(reservationToken)}/cancel`, { method: "POST", token: session }),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
