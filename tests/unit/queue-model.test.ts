/**
 * The model test of tests/node/queue-model.test.ts again, on the store the object really
 * uses: SQLite inside a Durable Object. The two stores must keep the same rules.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SqliteQueueStore } from "../../durable-objects/queue/sqlite-store";
import { queueStub } from "../../workers/queue/client";
import { checkQueueAgainstModel, RULES_TO_REACH } from "../node/queue-model";

describe("the queue's rules on the object's SQLite, against a model", () => {
  it("agree with the model after every step of random entries, re-entries, ticks, stock changes, polls and a cancel", async () => {
    const stub = queueStub(env, `model-${crypto.randomUUID()}`);
    const reached = await runInDurableObject(stub, (_queue, state) =>
      checkQueueAgainstModel(() => {
        // Every run starts from an empty store: the tables are made again by the store.
        state.storage.sql.exec(
          "DROP TABLE IF EXISTS kv; DROP TABLE IF EXISTS entrants; DROP TABLE IF EXISTS admissions",
        );
        return new SqliteQueueStore(state.storage);
      }, 150),
    );
    expect([...reached].sort()).toEqual([...RULES_TO_REACH].sort());
  }, 120_000);
});
