/**
 * A pause of about `ms`, spread over 50–150 %: a crowd dropped at the same moment comes
 * back spread out, not as one wave.
 */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.5 + random()));
}

/** The page's poll pace: the server's when it gives one, bounded so a bad value cannot stop or flood the page. */
export const POLL_PACE = { fallback: 2_000, min: 1_000, max: 60_000, maxAfterFailure: 15_000 } as const;

/**
 * The pause before the next poll (before jitter). An answer sets it from the server's
 * `poll_after_ms`; a failure doubles the last pause up to maxAfterFailure (or takes the
 * server's Retry-After). There is no give-up: the page polls again, however long it takes.
 */
export function nextPollDelay(
  previous: number,
  answer: { ok: true; pollAfterMs?: number } | { ok: false; retryAfterSeconds?: number },
): number {
  if (answer.ok) {
    const asked = answer.pollAfterMs;
    if (asked === undefined || !Number.isFinite(asked)) return POLL_PACE.fallback;
    return Math.min(POLL_PACE.max, Math.max(POLL_PACE.min, asked));
  }
  const ra = answer.retryAfterSeconds;
  if (ra !== undefined && Number.isFinite(ra) && ra > 0) return Math.min(POLL_PACE.max, ra * 1000);
  return Math.min(POLL_PACE.maxAfterFailure, Math.max(POLL_PACE.min, previous) * 2);
}
