/**
 * What the page says about its device at queue entry (docs/api.md "Shopper routes", enter-queue).
 *
 * The fingerprint is a hash of stable traits of the browser and screen, so nothing
 * readable leaves the device. Every phone of the same model and settings has the same
 * one: it is a bot signal, never an identity. The device id is this browser's own
 * random id, made once and kept; the one-purchase-per-device rule keys on it.
 */
export async function deviceFingerprint(): Promise<string> {
  const n = navigator as Navigator & { deviceMemory?: number };
  const traits = [
    n.userAgent,
    n.language,
    (n.languages ?? []).join(","),
    n.hardwareConcurrency,
    n.deviceMemory ?? "",
    n.maxTouchPoints,
    `${screen.width}x${screen.height}x${screen.colorDepth}`,
    window.devicePixelRatio,
    Intl.DateTimeFormat().resolvedOptions().timeZone,
  ].join("|");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(traits));
  return Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

const DEVICE_ID_KEY = "flashsale.device";

/** This browser's own random id, created on first use and kept in localStorage. */
export function deviceId(storage: Pick<Storage, "getItem" | "setItem"> | null = safeLocalStorage()): string {
  try {
    const kept = storage?.getItem(DEVICE_ID_KEY);
    if (kept) return kept;
  } catch {
    /* storage blocked: a fresh id for this page view */
  }
  const id = crypto.randomUUID();
  try {
    storage?.setItem(DEVICE_ID_KEY, id);
  } catch {
    /* storage blocked or full: the id still serves this page view */
  }
  return id;
}

function safeLocalStorage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}
