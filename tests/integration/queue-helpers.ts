/** What the queue's integration tests share. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads until `done` holds and returns that value; throws with the last value read if the time runs out. */
export async function until<T>(work: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await work();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms; last read: ${JSON.stringify(value).slice(0, 500)}`);
    await sleep(100);
  }
}
