import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";

/** What the pool keeps: a single-use resource that is ready when launched. */
export interface PoolResource {
  /** Still usable (running and waiting). */
  readonly alive: boolean;
  /** Epoch ms when it became ready. */
  readonly readyAt: number;
  /** Called if it dies while it waits. */
  onDeath(callback: () => void): void;
  /** Idempotent. */
  destroy(): Promise<void>;
}

export interface WarmPoolOptions<T extends PoolResource> {
  /** Resources kept ready (or on their way), not counting those handed out. */
  size: number;
  /** A ready resource is retired, and replaced, this long after it became ready, minus a margin. */
  maxIdleMs: number;
  /** Makes one resource; the signal aborts when the pool closes (give up and clean up, then throw). */
  launch: (signal: AbortSignal) => Promise<T>;
  logger: Logger;
  now?: () => number;
  /** First retry delay after a failed launch; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

interface Warming<T> {
  promise: Promise<T>;
  /** A run waiting for this one: it gets it when it is ready, instead of the idle list. */
  claimer?: ((resource: T | null) => void) | undefined;
}

interface Idle<T> {
  resource: T;
  retire: NodeJS.Timeout;
}

/**
 * Keeps `size` single-use resources ready ahead of time. `acquire` hands out a ready one, else
 * claims one that is on its way, else gives null (the caller runs without the pool); each
 * hand-out starts a replacement in the background. Resources are never returned: the caller
 * destroys what it took. Failed launches are retried with backoff; `close` drains everything.
 */
export class WarmPool<T extends PoolResource> {
  private readonly idle: Idle<T>[] = [];
  private readonly warming = new Set<Warming<T>>();
  /** Destructions in flight, so close() can wait for them. */
  private readonly disposing = new Set<Promise<void>>();
  private readonly readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private failures = 0;
  private backoff: NodeJS.Timeout | undefined;
  private closed = false;
  /** Aborted on close, so launches in flight stop early instead of warming for nothing. */
  private readonly closing = new AbortController();
  private lastFailure: unknown;
  private readonly now: () => number;

  constructor(private readonly options: WarmPoolOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  /** Starts filling the pool in the background. */
  start(): void {
    this.fill();
  }

  /** The last launch error, while launches keep failing (undefined once one succeeds). */
  get lastError(): unknown {
    return this.lastFailure;
  }

  get stats(): { idle: number; warming: number } {
    return { idle: this.idle.length, warming: this.warming.size };
  }

  /** A ready resource, or the next one on its way; null when none is coming (closed, failing). */
  async acquire(signal?: AbortSignal): Promise<T | null> {
    if (this.closed) return null;
    for (let entry = this.idle.shift(); entry !== undefined; entry = this.idle.shift()) {
      clearTimeout(entry.retire);
      if (entry.resource.alive && this.fresh(entry.resource)) {
        this.fill();
        return entry.resource;
      }
      this.dispose(entry.resource);
    }
    if (signal?.aborted === true) return null;
    this.fill(); // replaces what was just found dead or stale
    const warming = [...this.warming].find((item) => item.claimer === undefined);
    if (warming === undefined) return null; // failing (backing off)
    return new Promise<T | null>((resolve) => {
      const onAbort = (): void => {
        warming.claimer = undefined; // it joins the idle list when ready
        resolve(null);
      };
      warming.claimer = (resource) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(resource);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.fill();
    });
  }

  /** Resolves when `size` resources are ready; rejects with the launch error when launches fail. */
  whenFull(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.idle.length >= this.options.size) return Promise.resolve();
    // Backing off after a failure: say so now (the retry timer does not keep the process alive).
    if (this.backoff !== undefined) return Promise.reject(this.lastFailure);
    this.fill();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Stops refilling and destroys every resource not handed out. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    clearTimeout(this.backoff);
    for (const entry of this.idle.splice(0)) {
      clearTimeout(entry.retire);
      this.dispose(entry.resource);
    }
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    await Promise.allSettled([...this.warming].map((item) => item.promise));
    while (this.disposing.size > 0) await Promise.allSettled([...this.disposing]);
  }

  private fresh(resource: T): boolean {
    return this.now() - resource.readyAt < this.retireAfterMs();
  }

  /** Retire with a margin, so the worker's own idle deadline never races a hand-out. */
  private retireAfterMs(): number {
    const { maxIdleMs } = this.options;
    return Math.max(0, maxIdleMs - Math.min(15_000, maxIdleMs / 4));
  }

  private fill(): void {
    if (this.closed || this.backoff !== undefined) return;
    const unclaimed = [...this.warming].filter((item) => item.claimer === undefined).length;
    for (let missing = this.options.size - this.idle.length - unclaimed; missing > 0; missing -= 1) this.spawn();
  }

  private spawn(): void {
    const item: Warming<T> = { promise: this.options.launch(this.closing.signal) };
    this.warming.add(item);
    item.promise.then(
      (resource) => {
        this.warming.delete(item);
        this.failures = 0;
        this.lastFailure = undefined;
        const claimer = item.claimer;
        if (this.closed) {
          this.dispose(resource);
          claimer?.(null);
        } else if (claimer !== undefined) claimer(resource);
        else if (this.idle.length >= this.options.size) this.dispose(resource);
        else this.addIdle(resource);
      },
      (error: unknown) => {
        this.warming.delete(item);
        item.claimer?.(null);
        this.failures += 1;
        if (this.closed) {
          item.claimer?.(null);
          return;
        }
        this.lastFailure = error;
        for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
        const base = this.options.backoffMs ?? 1000;
        const delay = Math.min(this.options.maxBackoffMs ?? 30_000, base * 2 ** (this.failures - 1));
        this.options.logger.warn({ err: messageOf(error), retryInMs: delay }, "warm pool: could not launch a container");
        if (this.backoff === undefined) {
          this.backoff = setTimeout(() => {
            this.backoff = undefined;
            this.fill();
          }, delay);
          this.backoff.unref();
        }
      },
    );
  }

  private addIdle(resource: T): void {
    const retire = setTimeout(() => {
      const at = this.idle.findIndex((entry) => entry.resource === resource);
      if (at >= 0) this.idle.splice(at, 1);
      this.dispose(resource);
      this.fill();
    }, Math.max(0, resource.readyAt + this.retireAfterMs() - this.now()));
    retire.unref();
    this.idle.push({ resource, retire });
    resource.onDeath(() => {
      const at = this.idle.findIndex((entry) => entry.resource === resource);
      if (at < 0) return; // handed out meanwhile: its run sees the exit
      clearTimeout(this.idle[at]!.retire);
      this.idle.splice(at, 1);
      this.dispose(resource);
      this.fill();
    });
    if (this.idle.length >= this.options.size) for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
  }

  private dispose(resource: T): void {
    const done = resource.destroy().catch((error: unknown) => {
      this.options.logger.warn({ err: messageOf(error) }, "warm pool: could not destroy a container");
    });
    this.disposing.add(done);
    void done.finally(() => this.disposing.delete(done));
  }
}
