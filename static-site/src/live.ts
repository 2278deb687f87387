/**
 * Live queue updates: the WebSocket on the queue path when it opens, polling the same
 * path when it does not (proxies, old networks) or when it drops. Both deliver the same
 * body (docs/api.md "Shopper routes": queue/{queue_token}), so the page handles one shape.
 */
import type { ApiClient } from "./api";
import { jittered, nextPollDelay, POLL_PACE } from "./backoff";
import type { QueueBody } from "./model";

export type LiveQueue = { stop(): void; pollNow(): void };

const SOCKET_OPEN_TIMEOUT_MS = 4_000;
const MAX_SOCKET_PAUSE_MS = 30_000;
/** The queue closes the oldest of too many sockets for one place with this code: another tab has the socket. */
const CLOSED_FOR_ANOTHER_TAB = 1008;

export function followQueue(
  api: ApiClient,
  queueToken: string,
  onUpdate: (body: QueueBody) => void,
  onTrouble: (status: number | null, retryAfter: string | null) => void,
): LiveQueue {
  let stopped = false;
  let socket: WebSocket | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let pollDelay: number = POLL_PACE.fallback;
  let socketFailures = 0;

  const poll = async () => {
    pollTimer = null;
    if (stopped) return;
    try {
      const a = await api.queue(queueToken);
      if (a.status === 200 && a.body && typeof a.body === "object") {
        const body = a.body as QueueBody;
        // The server paces the poll by the distance to the front.
        pollDelay = nextPollDelay(pollDelay, { ok: true, pollAfterMs: body.poll_after_ms });
        onUpdate(body);
      } else {
        onTrouble(a.status, a.retryAfter);
        pollDelay = nextPollDelay(pollDelay, { ok: false, retryAfterSeconds: Number(a.retryAfter ?? Number.NaN) });
      }
    } catch {
      onTrouble(null, null);
      pollDelay = nextPollDelay(pollDelay, { ok: false });
    }
    if (!stopped && socket === null) pollTimer = setTimeout(poll, jittered(pollDelay));
  };

  const startPolling = () => {
    if (stopped || pollTimer !== null) return;
    pollTimer = setTimeout(poll, 0);
  };

  const connect = () => {
    if (stopped || typeof WebSocket === "undefined") return startPolling();
    let opened = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(api.queueSocketUrl(queueToken));
    } catch {
      return startPolling();
    }
    const openTimer = setTimeout(() => {
      if (!opened) ws.close();
    }, SOCKET_OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      opened = true;
      clearTimeout(openTimer);
      socket = ws;
      socketFailures = 0;
      if (pollTimer !== null) {
        clearTimeout(pollTimer);
        pollTimer = null;
      }
    };
    ws.onmessage = (ev) => {
      try {
        const body = JSON.parse(String(ev.data)) as QueueBody;
        if (body && typeof body === "object") onUpdate(body);
      } catch {
        /* not an update: ignore (keep-alives) */
      }
    };
    ws.onclose = (ev) => {
      clearTimeout(openTimer);
      if (socket === ws) socket = null;
      if (stopped) return;
      socketFailures++;
      // Poll while the socket is down; try the socket again with growing, jittered pauses,
      // and never give up for good. A tab whose socket went to another tab of the same
      // place polls instead, so tabs do not take the socket from each other in turn.
      startPolling();
      if (ev.code === CLOSED_FOR_ANOTHER_TAB) return;
      setTimeout(connect, jittered(Math.min(MAX_SOCKET_PAUSE_MS, 1_000 * 2 ** Math.min(socketFailures, 5))));
    };
  };

  connect();
  // One poll at once: the first answer should not wait for a socket to make up its mind.
  startPolling();

  return {
    stop() {
      stopped = true;
      if (pollTimer !== null) clearTimeout(pollTimer);
      socket?.close();
    },
    pollNow() {
      if (pollTimer !== null) clearTimeout(pollTimer);
      pollTimer = null;
      void poll();
    },
  };
}
