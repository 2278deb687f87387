/**
 * What a shopper is told: the poll answer and every socket message (docs/api.md,
 * `GET /flash-sale/{id}/queue/{token}`), the wait estimate behind it, and the admission
 * token an admitted shopper holds. Plain functions over what the rules know.
 */
import { DEFAULTS } from "../../workers/config";
import type { QueueView } from "../../workers/queue/types";
import type { Config, Entrant, SaleState } from "./model";
import type { QueueStore } from "./store";

/** Signs an admission token (workers/auth/admission.ts in the object; anything in a simulation). */
export type AdmissionMinter = (
  claims: { sub: string; saleId: string; jti: string; device: string; position: number | null },
  nowMs: number,
  ttlSeconds: number,
) => Promise<{ token: string; expiresAt: Date }>;

/** What a view is drawn from: the rules (rules.ts) answer to this. */
export interface ViewSource {
  readonly config: Config | null;
  readonly state: SaleState;
  readonly store: QueueStore;
  readonly mintAdmission: AdmissionMinter;
  isClosed(now: number): boolean;
  eta(position: number | null, now: number): number;
  /** When the turn of `position` lapses (+Infinity when the log does not know it). */
  lapseAt(position: number): number;
}

const RATE_WINDOW_MS = 10_000;

/**
 * How long a shopper's page waits before its next poll (`poll_after_ms`): a quarter of the
 * estimated wait, from 2 s at the front to 30 s far back, so the crowd polls the object at
 * about Σ 1/interval, dominated by the few near the front. Admitted and sold-out shoppers
 * poll every 5 s (a refreshed token, returned stock); a closed queue has nothing to say.
 */
export const POLL_AFTER_MS = { min: 2_000, max: 30_000, settled: 5_000, closed: 60_000 } as const;

export function pollAfterMs(state: QueueView["state"], etaSeconds: number): number {
  if (state === "closed") return POLL_AFTER_MS.closed;
  if (state !== "waiting") return POLL_AFTER_MS.settled;
  return Math.min(POLL_AFTER_MS.max, Math.max(POLL_AFTER_MS.min, Math.round((etaSeconds * 1000) / 4)));
}

/** The view with the poll interval its state and wait call for. */
const paced = (view: Omit<QueueView, "poll_after_ms">): QueueView => ({
  ...view,
  poll_after_ms: pollAfterMs(view.state, view.estimated_wait_seconds),
});

/** Admissions per second actually achieved over the last window; the configured rate until measured. */
export class AdmissionRate {
  private samples: Array<{ ms: number; admitted: number }> = [];

  sample(now: number, admittedThrough: number): void {
    this.samples.push({ ms: now, admitted: admittedThrough });
    while (this.samples.length > 2 && now - this.samples[0]!.ms > RATE_WINDOW_MS) this.samples.shift();
  }

  perSecond(configured: number): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.ms - first.ms < 1_000) return configured;
    const measured = ((last.admitted - first.admitted) * 1000) / (last.ms - first.ms);
    return measured > 0 ? measured : configured;
  }
}

/** Seconds until `position` is admitted: the time to the start plus the people ahead at the achieved rate. */
export function estimateWait(
  sale: Config,
  admittedThrough: number,
  position: number | null,
  arrivals: number,
  now: number,
  ratePerSecond: number,
): number {
  const untilStart = Math.max(0, sale.startMs - now) / 1000;
  // Before the draw a random-mode entrant could land anywhere among the pre-start crowd.
  const ahead = (position ?? arrivals) - admittedThrough;
  return Math.max(0, Math.ceil(untilStart + Math.max(0, ahead) / ratePerSecond));
}

