/**
 * The sale page's script: reads the pre-rendered sale, learns the server's clock,
 * and drives the queue and the purchase. The decisions live in pure modules (clock,
 * model, intent, outcomes); this file only wires them to the network and the DOM.
 */
import { apiClient } from "./api";
import { createCaptcha } from "./captcha";
import { type ClockEstimate, type ClockSample, estimateClock, serverMsFromTimeBody, serverNow } from "./clock";
import { CONFIG_ELEMENT_ID, type PageConfig } from "./config";
import { deviceFingerprint, deviceId } from "./fingerprint";
import { describeWait, formatOrdinal } from "./format";
import { PurchaseIntents, randomKey } from "./intent";
import { followQueue, type LiveQueue } from "./live";
import {
  type Event,
  initialModel,
  type Model,
  type Phase,
  phaseAt,
  type QueueBody,
  type SaleStatus,
  update,
} from "./model";
import { errorOutcome, networkOutcome, purchaseOutcome } from "./outcomes";
import { readSession } from "./session";
import { announce, findDom, type RenderState, render } from "./view";

const config = JSON.parse(document.getElementById(CONFIG_ELEMENT_ID)!.textContent!) as PageConfig;
const api = apiClient(config.api_base, config.sale_id);
const dom = findDom();
const session = readSession();
const intents = new PurchaseIntents(randomKey);
const captcha = createCaptcha(config.captcha, dom.captcha);
const queueKey = `flashsale.queue.${config.sale_id}`;
const reservationKey = `flashsale.reservation.${config.sale_id}`;

let model: Model = initialModel({
  startMs: config.start_ms,
  endMs: config.end_ms,
  preQueueMinutes: config.pre_queue_minutes,
  status: config.status as SaleStatus,
  items: config.items.map((i) => ({ skuId: i.sku_id, remaining: i.remaining })),
});
let clock: ClockEstimate | null = null;
let clockNote = "Checking the shop's clock…";
let live: LiveQueue | null = null;
const rs: RenderState = { lastPhase: null, reopenedUntil: 0 };
let lastPositionSpoken = { at: 0, position: -1 };
let autoRetry: ReturnType<typeof setTimeout> | null = null;

const now = () => (clock ? serverNow(clock, performance.now()) : Date.now());
const phase = (): Phase => phaseAt(model, now());

function dispatch(e: Event): void {
  model = update(model, e);
  if (model.stockReopened) {
    rs.reopenedUntil = now() + 15_000;
    announce(dom, "Stock reopened: units are back on sale.");
    model = update(model, { type: "announced" });
  }
  paint();
}

function paint(): void {
  const p = phase();
  render(dom, model, p, now(), clockNote, rs);
  if (p === "open" || p === "entering") captcha.show();
  const pos = model.queue.position;
  // Position changes are spoken at most every 15 s: often enough to reassure, not a stream of numbers.
  if (
    p === "waiting" &&
    pos !== null &&
    pos !== lastPositionSpoken.position &&
    performance.now() - lastPositionSpoken.at > 15_000
  ) {
    lastPositionSpoken = { at: performance.now(), position: pos };
    if (rs.lastPhase === "waiting")
      announce(dom, `You're ${formatOrdinal(pos)} in line. Estimated wait ${describeWait(model.queue.etaSeconds)}.`);
  }
}

// ---- the clock ------------------------------------------------------------------------

async function syncClock(samples = 5): Promise<void> {
  const taken: ClockSample[] = [];
  for (let i = 0; i < samples; i++) {
    const sentAt = performance.now();
    try {
      const a = await api.time();
      const receivedAt = performance.now();
      const serverMs = serverMsFromTimeBody(a.body);
      if (a.status === 200 && Number.isFinite(serverMs)) taken.push({ sentAt, receivedAt, serverMs });
    } catch {
      /* a lost sample; the others decide */
    }
    const estimate = estimateClock(taken);
    if (estimate) {
      clock = estimate;
      clockNote = `Synced with the shop's clock (±${Math.max(1, Math.round(estimate.uncertaintyMs))} ms)`;
      if (!model.clockKnown) dispatch({ type: "clock_known" });
    }
  }
  if (!clock) {
    // The server decides anyway (a click before T=0 is refused); the device's clock is the best we have.
    clockNote = "Couldn't reach the shop's clock: using this device's time";
    if (!model.clockKnown) dispatch({ type: "clock_known" });
  }
  paint();
}

