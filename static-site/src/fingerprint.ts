/**
 * The device fingerprint sent at queue entry (docs/purchase.md "Invariants": one purchase per device per sale).
 * Built from stable traits of the browser and screen, hashed so nothing readable leaves
 * the device. It is one bot signal among several, not an identity.
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