export async function viewOf(q: ViewSource, entrant: Entrant, now: number): Promise<QueueView> {
  const { admittedThrough } = q.state.meter;
  const base = { queue_position: entrant.position, admitted_through: admittedThrough };
  const draw = q.config?.preQueueMode === "random" ? drawInfo(q.state, entrant.arrival) : undefined;
  let view: Omit<QueueView, "poll_after_ms">;
  // Sold out outranks admitted: with nothing left, a token buys nothing. Returned stock
  // turns the same shopper back to admitted (or waiting) on the next look.
  if (q.isClosed(now)) view = { state: "closed", ...base, estimated_wait_seconds: 0 };
  else if (q.state.soldOut) view = { state: "sold_out", ...base, estimated_wait_seconds: 0 };
  else if (entrant.position !== null && entrant.position <= admittedThrough) {
    const lapseAt = q.lapseAt(entrant.position);
    // A turn not used within its window has lapsed: its room went to the next in line. A
    // token's expiry is whole seconds, so a turn with less than one left can get none that
    // would not outlive it: it counts as lapsed.
    if (entrant.position <= (q.state.lapsedThrough ?? 0) || Math.floor(lapseAt / 1000) <= Math.floor(now / 1000))
      view = {
        state: "admitted",
        ...base,
        estimated_wait_seconds: 0,
        admission_expires_at: new Date(Math.min(lapseAt, now)).toISOString(),
        lapsed: true,
      };
    else
      view = {
        state: "admitted",
        ...base,
        estimated_wait_seconds: 0,
        ...(await admissionFor(q, entrant, now, lapseAt)),
      };
  } else view = { state: "waiting", ...base, estimated_wait_seconds: q.eta(entrant.position, now) };
  return paced(draw ? { ...view, draw } : view);
}

/** What an open socket is told on a broadcast when it holds no token to refresh: waiting or sold out. */
export function broadcastView(q: ViewSource, position: number | null, now: number): QueueView {
  const state = q.state.soldOut ? "sold_out" : "waiting";
  return paced({
    state,
    queue_position: position,
    admitted_through: q.state.meter.admittedThrough,
    estimated_wait_seconds: state === "waiting" ? q.eta(position, now) : 0,
  });
}

export function closedView(q: ViewSource, position: number | null): QueueView {
  return paced({
    state: "closed",
    queue_position: position,
    admitted_through: q.state.meter.admittedThrough,
    estimated_wait_seconds: 0,
  });
}

function drawInfo(state: SaleState, arrival: number | null): QueueView["draw"] {
  const drawn = state.drawnCount;
  return {
    commitment: state.commitment,
    seed: drawn === null ? null : state.seed,
    drawn_count: drawn,
    arrival_number: arrival,
  };
}

/**
 * The shopper's admission token: reused while valid, so polling twice does not mint twice.
 * It never outlives the turn's window (`lapseAt`): a lapsed turn cannot buy.
 */
async function admissionFor(
  q: ViewSource,
  entrant: Entrant,
  now: number,
  lapseAt: number,
): Promise<{ admission_token: string; admission_expires_at: string }> {
  const lastExp = Math.floor(lapseAt / 1000) * 1000;
  if (
    entrant.adm_token &&
    entrant.adm_expires_ms &&
    (entrant.adm_expires_ms - now > 5_000 || entrant.adm_expires_ms >= lastExp)
  ) {
    return {
      admission_token: entrant.adm_token,
      admission_expires_at: new Date(entrant.adm_expires_ms).toISOString(),
    };
  }
  const ttl = Math.min(DEFAULTS.admissionTokenSeconds, Math.floor(lapseAt / 1000) - Math.floor(now / 1000));
  const { token, expiresAt } = await q.mintAdmission(
    {
      sub: entrant.shopper,
      saleId: q.config!.saleId,
      jti: crypto.randomUUID(),
      device: entrant.device,
      position: entrant.position,
    },
    now,
    Math.max(1, ttl),
  );
  q.store.setAdmissionToken(entrant.seq, token, expiresAt.getTime());
  return { admission_token: token, admission_expires_at: expiresAt.toISOString() };
}
