/**
 * The human check at the queue's door: Cloudflare Turnstile, rendered explicitly into
 * the panel's reserved slot. When the build says the server has captcha switched off
 * (local development), or Turnstile's script cannot load (no network to Cloudflare,
 * a blocker), the page still works: it sends a placeholder token and the server decides.
 * A production server refuses the placeholder, and the page says why.
 */
import type { PageConfig } from "./config";

type Turnstile = {
  render(el: HTMLElement, options: Record<string, unknown>): string;
  reset(id?: string): void;
};

const SCRIPT_URL = "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit";
const LOAD_TIMEOUT_MS = 5_000;
export const PLACEHOLDER_OFF = "captcha-off";
export const PLACEHOLDER_UNAVAILABLE = "turnstile-unavailable";

export type Captcha = {
  /** Shows the widget (if any) in the slot; safe to call more than once. */
  show(): void;
  /** A token for enter-queue; waits for the widget when it is still working. */
  token(): Promise<string>;
  /** A token is single-use: ask for a fresh one after a failed entry. */
  reset(): void;
};

let scriptPromise: Promise<Turnstile | null> | null = null;

function loadTurnstile(): Promise<Turnstile | null> {
  scriptPromise ??= new Promise((resolve) => {
    const w = window as unknown as { turnstile?: Turnstile };
    if (w.turnstile) return resolve(w.turnstile);
    const s = document.createElement("script");
    s.src = SCRIPT_URL;
    s.async = true;
    const timer = setTimeout(() => resolve(null), LOAD_TIMEOUT_MS);
    s.onload = () => {
      clearTimeout(timer);
      resolve(w.turnstile ?? null);
    };
    s.onerror = () => {
      clearTimeout(timer);
      resolve(null);
    };
    document.head.append(s);
  });
  return scriptPromise;
}

export function createCaptcha(config: PageConfig["captcha"], slot: HTMLElement): Captcha {
  if (config.mode === "off") {
    return { show() {}, token: async () => PLACEHOLDER_OFF, reset() {} };
  }
  let widgetId: string | null = null;
  let current: string | null = null;
  const waiters: Array<(t: string) => void> = [];
  let unavailable = false;
  const deliver = (t: string) => {
    current = t;
    for (const w of waiters.splice(0)) w(t);
  };
  const show = () => {
    if (widgetId !== null || unavailable) return;
    widgetId = "pending";
    void loadTurnstile().then((ts) => {
      if (!ts) {
        unavailable = true;
        slot.textContent = "The human check couldn't load; you can still try to join.";
        deliver(PLACEHOLDER_UNAVAILABLE);
        return;
      }
      widgetId = ts.render(slot, {
        sitekey: config.sitekey,
        action: "enter-queue",
        callback: (t: string) => deliver(t),
        "expired-callback": () => (current = null),
        "error-callback": () => deliver(PLACEHOLDER_UNAVAILABLE),
      });
    });
  };
  return {
    show,
    token() {
      show();
      if (current) return Promise.resolve(current);
      return new Promise((resolve) => waiters.push(resolve));
    },
    reset() {
      current = null;
      const ts = (window as unknown as { turnstile?: Turnstile }).turnstile;
      if (ts && widgetId && widgetId !== "pending") ts.reset(widgetId);
    },
  };
}
