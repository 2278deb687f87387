/** `sale fraud <sale> [--cancel | --order ID…]`: the review after a sale, in words (docs/runbook.md "After the sale"). */
import type { FraudCancel, FraudReport } from "../../workers/orders/fraud";
import { table } from "./format";

export function fraudSummary(r: FraudReport): string {
  const lines = [`Fraud review of sale ${r.sale_id}: ${r.orders_reviewed} orders read at ${r.generated_at}`, ""];
  const section = (title: string, rows: string[][], header: string[]) => {
    if (rows.length === 0) lines.push(`${title}: none`, "");
    else lines.push(`${title}:`, table([header, ...rows]), "");
  };
  section(
    "Addresses shared by accounts (however they were written)",
    r.shared_addresses.map((g) => [g.key, g.accounts.join(" "), String(g.units)]),
    ["address", "accounts", "units"],
  );
  section(
    "Payment methods shared by accounts",
    r.shared_payment_methods.map((g) => [g.key, g.accounts.join(" "), g.other_sales_accounts.join(" ") || "-"]),
    ["payment method", "accounts here", "accounts in other sales"],
  );
  section(
    "Resellers (the per-shopper maximum in sale after sale; for review, not cancelled by default)",
    r.resellers.map((x) => [x.user_id, String(x.sales_at_the_limit)]),
    ["account", "sales at the limit"],
  );
  section(
    "Shoppers flagged as bots at the door or the purchase",
    r.flagged_shoppers.map((f) => [f.user_id, f.rules.join(", "), String(f.order_ids.length)]),
    ["account", "rules", "live orders"],
  );
  section(
    "Orders `--cancel` would cancel (units go back to stock)",
    r.cancellable.map((o) => [o.order_id, o.user_id, o.status, o.reasons.join(", ")]),
    ["order", "account", "status", "why"],
  );
  if (r.cancellable.length > 0) lines.push(`To cancel them: npm run sale -- fraud ${r.sale_id} --cancel`);
  return lines.join("\n").trimEnd();
}

export function fraudCancelSummary(r: FraudCancel & { requested: number }): string {
  const lines = [
    `Cancelled ${r.cancelled.length} of ${r.requested} order(s); ${r.units_returned} unit(s) went back to stock.`,
  ];
  if (r.cancelled.length > 0)
    lines.push(table([["order", "was", "units"], ...r.cancelled.map((o) => [o.order_id, o.was, String(o.units)])]));
  if (r.refused.length > 0)
    lines.push("Not cancelled:", table([["order", "why"], ...r.refused.map((o) => [o.order_id, o.reason])]));
  if (r.outbox_remaining > 0)
    lines.push(`${r.outbox_remaining} order event(s) still wait for Postgres; they are written when it answers.`);
  return lines.join("\n");
}
