/** The sale's lifecycle (API.md status values). */
export type SaleStatus = "scheduled" | "active" | "sold_out" | "ended" | "cancelled";

/**
 * The status by the server's clock. Only `scheduled` and `cancelled` are ever stored;
 * everything else follows from the clock and the stock, so a status can never lag a
 * missed job. Precedence: an admin's cancel beats the clock, the clock beats the
 * stock (a sold-out sale still ends), and stock that returns (expiry, a shopper's
 * cancel) reopens a sold-out sale. `remaining` is null when the stock is not loaded
 * yet, which can never read as sold out.
 */
export function lifecycleStatus(
  sale: { startMs: number; endMs: number; cancelled: boolean; remaining: number | null },
  nowMs: number,
): SaleStatus {
  if (sale.cancelled) return "cancelled";
  if (nowMs >= sale.endMs) return "ended";
  if (nowMs < sale.startMs) return "scheduled";
  if (sale.remaining !== null && sale.remaining <= 0) return "sold_out";
  return "active";
}
