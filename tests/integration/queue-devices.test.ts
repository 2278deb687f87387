/**
 * Devices at the queue's door, through the real stack: look-alike phones all get a
 * place, and what looks automated is counted in the sale's metrics, never refused.
 */
import { describe, expect, it } from "vitest";
import { admin, api, createSale, shopperToken, uniq, until } from "./fixtures";

let address = 0;

async function enter(saleId: string, sub: string, device: { fingerprint: string; id?: string }) {
  return api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
    token: await shopperToken(sub),
    body: { captcha_token: "local", device_fingerprint: device.fingerprint, device_id: device.id },
    headers: { "cf-connecting-ip": `10.77.${Math.floor(++address / 250)}.${address % 250}` },
  });
}

const signals = async (saleId: string) => (await admin(`/sales/${saleId}/metrics`)).body.bot_signals;

describe("devices are a signal, not an identity, at the door", () => {
  it("gives three shoppers on identical phones a place each", async () => {
    const { saleId } = await createSale({ items: [{ sku_id: "ONE", total_stock: 1 }], startInMs: 60_000 });
    const phone = uniq("fp-same-model");
    const answers = [];
    for (const who of ["a", "b", "c"])
      answers.push(await enter(saleId, uniq(who), { fingerprint: phone, id: uniq("id") }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.body.queue_position)).toEqual([1, 2, 3]);
  });

  it("counts one device id used by several accounts as a bot signal, and still queues them all", async () => {
    const { saleId } = await createSale({ items: [{ sku_id: "ONE", total_stock: 1 }], startInMs: 60_000 });
    const id = uniq("shared-id");
    const accounts = [uniq("reuser"), uniq("reuser"), uniq("reuser")];
    const statuses = [];
    for (const sub of accounts) statuses.push((await enter(saleId, sub, { fingerprint: uniq("fp"), id })).status);
    // The same account entering again is not a second signal.
    statuses.push((await enter(saleId, accounts[0]!, { fingerprint: uniq("fp"), id })).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const seen = await until(
      () => signals(saleId),
      (s) => s?.shared_device_ids >= 2,
    );
    expect(seen).toEqual({ shared_device_ids: 2, crowded_fingerprints: 0 });
  });

  it("counts a fingerprint arriving from a crowd of accounts within a minute as a bot signal, refusing none", async () => {
    const { saleId } = await createSale({ items: [{ sku_id: "ONE", total_stock: 1 }], startInMs: 60_000 });
    const phone = uniq("fp-crowd");
    const accounts = Array.from({ length: 22 }, () => uniq("crowd"));
    const statuses = [];
    // DEFAULTS.fingerprintCrowd: the 20th account on one fingerprint within 60 s is the first signal.
    for (const sub of accounts) statuses.push((await enter(saleId, sub, { fingerprint: phone })).status);
    // Accounts are counted, not requests: entering again adds nothing.
    for (const sub of accounts.slice(0, 3)) statuses.push((await enter(saleId, sub, { fingerprint: phone })).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const seen = await until(
      () => signals(saleId),
      (s) => s?.crowded_fingerprints >= 3,
    );
    expect(seen).toEqual({ shared_device_ids: 0, crowded_fingerprints: 3 });
  });
});
