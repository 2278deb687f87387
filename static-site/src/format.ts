/**
 * How times, money and waits read to a person. Pure functions: the page and the
 * build's pre-rendering share them, and unit tests pin them down.
 */

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Whole days, hours, minutes and seconds left, rounded up: a display says 1 second
 * until the very instant the sale opens, never 0 early.
 */
function split(ms: number) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return {
    total,
    days: Math.floor(total / 86_400),
    h: Math.floor((total % 86_400) / 3_600),
    m: Math.floor((total % 3_600) / 60),
    s: total % 60,
  };
}

/**
 * A countdown as H:MM:SS (or D days H:MM:SS), always the same width for the same unit
 * count so the digits never push the layout around. Negative or zero reads 0:00:00.
 */
export function formatCountdown(ms: number): string {
  const { days, h, m, s } = split(ms);
  const clock = `${pad(h)}:${pad(m)}:${pad(s)}`;
  return days > 0 ? `${days}d ${clock}` : clock;
}

/** A short countdown for deadlines under an hour or so: M:SS. */
export function formatMinutesSeconds(ms: number): string {
  const { total } = split(ms);
  return `${Math.floor(total / 60)}:${pad(total % 60)}`;
}

/** Words for a screen reader or a sentence: "2 minutes 5 seconds", "45 seconds". */
export function describeDuration(ms: number): string {
  const { days, h, m, s } = split(ms);
  const parts: string[] = [];
  const unit = (n: number, word: string) => parts.push(`${n} ${word}${n === 1 ? "" : "s"}`);
  if (days) unit(days, "day");
  if (h) unit(h, "hour");
  if (m && days === 0) unit(m, "minute");
  if (s && days === 0 && h === 0) unit(s, "second");
  return parts.length ? parts.join(" ") : "0 seconds";
}

/**
 * An honest, coarse estimate of a queue wait. Precise seconds would promise more than a
 * queue can keep, so it rounds to what a person plans around.
 */
export function describeWait(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "a moment";
  if (seconds <= 5) return "a few seconds";
  if (seconds < 60) return `about ${Math.ceil(seconds / 5) * 5} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  return `about ${hours} hour${hours === 1 ? "" : "s"}`;
}

/** A number with thousands separators, locale-independent so pre-rendered and live text match. */
export function formatCount(n: number): string {
  return String(Math.max(0, Math.trunc(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "1st", "2nd", "12,345th": queue positions read as places in a line. */
export function formatOrdinal(n: number): string {
  const v = Math.trunc(n);
  const mod100 = v % 100;
  const suffix =
    mod100 >= 11 && mod100 <= 13 ? "th" : (({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[v % 10] ?? "th");
  return `${formatCount(v)}${suffix}`;
}

const CURRENCY_SYMBOLS: Record<string, string> = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", INR: "₹", CNY: "¥" };

/**
 * Money arrives as a decimal string ("499.00", docs/api.md "Errors and formats"); it is shown as given, never
 * through floating point, so the page cannot display a price the shop did not set.
 */
export function formatMoney(amount: string, currency: string): string {
  const [whole = "0", cents = "00"] = amount.trim().split(".");
  const grouped = whole.replace(
    /^(-?)(\d+)$/,
    (_all, sign: string, digits: string) => sign + formatCount(Number(digits)),
  );
  const body = `${grouped}.${cents.padEnd(2, "0").slice(0, 2)}`;
  const symbol = CURRENCY_SYMBOLS[currency];
  return symbol ? `${symbol}${body}` : `${body} ${currency}`;
}

/** Whole percent off, from decimal strings; 0 when there is no saving to claim. */
export function percentOff(flashPrice: string, originalPrice: string): number {
  const cents = (s: string) => {
    const [w = "0", f = "00"] = s.trim().split(".");
    return Number(w) * 100 + Number(f.padEnd(2, "0").slice(0, 2));
  };
  const flash = cents(flashPrice);
  const original = cents(originalPrice);
  if (!(original > 0) || !(flash < original)) return 0;
  return Math.floor(((original - flash) / original) * 100);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The start time in UTC for the pre-rendered HTML: the build cannot know the reader's
 * time zone, and a fixed format means the same bytes for every visitor (cacheable).
 */
export function formatUtc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}