function tick(): void {
  paint();
  // Wake on the next whole second before T=0 (or the end), so digits and Buy flip on time.
  const t = now();
  const target = t < model.startMs ? model.startMs : model.endMs;
  const delay = (((target - t) % 1000) + 1000) % 1000 || 1000;
  setTimeout(tick, Math.min(1000, delay + 2));
}

// ---- sale status (cacheable) ----------------------------------------------------------

let statusTimer: ReturnType<typeof setTimeout> | null = null;
async function refreshStatus(): Promise<void> {
  statusTimer = null;
  try {
    const a = await api.status();
    if (a.status === 200 && a.body && typeof a.body === "object") dispatch({ type: "status", body: a.body as object });
  } catch {
    /* stale stock for a moment is fine; the next poll fixes it */
  }
  scheduleStatus();
}
function scheduleStatus(): void {
  if (statusTimer !== null) return;
  const p = phase();
  // Live stock while it matters; the status is edge-cached, so these polls rarely reach the origin.
  const delay =
    p === "admitted" || p === "waiting" || p === "ready" || p === "sold_out" || p === "open" ? 3_000 : 15_000;
  if (p === "ended" || p === "cancelled") return;
  statusTimer = setTimeout(refreshStatus, delay);
}

// ---- the queue ------------------------------------------------------------------------

function follow(queueToken: string): void {
  live?.stop();
  live = followQueue(
    api,
    queueToken,
    (body: QueueBody) => {
      dispatch({ type: "queue", body });
      const state = model.queue.state;
      if (state === "closed") live?.stop();
    },
    (status, retryAfter) => {
      if (status === 404 || status === 401 || status === 403) {
        // The queue no longer knows this token: forget it and offer to join again.
        live?.stop();
        try {
          sessionStorage.removeItem(queueKey);
        } catch {
          /* ignore */
        }
        dispatch({ type: "queue_reset" });
      }
      void retryAfter;
    },
  );
}

async function enterQueue(): Promise<void> {
  if (!session || model.queue.state === "entering") return;
  dispatch({ type: "entering" });
  const ctx = { serverNowMs: now(), startMs: model.startMs, endMs: model.endMs };
  try {
    const [token, fingerprint] = await Promise.all([
      Promise.race([captcha.token(), new Promise<string>((r) => setTimeout(() => r("turnstile-timeout"), 60_000))]),
      deviceFingerprint(),
    ]);
    const a = await api.enterQueue(session, token, { id: deviceId(), fingerprint });
    captcha.reset();
    if (a.status === 200 || a.status === 201) {
      const body = a.body as QueueBody;
      dispatch({ type: "queue", body: { state: "waiting", ...body } });
      if (body.queue_token) {
        try {
          sessionStorage.setItem(queueKey, body.queue_token);
        } catch {
          /* ignore */
        }
        follow(body.queue_token);
      }
      return;
    }
    dispatch({ type: "outcome", outcome: errorOutcome("enter", a.status, a.body, a.retryAfter, ctx) });
  } catch {
    dispatch({ type: "outcome", outcome: networkOutcome() });
  }
}

// ---- buying ---------------------------------------------------------------------------

