import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SaleQueue } from "../../durable-objects/sale-queue";
import worker from "../../workers/index";
import { notifyStockChanged } from "../../workers/queue/client";
import type { QueueView } from "../../workers/queue/types";
import { enterMany, freshQueue, runClock, START, type Stub, setClock, setStock } from "./queue-helpers";

type Live = {
  ws: WebSocket;
  messages: QueueView[];
  next(predicate: (v: QueueView) => boolean, timeoutMs?: number): Promise<QueueView>;
};

function live(ws: WebSocket): Live {
  ws.accept();
  const messages: QueueView[] = [];
  const waiters: Array<() => void> = [];
  ws.addEventListener("message", (event) => {
    messages.push(JSON.parse(event.data as string));
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    ws,
    messages,
    async next(predicate, timeoutMs = 1_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.at(-1))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, left);
        });
      }
    },
  };
}

async function connect(stub: Stub, saleId: string, token: string): Promise<Live> {
  const res = await stub.fetch(`http://queue/api/v1/flash-sale/${saleId}/queue/${token}`, {
    headers: { Upgrade: "websocket" },
  });
  expect(res.status).toBe(101);
  return live(res.webSocket!);
}

describe("live position over WebSocket", () => {
  it("opens through the edge route and sends the same state a poll returns", async () => {
    const { saleId, stub } = await freshQueue();
    const [a] = await enterMany(stub, saleId, 1);
    const res = await worker.fetch(
      new Request(`http://edge/api/v1/flash-sale/${saleId}/queue/${a!.queue_token}`, {
        headers: { Upgrade: "websocket" },
      }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(101);
    const socket = live(res.webSocket!);
    const first = await socket.next(() => true);
    const polled = await stub.poll(a!.queue_token);
    expect(polled.ok && first).toEqual(polled.ok && polled.value);
    // Any message asks again (the polling fallback on the same socket).
    socket.ws.send("?");
    await socket.next((v) => v !== first);
    expect(socket.messages).toHaveLength(2);
  });

  it("brings an admitted shopper the admission token on the tick that admits them, by the alarm", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 1 });
    const [a, b] = await enterMany(stub, saleId, 2);
    const first = await connect(stub, saleId, a!.queue_token);
    const second = await connect(stub, saleId, b!.queue_token);
    await setClock(stub, START + 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const admitted = await first.next((v) => v.state === "admitted");
    expect(admitted.admission_token).toMatch(/^ey/);
    expect(second.messages.some((v) => v.state === "admitted")).toBe(false);
  });

  it("pushes the turn to a shopper the slow lane moved forward, whose socket opened before the start", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    const answers = await enterMany(stub, saleId, 13);
    const human = await connect(stub, saleId, answers[12]!.queue_token);
    // The first 12 were flagged by the door's signals: at the start the human's place 13 becomes 1.
    const flagged = answers.slice(0, 12).map((_, i) => `shopper-${i}`);
    await runInDurableObject(stub, (queue: SaleQueue) => {
      queue.stock = async (_sale, _state, _lapsed, withFlags) => ({
        units: 100,
        decided: 0,
        ...(withFlags ? { flagged } : {}),
      });
    });
    await setClock(stub, START);
    await stub.tick();
    await setClock(stub, START + 1_000);
    await stub.tick();
    const admitted = await human.next((v) => v.state === "admitted");
    expect(admitted.queue_position).toBe(1);
  });

  it("in random mode, pushes the turn to a shopper the slow lane moved forward from the last drawn place", async () => {
    const { saleId, stub } = await freshQueue({ preQueueMode: "random", admissionRatePerSecond: 10 });
    const answers = await enterMany(stub, saleId, 13);
    const reads = { down: true };
    let flagged: string[] = [];
    await runInDurableObject(stub, (queue: SaleQueue) => {
      queue.stock = async (_sale, _state, _lapsed, withFlags) =>
        reads.down ? null : { units: 100, decided: 0, ...(withFlags ? { flagged } : {}) };
    });
    // Redis down at the start: the tick draws and admits nobody; the one drawn last opens a socket there.
    await setClock(stub, START);
    await stub.tick();
    const places = await Promise.all(answers.map((a) => stub.poll(a!.queue_token)));
    const last = places.findIndex((v) => v.ok && v.value.queue_position === 13);
    const human = await connect(stub, saleId, answers[last]!.queue_token);
    expect((await human.next(() => true)).queue_position).toBe(13);
    // Everyone else was flagged by the door's signals: the sort makes the human's 13 a 1.
    flagged = answers.map((_, i) => `shopper-${i}`).filter((_, i) => i !== last);
    reads.down = false;
    await setClock(stub, START + 1_000);
    await stub.tick();
    const admitted = await human.next((v) => v.state === "admitted");
    expect(admitted.queue_position).toBe(1);
  });

  it("tells every connected socket sold_out within 1 s of the last unit selling", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    const answers = await enterMany(stub, saleId, 200);
    const sockets: Live[] = [];
    for (const a of answers) sockets.push(await connect(stub, saleId, a.queue_token));
    await setClock(stub, START);
    await runClock(stub, START, START + 2_000, 500);

    await setStock(stub, 0);
    const soldAt = Date.now();
    await notifyStockChanged(env, saleId);
    await Promise.all(sockets.map((s) => s.next((v) => v.state === "sold_out", 1_000)));
    expect(Date.now() - soldAt).toBeLessThan(1_000);
    for (const s of sockets) s.ws.close();
  }, 30_000);

  it("holds at most 3 sockets per place: a fourth closes the oldest, and the newest still hears", async () => {
    const { saleId, stub } = await freshQueue();
    const [a] = await enterMany(stub, saleId, 1);
    const sockets: Live[] = [];
    const closed: number[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = await connect(stub, saleId, a!.queue_token);
      socket.ws.addEventListener("close", (e) => closed.push(i, (e as CloseEvent).code));
      await socket.next(() => true);
      sockets.push(socket);
    }
    const deadline = Date.now() + 1_000;
    while (closed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual([0, 1008]);
    sockets[3]!.ws.send("?");
    await sockets[3]!.next((v) => v !== sockets[3]!.messages[0], 1_000);
    for (const s of sockets.slice(1)) s.ws.close();
  });

  it("answers a flood of socket messages at most once a second", async () => {
    const { saleId, stub } = await freshQueue();
    const [a] = await enterMany(stub, saleId, 1);
    const socket = await connect(stub, saleId, a!.queue_token);
    await socket.next(() => true);
    for (let i = 0; i < 50; i++) socket.ws.send("?");
    await new Promise((r) => setTimeout(r, 500));
    // The first view on connect, then one answer for the whole burst.
    expect(socket.messages).toHaveLength(2);
    socket.ws.close();
  });

  it("refuses a socket for a token that holds no place", async () => {
    const { saleId, stub } = await freshQueue();
    const res = await stub.fetch(`http://queue/api/v1/flash-sale/${saleId}/queue/c.${crypto.randomUUID()}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(res.status).toBe(404);
  });
});
