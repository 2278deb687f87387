import { DurableObject } from "cloudflare:workers";

/**
 * One per sale: the FIFO admission queue and the issuer of admission tokens.
 */
export class SaleQueue extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
