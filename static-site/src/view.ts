/**
 * Puts the model on screen. It only writes text that changed, so live regions speak
 * only when something new happened, and it moves focus only on the transitions a
 * keyboard or screen-reader user must not miss (Buy opening, the outcome of a purchase).
 */
import {
  describeDuration,
  describeWait,
  formatCount,
  formatCountdown,
  formatMinutesSeconds,
  formatOrdinal,
} from "./format";
import { isSoldOut, type Model, type Phase } from "./model";

export type Dom = {
  panel: HTMLElement;
  title: HTMLElement;
  message: HTMLElement;
  detail: HTMLElement;
  captcha: HTMLElement;
  action: HTMLButtonElement;
  secondary: HTMLButtonElement;
  countdown: HTMLElement;
  countdownLabel: HTMLElement;
  clockNote: HTMLElement;
  startTime: HTMLElement;
  announcer: HTMLElement;
  alert: HTMLElement;
  items: Array<{
    sku: string;
    row: HTMLElement;
    remaining: HTMLElement;
    buyRow: HTMLElement;
    note: HTMLElement;
    qty: HTMLSelectElement;
    buy: HTMLButtonElement;
  }>;
};

const byId = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page is missing #${id}`);
  return el as T;
};

export function findDom(): Dom {
  return {
    panel: byId("panel"),
    title: byId("panel-title"),
    message: byId("panel-message"),
    detail: byId("panel-detail"),
    captcha: byId("captcha"),
    action: byId("panel-action"),
    secondary: byId("panel-secondary"),
    countdown: byId("countdown"),
    countdownLabel: byId("countdown-label"),
    clockNote: byId("clock-note"),
    startTime: byId("start-time"),
    announcer: byId("announcer"),
    alert: byId("alert"),
    items: Array.from(document.querySelectorAll<HTMLElement>(".item")).map((row) => ({
      sku: row.dataset.sku ?? "",
      row,
      remaining: row.querySelector<HTMLElement>("[data-remaining]")!,
      buyRow: row.querySelector<HTMLElement>(".buy-row")!,
      note: row.querySelector<HTMLElement>(".buy-note")!,
      qty: row.querySelector<HTMLSelectElement>("select")!,
      buy: row.querySelector<HTMLButtonElement>("button.buy")!,
    })),
  };
}

const setText = (el: HTMLElement, text: string) => {
  if (el.textContent !== text) el.textContent = text;
};
const setAttr = (el: HTMLElement, name: string, value: string) => {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
};

type PanelView = {
  title: string;
  message: string;
  detail: string;
  action?: string;
  actionBusy?: boolean;
  secondary?: string;
  captcha?: boolean;
};

const timeOfDay = (ms: number) => new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

function panelFor(m: Model, phase: Phase, now: number): PanelView {
  const q = m.queue;
  const startsIn = m.startMs > now ? ` The sale starts in ${describeDuration(m.startMs - now)}.` : "";
  switch (phase) {
    case "syncing":
      return { title: "Getting ready", message: "Checking the shop's clock so your countdown is exact.", detail: "" };
    case "signed_out":
      return {
        title: "Sign in to join",
        message: "Sign in to the shop first, then come back to this page to join the queue.",
        detail: "",
      };
    case "countdown":
      return {
        title: `The queue opens at ${timeOfDay(m.queueOpensMs)}`,
        message: `You can join ${describeDuration(m.startMs - m.queueOpensMs)} before the start. Keep this page open; it updates by itself.`,
        detail: "",
      };
    case "open":
      return {
        title: "The queue is open",
        message: "Join now to hold your place. Reloading the page never loses it or moves you up.",
        detail: "",
        action: "Join the queue",
        captcha: true,
      };
    case "entering":
      return {
        title: "Joining the queue…",
        message: "Hold on: we're getting you a place.",
        detail: "",
        action: "Joining…",
        actionBusy: true,
        captcha: true,
      };
    case "waiting":
      return {
        title: "You're in the queue",
        message: `Estimated wait: ${describeWait(q.etaSeconds)}. Buy appears here when it's your turn; keep this page open.${startsIn}`,
        detail:
          q.position !== null
            ? `${formatOrdinal(q.position)} in line`
            : m.startMs > now
              ? "Places are drawn at the start"
              : "Finding your place…",
      };
    case "ready":
      return {
        title: "You're at the front",
        message: `Buy opens the moment the sale starts.${startsIn}`,
        detail: formatCountdown(m.startMs - now),
      };
    case "admitted": {
      const left = q.admissionExpiresMs !== null ? formatMinutesSeconds(q.admissionExpiresMs - now) : "";
      return {
        title: "It's your turn",
        message: "Choose a quantity and press Buy now. Your turn lasts about a minute.",
        detail: left ? `${left} left to buy` : "",
      };
    }
    case "expired":
      return {
        title: "Your turn timed out",
        message:
          "A turn to buy lasts a few minutes, then passes to the next in line. Rejoin: if yours is still open, you get it back.",
        detail: "",
        action: "Rejoin the queue",
      };
    case "reserved": {
      const r = m.reservation!;
      const left = r.paymentDeadlineMs - now;
      if (!(left > 0)) {
        return {
          title: "Your reservation ran out",
          message: "It wasn't paid before the deadline, so the units went back on sale.",
          detail: "",
        };
      }
      return {
        title: "Reserved: it's yours",
        message: `Pay in the shop's checkout by ${timeOfDay(r.paymentDeadlineMs)}, or the units go back on sale.${r.orderId ? ` Order ${r.orderId}.` : ""}`,
        detail: `${formatMinutesSeconds(left)} left to pay`,
        secondary: "Cancel reservation",
      };
    }
    case "sold_out":
      return {
        title: "Sold out",
        message:
          "Every unit has been reserved. Units come back if a reservation isn't paid in time: keep this page open and we'll tell you here.",
        detail: "",
      };
    case "ended":
      return { title: "The sale has ended", message: "This sale is over. Thank you for coming.", detail: "" };
    case "cancelled":
      return {
        title: "The sale was cancelled",
        message: "The shop cancelled this sale. Nothing was charged.",
        detail: "",
      };
  }
}