async function buy(skuId: string, quantity: number, attempt = 0): Promise<void> {
  if (autoRetry !== null) {
    clearTimeout(autoRetry);
    autoRetry = null;
  }
  const admission = model.queue.admissionToken;
  if (!admission || phase() !== "admitted") return;
  const begun = intents.begin(skuId, quantity);
  if (!begun.send) return;
  dispatch({ type: "buying", skuId, quantity });
  const item = config.items.find((i) => i.sku_id === skuId);
  let outcome: ReturnType<typeof purchaseOutcome>;
  try {
    const a = await api.purchase(admission, begun.intent.key, skuId, quantity);
    outcome = purchaseOutcome(a.status, a.body, a.retryAfter, {
      serverNowMs: now(),
      startMs: model.startMs,
      endMs: model.endMs,
      limit: item?.per_user_limit,
    });
  } catch {
    outcome = networkOutcome();
  }
  if (outcome.kind === "retry") {
    intents.retryLater();
    dispatch({ type: "outcome", outcome });
    // The same intent, the same key: a retry can only ever return the first answer.
    if (attempt < 3)
      autoRetry = setTimeout(() => void buy(skuId, quantity, attempt + 1), outcome.retryAfterSeconds * 1000);
    return;
  }
  intents.finish();
  dispatch({ type: "outcome", outcome, skuId, quantity });
  if (outcome.kind === "reserved") {
    live?.stop();
    try {
      sessionStorage.setItem(reservationKey, JSON.stringify(model.reservation));
    } catch {
      /* ignore */
    }
  }
}

async function cancelReservation(): Promise<void> {
  const r = model.reservation;
  if (!r || !session) return;
  dom.secondary.disabled = true;
  try {
    const a = await api.cancelReservation(session, r.token);
    if (a.status === 200) {
      try {
        sessionStorage.removeItem(reservationKey);
      } catch {
        /* ignore */
      }
      dispatch({ type: "reservation_over" });
      announce(dom, "Reservation cancelled. The units are back on sale.");
    } else {
      dispatch({
        type: "outcome",
        outcome: errorOutcome("purchase", a.status, a.body, a.retryAfter, {
          serverNowMs: now(),
          startMs: model.startMs,
          endMs: model.endMs,
        }),
      });
    }
  } catch {
    announce(dom, "Couldn't reach the shop to cancel. Check your connection and try again.");
  } finally {
    dom.secondary.disabled = false;
  }
}

/** A reload keeps what the shopper already has: the reservation, or the place in line. */
async function resume(): Promise<void> {
  let stored: string | null = null;
  let queueToken: string | null = null;
  try {
    stored = sessionStorage.getItem(reservationKey);
    queueToken = sessionStorage.getItem(queueKey);
  } catch {
    /* storage blocked */
  }
  if (stored && session) {
    const r = JSON.parse(stored) as NonNullable<Model["reservation"]>;
    model = { ...model, reservation: r };
    try {
      const a = await api.reservation(session, r.token);
      const status = (a.body as { status?: string } | null)?.status;
      if (a.status === 200 && status && status !== "reserved") {
        sessionStorage.removeItem(reservationKey);
        dispatch({ type: "reservation_over" });
        announce(dom, status === "paid" ? "Your order is paid." : `Your reservation was ${status}.`);
      }
    } catch {
      /* keep showing it; the deadline countdown is still right */
    }
    return;
  }
  if (queueToken) {
    dispatch({ type: "queue", body: { state: "waiting", queue_token: queueToken } });
    follow(queueToken);
  }
}

// ---- wiring ---------------------------------------------------------------------------

dom.action.addEventListener("click", () => {
  const p = phase();
  if (p === "open") void enterQueue();
  else if (p === "expired") {
    model = update(model, { type: "queue", body: { state: "waiting" } });
    paint();
    if (model.queue.token) follow(model.queue.token);
    else void enterQueue();
  }
});
dom.secondary.addEventListener("click", () => void cancelReservation());
for (const item of dom.items) {
  item.buy.addEventListener("click", () => void buy(item.sku, Number(item.qty.value) || 1));
}
document.addEventListener("visibilitychange", () => {
  // A phone asleep may have paused the monotonic clock: ask the server again on return.
  if (document.visibilityState === "visible") void syncClock(3);
});

dispatch({ type: "signed_in", signedIn: Boolean(session) });
tick();
void syncClock();
void refreshStatus();
void resume();
