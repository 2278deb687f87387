/**
 * A local server that speaks Upstash's Redis REST protocol in front of a real Redis, so
 * the Worker's own `@upstash/redis` client runs unchanged on one machine.
 *
 *   POST /            one command, body ["SET", "k", "v"]        -> { result } | { error }
 *   POST /pipeline    body [[...], [...]]                         -> [{ result } | { error }, ...]
 *   POST /multi-exec  body [[...], [...]], run as MULTI/EXEC      -> [{ result } | { error }, ...]
 *
 * With `Upstash-Encoding: base64` every string in a result is base64 of its bytes (the
 * client decodes them), except the status reply "OK", which Upstash sends as is. Errors
 * come back with status 400 and Redis's own message, which is what the client's
 * EVALSHA-to-EVAL fallback looks for ("NOSCRIPT ...").
 *
 * Like Upstash, every answer carries an `upstash-sync-token` header, which the client
 * sends back with its next request (read-your-writes). One Redis behind the bridge has no
 * replica to wait for, so the token is only counted, never waited on.
 *
 * Local tooling only: nothing under workers/ imports this file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Command, Redis as IORedis } from "ioredis";

export type UpstashBridgeOptions = {
  redisUrl: string;
  token: string;
  port: number;
  host?: string;
};

export type UpstashBridge = {
  url: string;
  port: number;
  /** Fault injection for tests: while unavailable, requests are dropped unanswered, like a dead host. */
  setAvailable(available: boolean): void;
  close(): Promise<void>;
};

type Reply = { result: unknown } | { error: string };

class BadRequest extends Error {}

/**
 * A command whose reply reaches us as Redis sent it: bytes, not strings, and none of
 * ioredis's reshaping (it turns HGETALL into an object, for one), because Upstash
 * answers with Redis's own reply shape and the client parses that.
 */
class RawCommand extends Command {
  constructor(cmd: BridgeCommand) {
    const [name, ...args] = cmd;
    super(String(name), args, { replyEncoding: null });
  }
  // The base type promises strings or buffers; a raw reply may also nest arrays and numbers.
  override transformReply(result: Buffer | Buffer[]): any {
    return result;
  }
}
type BridgeCommand = (string | number)[];

function encodeResult(value: unknown, base64: boolean, topLevel = true): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (Buffer.isBuffer(value)) {
    if (!base64) return value.toString("utf8");
    // Upstash leaves a top-level "OK" readable and the client passes it through; inside
    // an array the client decodes every string, so there "OK" must be encoded too.
    return topLevel && value.toString("latin1") === "OK" ? "OK" : value.toString("base64");
  }
  if (typeof value === "string")
    return base64 && !(topLevel && value === "OK") ? Buffer.from(value).toString("base64") : value;
  if (Array.isArray(value)) return value.map((v) => encodeResult(v, base64, false));
  if (value instanceof Error) return value.message;
  return value;
}

function parseCommand(raw: unknown): BridgeCommand {
  if (!Array.isArray(raw) || raw.length === 0) throw new BadRequest("ERR command must be a non-empty JSON array");
  return raw.map((part) => {
    if (typeof part === "string" || typeof part === "number") return part;
    if (typeof part === "boolean") return part ? "true" : "false";
    // The client JSON-encodes objects itself; anything else here is malformed.
    throw new BadRequest("ERR command arguments must be strings or numbers");
  });
}

function parseCommands(raw: unknown): BridgeCommand[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new BadRequest("ERR pipeline body must be a non-empty array of commands");
  return raw.map(parseCommand);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest("ERR failed to parse command: body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  // One connection, many commands in flight on it (RESP pipelining): concurrent HTTP
  // requests share a TCP stream to Redis, so the bridge is never the bottleneck of a
  // local load test. (ioredis's auto-pipelining mangles `callBuffer`, so it stays off.)
  const redis = new IORedis(options.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    lazyConnect: true,
  });
  redis.on("error", () => {
    /* surfaced per request as a command error */
  });
  await redis.connect();

  const runOne = async (cmd: BridgeCommand, base64: boolean): Promise<Reply> => {
    try {
      const value = await redis.sendCommand(new RawCommand(cmd));
      return { result: encodeResult(value, base64) };
    } catch (err) {
      return { error: errorMessage(err) };
    }
  };

  const runMulti = async (cmds: BridgeCommand[], base64: boolean): Promise<Reply[] | { error: string }> => {
    const tx = redis.multi();
    // A MULTI pipeline queues raw commands like the connection does; its typings omit it.
    const queue = tx as unknown as { sendCommand(command: Command): unknown };
    for (const cmd of cmds) queue.sendCommand(new RawCommand(cmd));
    try {
      const results = (await tx.exec()) ?? [];
      return results.map(([err, value]) =>
        err ? { error: errorMessage(err) } : { result: encodeResult(value, base64) },
      );
    } catch (err) {
      // EXECABORT: a command was refused while queueing, so nothing ran.
      return { error: errorMessage(err) };
    }
  };

  let available = true;
  let syncToken = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!available) {
      req.socket.destroy();
      return;
    }
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${options.token}`) {
      send(res, 401, { error: "Unauthorized" });
      return;
    }
    if (req.method !== "POST") {
      send(res, 405, { error: "ERR only POST is supported by the local bridge" });
      return;
    }
    res.setHeader("upstash-sync-token", String(++syncToken));
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
    try {
      const body = await readJson(req);
      if (path === "/") {
        const reply = await runOne(parseCommand(body), base64);
        send(res, "error" in reply ? 400 : 200, reply);
      } else if (path === "/pipeline") {
        send(res, 200, await Promise.all(parseCommands(body).map((cmd) => runOne(cmd, base64))));
      } else if (path === "/multi-exec") {
        const reply = await runMulti(parseCommands(body), base64);
        send(res, Array.isArray(reply) ? 200 : 400, reply);
      } else {
        send(res, 404, { error: `ERR unknown endpoint ${path}` });
      }
    } catch (err) {
      send(res, 400, { error: errorMessage(err) });
    }
  };

  const server: Server = createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch((err) => send(res, 500, { error: errorMessage(err) }));
  });
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    setAvailable(next) {
      available = next;
      if (!next) server.closeAllConnections();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
