/**
 * Devices at the queue's door, through the real stack: look-alike phones all get a
 * place. What looks automated is counted, never refused: bot-signals.test.ts.
 */
import { describe, expect, it } from "vitest";
import { api, createSale, shopperToken, uniq } from "./fixtures";

let address = 0;

async function enter(saleId: string, sub: string, device: { fingerprint: string; id?: string }) {
  return api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
    token: await shopperToken(sub),
    body: { captcha_token: "local", device_fingerprint: device.fingerprint, device_id: device.id },
    headers: { "cf-connecting-ip": `10.77.${Math.floor(++address / 250)}.${address % 250}` },
  });
}

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
});