export type RenderState = { lastPhase: Phase | null; reopenedUntil: number };

export function render(dom: Dom, m: Model, phase: Phase, now: number, clockNote: string, rs: RenderState): void {
  // The countdown: to the start, then to the end.
  if (!m.clockKnown) {
    setText(dom.countdown, "--:--:--");
  } else if (now < m.startMs) {
    setText(dom.countdownLabel, "Starts in");
    setText(dom.countdown, formatCountdown(m.startMs - now));
  } else if (now < m.endMs && phase !== "ended" && phase !== "cancelled") {
    setText(dom.countdownLabel, "The sale is live · ends in");
    setText(dom.countdown, formatCountdown(m.endMs - now));
  } else {
    setText(dom.countdownLabel, phase === "cancelled" ? "Cancelled" : "The sale has ended");
    setText(dom.countdown, formatCountdown(0));
  }
  setText(dom.clockNote, clockNote);

  // The panel: one phase at a time, an outcome (error, limit) told in its place.
  const view = panelFor(m, phase, now);
  const o = m.outcome;
  const showOutcome =
    o &&
    o.kind !== "reserved" &&
    (phase === "admitted" || phase === "open" || phase === "waiting" || phase === "expired");
  let title = showOutcome ? o.title : view.title;
  const message = showOutcome ? o.message : view.message;
  if (rs.reopenedUntil > now && (phase === "open" || phase === "waiting" || phase === "admitted" || phase === "ready"))
    title = `Stock reopened · ${title}`;
  setAttr(dom.panel, "data-phase", phase);
  setText(dom.title, title);
  setText(dom.message, message);
  setText(dom.detail, view.detail);
  if (!dom.captcha.dataset.captcha) dom.captcha.hidden = !view.captcha;
  dom.action.hidden = !view.action;
  if (view.action) setText(dom.action, view.action);
  dom.action.disabled = Boolean(view.actionBusy);
  setAttr(dom.action, "aria-busy", String(Boolean(view.actionBusy)));
  dom.secondary.hidden = !view.secondary;
  if (view.secondary) setText(dom.secondary, view.secondary);

  // Each item: live stock, and Buy when it is this shopper's turn.
  const buyOpen = phase === "admitted";
  for (const item of dom.items) {
    const left = m.remaining[item.sku] ?? 0;
    setText(item.remaining, formatCount(left));
    setAttr(item.buyRow, "data-open", String(buyOpen && left > 0));
    setText(
      item.note,
      left <= 0 ? "Sold out" : phase === "reserved" ? "Reserved for you above." : "Buy opens when it's your turn.",
    );
    item.buy.disabled = !buyOpen || left <= 0 || m.buying;
    item.qty.disabled = !buyOpen || left <= 0 || m.buying;
    setAttr(item.buy, "aria-busy", String(m.buying && buyOpen));
    setText(item.buy, m.buying ? "Buying…" : "Buy now");
  }

  if (phase !== rs.lastPhase) {
    const previous = rs.lastPhase;
    rs.lastPhase = phase;
    if (previous !== null)
      onPhaseChange(dom, phase, [title, view.detail, message].filter(Boolean).join(". "), isSoldOut(m));
  }
}

function onPhaseChange(dom: Dom, phase: Phase, sentence: string, soldOut: boolean): void {
  if (phase === "sold_out" || phase === "ended" || phase === "cancelled" || (phase === "expired" && !soldOut)) {
    setText(dom.alert, sentence);
  } else if (phase !== "syncing") {
    announce(dom, sentence);
  }
  const active = document.activeElement as HTMLElement | null;
  const lost =
    !active ||
    active === document.body ||
    (active as HTMLButtonElement).disabled ||
    active.closest("[hidden]") !== null ||
    active.offsetParent === null;
  if (phase === "admitted") {
    dom.items.find((i) => !i.buy.disabled)?.buy.focus();
  } else if (lost || phase === "reserved" || phase === "sold_out" || phase === "expired") {
    if (phase === "open") dom.action.focus();
    else dom.title.focus();
  }
}

let pendingAnnouncement: ReturnType<typeof setTimeout> | null = null;
const queuedSentences: string[] = [];

export function announce(dom: Dom, text: string): void {
  // Clearing first makes a repeated sentence speak again; sentences in the same moment
  // are spoken together rather than the later one silently replacing the earlier.
  queuedSentences.push(text);
  dom.announcer.textContent = "";
  if (pendingAnnouncement !== null) clearTimeout(pendingAnnouncement);
  pendingAnnouncement = setTimeout(() => {
    pendingAnnouncement = null;
    dom.announcer.textContent = queuedSentences.splice(0).join(" ");
  }, 50);
}
