/**
 * The server's clock, seen from the device. Each sample is one GET /api/v1/time with
 * the device's monotonic clock (performance.now) read just before sending and just after
 * the answer. The server read its clock somewhere inside that round trip; assuming the
 * middle is off by at most half the round trip, so the sample with the lowest round trip
 * bounds the error best. The offset maps the monotonic clock to server time, so changing
 * the device's wall clock after load cannot move the countdown either.
 */
export type ClockSample = {
  /** Monotonic device time when the request left. */
  sentAt: number;
  /** Monotonic device time when the answer arrived. */
  receivedAt: number;
  /** The server's `now_ms`. */
  serverMs: number;
};

export type ClockEstimate = {
  /** server time = monotonic device time + offsetMs */
  offsetMs: number;
  /** The chosen sample's round trip. */
  rttMs: number;
  /** Worst-case error of the estimate: half the chosen round trip. */
  uncertaintyMs: number;
  samples: number;
};

/** The estimate from the lowest-round-trip sample; null when no usable sample exists. */
export function estimateClock(samples: readonly ClockSample[]): ClockEstimate | null {
  let best: ClockSample | null = null;
  let usable = 0;
  for (const s of samples) {
    const rtt = s.receivedAt - s.sentAt;
    // A negative round trip or a non-number is a broken measurement, not a fast one.
    if (!Number.isFinite(rtt) || rtt < 0 || !Number.isFinite(s.serverMs)) continue;
    usable++;
    if (best === null || rtt < best.receivedAt - best.sentAt) best = s;
  }
  if (best === null) return null;
  const rtt = best.receivedAt - best.sentAt;
  return {
    offsetMs: best.serverMs - (best.sentAt + rtt / 2),
    rttMs: rtt,
    uncertaintyMs: rtt / 2,
    samples: usable,
  };
}

/** Server time now, given the estimate and the device's monotonic clock. */
export function serverNow(estimate: ClockEstimate, monotonicNow: number): number {
  return monotonicNow + estimate.offsetMs;
}

/** Parses the body of GET /api/v1/time into the server's milliseconds, or NaN. */
export function serverMsFromTimeBody(body: unknown): number {
  if (typeof body !== "object" || body === null) return Number.NaN;
  const b = body as { now_ms?: unknown; now?: unknown };
  if (typeof b.now_ms === "number") return b.now_ms;
  if (typeof b.now === "string") return Date.parse(b.now);
  return Number.NaN;
}
