/**
 * The live connection: hibernating WebSockets, a few per place, tagged by shopper so a
 * newly admitted position finds its sockets without a scan. Every message is one of the
 * views (views.ts); what a socket remembers across hibernation is its Attachment.
 */
import type { QueueView } from "../../workers/queue/types";
import type { Entrant } from "./model";
import type { QueueRules, TickChange } from "./rules";
import { broadcastView, closedView } from "./views";

/** Open sockets one place may hold (tabs, reloads); a new one beyond this closes the oldest. */
const MAX_SOCKETS_PER_PLACE = 3;
/** A socket's messages are answered at most this often. */
const MESSAGE_INTERVAL_MS = 1_000;
/** How often waiting sockets get a position update (docs/queue.md "Live position"). */
const BROADCAST_EVERY_MS = 5_000;

/** What a socket remembers across hibernation. */
type Attachment = { token: string; shopper: string; position: number | null };

const attachmentOf = (ws: WebSocket) => ws.deserializeAttachment() as Attachment;
const tagOf = (shopper: string) => `s:${shopper}`;

export class QueueSockets {
  private lastBroadcastMs = 0;
  /** When each socket was last answered (memory only: after hibernation the throttle simply restarts). */
  private readonly lastMessageMs = new WeakMap<WebSocket, number>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly rules: QueueRules,
  ) {}

  /** Accepts a socket for `entrant`'s place and sends it the current view. */
  async open(entrant: Entrant, now: number): Promise<Response> {
    const pair = new WebSocketPair();
    const server = pair[1];
    // A few tabs per place, no more: the oldest sockets make way (a reload must not be refused),
    // so one token cannot fill the object's socket limit.
    const open = this.ctx.getWebSockets(tagOf(entrant.shopper));
    for (const old of open.slice(0, Math.max(0, open.length - MAX_SOCKETS_PER_PLACE + 1)))
      try {
        old.close(1008, "too many connections for one place");
      } catch {
        /* already closing */
      }
    this.ctx.acceptWebSocket(server, [tagOf(entrant.shopper)]);
    const attachment: Attachment = { token: entrant.token, shopper: entrant.shopper, position: entrant.position };
    server.serializeAttachment(attachment);
    server.send(JSON.stringify(await this.rules.view(entrant, now)));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Any message is a poll over the socket: the answer is the same view GET returns. At most
   * one answer per socket per MESSAGE_INTERVAL_MS: a chatty client costs no more than a polite one.
   */
  async message(ws: WebSocket): Promise<void> {
    const now = Date.now();
    if (now - (this.lastMessageMs.get(ws) ?? 0) < MESSAGE_INTERVAL_MS) return;
    this.lastMessageMs.set(ws, now);
    try {
      const entrant = this.rules.store.byToken(attachmentOf(ws).token);
      if (entrant) ws.send(JSON.stringify(await this.rules.view(entrant, this.rules.now())));
    } catch (err) {
      // A bad message or a closed socket must not take the whole queue object down.
      console.error("queue socket message failed", err);
    }
  }

  /** A socket that failed is closed and forgotten; the object and every other socket carry on. */
  error(ws: WebSocket, error: unknown): void {
    console.warn("queue socket error", error instanceof Error ? error.message : error);
    try {
      ws.close(1011, "socket error");
    } catch {
      /* already closed */
    }
  }

  close(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      /* already closed */
    }
  }

  /** Sockets opened before their place had a position (random pre-start, or unresolved on a shard) learn it; after the slow lane, every socket. */
  refreshAttachments(moved = false): void {
    for (const ws of this.ctx.getWebSockets()) {
      const a = attachmentOf(ws);
      // Usually only the unplaced can change; the slow lane moves held places too (once, at the start).
      if (a.position !== null && !moved) continue;
      const position = this.rules.store.byToken(a.token)?.position ?? null;
      if (position !== null && position !== a.position) ws.serializeAttachment({ ...a, position });
    }
  }

  /** Tells sockets what a tick changed: everyone on sold out or resumed, else those just admitted; and the periodic update. */
  async follow(change: TickChange, now: number): Promise<void> {
    if (change.soldOutChanged) await this.broadcastAll(now, true);
    else if (change.admittedThrough > change.before)
      await this.notifyAdmitted(change.before, change.admittedThrough, now);
    if (now - this.lastBroadcastMs >= BROADCAST_EVERY_MS) await this.broadcastAll(now, false);
  }

  /** Tells every socket the queue closed and closes it, once. */
  broadcastClosed(): void {
    if (!this.rules.markClosedBroadcast()) return;
    for (const ws of this.ctx.getWebSockets()) {
      this.send(ws, closedView(this.rules, attachmentOf(ws).position));
      try {
        ws.close(1000, "queue closed");
      } catch {
        /* already closing */
      }
    }
  }

  /**
   * Tells the shoppers admitted by this tick, if they have a socket open. Whichever is
   * smaller is walked: the admitted range (by the position index) or the open sockets.
   */
  private async notifyAdmitted(from: number, through: number, now: number): Promise<void> {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    const targets: WebSocket[] = [];
    if (through - from > sockets.length) {
      for (const ws of sockets) {
        const a = attachmentOf(ws);
        if (a.position !== null && a.position > from && a.position <= through) targets.push(ws);
      }
    } else {
      for (const shopper of this.rules.store.shoppersBetween(from, through))
        targets.push(...this.ctx.getWebSockets(tagOf(shopper)));
    }
    for (const ws of targets) {
      const entrant = this.rules.store.byToken(attachmentOf(ws).token);
      if (entrant) this.send(ws, await this.rules.view(entrant, now));
    }
  }

  /**
   * Sends every open socket its state: at once when the sale sells out or stock comes
   * back (`stateChanged`), and every few seconds as the position update.
   */
  private async broadcastAll(now: number, stateChanged: boolean): Promise<void> {
    this.lastBroadcastMs = now;
    const { state } = this.rules;
    for (const ws of this.ctx.getWebSockets()) {
      const a = attachmentOf(ws);
      const admitted = a.position !== null && a.position <= state.meter.admittedThrough;
      if (admitted && !state.soldOut) {
        // Admitted sockets hold their token already; only a resumed sale sends it again.
        const entrant = stateChanged ? this.rules.store.byToken(a.token) : undefined;
        if (entrant) this.send(ws, await this.rules.view(entrant, now));
        continue;
      }
      this.send(ws, broadcastView(this.rules, a.position, now));
    }
  }

  private send(ws: WebSocket, view: QueueView): void {
    try {
      ws.send(JSON.stringify(view));
    } catch (err) {
      console.warn("queue socket send failed", err instanceof Error ? err.message : err);
    }
  }
}
