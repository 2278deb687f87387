/**
 * The Neon driver, from Node, pointed at the local WebSocket proxy: the same client and
 * the same wire path the Worker uses, so scripts and tests exercise production code.
 */
import { neonConfig, Pool } from "@neondatabase/serverless";
import { WebSocket } from "ws";

export function useLocalNeonProxy(proxyPort: number): void {
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = () => `127.0.0.1:${proxyPort}/v1`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.pipelineTLS = false;
}

export function createNodePool(databaseUrl: string, max = 4): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, connectionTimeoutMillis: 5_000 });
  pool.on("error", () => undefined);
  return pool;
}
