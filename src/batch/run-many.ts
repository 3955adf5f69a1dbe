/**
 * A bounded concurrency pool (pure but for the promises it awaits): at most `concurrency`
 * workers at a time, items started in order, no new start once the signal aborts or a
 * worker throws. A throw stops the pool (it aborts the signal handed to running workers,
 * waits for them, then reports the first error); the caller decides what a throw means.
 */
export interface PoolOptions {
  /** At most this many workers at a time (a positive integer). */
  concurrency: number;
  /** Aborting it stops new starts; it is also passed on to running workers. */
  signal?: AbortSignal;
  /** Told just before an item starts. */
  onStart?: (index: number) => void;
}

export interface PoolOutcome<R> {
  /** One slot per item, in input order; undefined for items that never finished. */
  results: Array<R | undefined>;
  /** Indices of items that were started (finished or not). */
  started: Set<number>;
  /** The first error a worker threw, if any (the pool stopped there). */
  error?: { value: unknown; index: number };
}

export async function runPool<T, R>(
  items: readonly T[],
  worker: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  options: PoolOptions,
): Promise<PoolOutcome<R>> {
  const { concurrency } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const results: Array<R | undefined> = new Array<R | undefined>(items.length).fill(undefined);
  const started = new Set<number>();
  // Our own controller: the caller's abort and a worker's throw both stop everything.
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener("abort", onOuterAbort, { once: true });

  let next = 0;
  let error: PoolOutcome<R>["error"];
  const lane = async (): Promise<void> => {
    while (!controller.signal.aborted && next < items.length) {
      const index = next;
      next += 1;
      started.add(index);
      try {
        options.onStart?.(index);
        results[index] = await worker(items[index]!, index, controller.signal);
      } catch (thrown) {
        if (error === undefined) error = { value: thrown, index };
        controller.abort(thrown);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
  }
  return error === undefined ? { results, started } : { results, started, error };
}
