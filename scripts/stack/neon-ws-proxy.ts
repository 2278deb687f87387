/**
 * A WebSocket-to-TCP proxy in front of a real Postgres for `@neondatabase/serverless`
 * in local mode (neonConfig.wsProxy = "127.0.0.1:5433/v1", no TLS, no pipelining). Each
 * WebSocket carries one Postgres connection: binary frames in, bytes out, and back.
 *
 * It only connects to the Postgres it was started for, whatever `address` the client
 * names, so it cannot be used to reach anything else on the machine.
 */
import { createConnection } from "node:net";
import { type RawData, WebSocketServer } from "ws";

export type NeonWsProxyOptions = {
  port: number;
  host?: string;
  postgresHost: string;
  postgresPort: number;
};

export type NeonWsProxy = {
  port: number;
  /** Fault injection for tests: while unavailable, live connections drop and new ones are refused. */
  setAvailable(available: boolean): void;
  close(): Promise<void>;
};

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export async function startNeonWsProxy(options: NeonWsProxyOptions): Promise<NeonWsProxy> {
  const wss = new WebSocketServer({ port: options.port, host: options.host ?? "127.0.0.1", perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", () => resolve());
    wss.once("error", reject);
  });

  let available = true;
  const live = new Set<{ destroy(): void }>();

  wss.on("connection", (ws) => {
    if (!available) {
      ws.close(1013, "postgres unavailable");
      return;
    }
    const socket = createConnection({ host: options.postgresHost, port: options.postgresPort });
    socket.setNoDelay(true);
    const pending: Buffer[] = [];
    let connected = false;

    socket.on("connect", () => {
      connected = true;
      for (const chunk of pending.splice(0)) socket.write(chunk);
    });
    socket.on("data", (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true });
    });
    socket.on("error", () => ws.close(1011, "postgres connection failed"));
    socket.on("close", () => {
      if (ws.readyState === ws.OPEN) ws.close();
    });

    ws.on("message", (data) => {
      const chunk = toBuffer(data);
      if (connected) socket.write(chunk);
      else pending.push(chunk);
    });
    const link = {
      destroy: () => {
        socket.destroy();
        ws.terminate();
      },
    };
    live.add(link);
    ws.on("close", () => {
      live.delete(link);
      socket.destroy();
    });
    ws.on("error", () => socket.destroy());
  });

  const address = wss.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    port,
    setAvailable(next) {
      available = next;
      if (!next) for (const link of live) link.destroy();
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
