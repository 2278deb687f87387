/** What the queue's integration tests share. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads until `done` holds or the time is up, returning the last value read (the caller asserts on it). */
export async function until<T>(work: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await work();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}
