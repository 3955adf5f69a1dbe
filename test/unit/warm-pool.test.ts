import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { WarmPool, type PoolResource } from "../../src/sandbox/docker/warm-pool.js";

class FakeResource implements PoolResource {
  alive = true;
  destroyed = false;
  private deaths: (() => void)[] = [];
  constructor(readonly readyAt: number, readonly id: number) {}
  onDeath(callback: () => void): void {
    this.deaths.push(callback);
  }
  die(): void {
    this.alive = false;
    for (const callback of this.deaths) callback();
  }
  async destroy(): Promise<void> {
    this.alive = false;
    this.destroyed = true;
  }
}

/** Launches that the test settles by hand. */
function launcher(clock: () => number = Date.now) {
  const pending: { resolve: (resource: FakeResource) => void; reject: (error: Error) => void }[] = [];
  const made: FakeResource[] = [];
  let next = 0;
  return {
    made,
    pending,
    launch: () =>
      new Promise<FakeResource>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    /** Settles the oldest pending launch with a fresh resource. */
    succeed(): FakeResource {
      const resource = new FakeResource(clock(), next++);
      made.push(resource);
      pending.shift()!.resolve(resource);
      return resource;
    },
    fail(message = "no image"): void {
      pending.shift()!.reject(new Error(message));
    },
  };
}

const logger = pino({ level: "silent" });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("WarmPool", () => {
  it("fills to its size, hands out a ready resource and starts its replacement", async () => {
    const fake = launcher();
    const pool = new WarmPool({ size: 2, maxIdleMs: 60_000, launch: fake.launch, logger });
    pool.start();
    expect(fake.pending).toHaveLength(2);
    const first = fake.succeed();
    fake.succeed();
    await tick();
    expect(pool.stats).toEqual({ idle: 2, warming: 0 });
    await expect(pool.whenFull()).resolves.toBeUndefined();
    expect(await pool.acquire()).toBe(first);
    expect(pool.stats).toEqual({ idle: 1, warming: 1 });
    const closed = pool.close();
    fake.succeed(); // the replacement ends warming after close began: destroyed too
    await closed;
    expect(fake.made.filter((item) => item.destroyed)).toHaveLength(2); // all but the one handed out
  });

  it("gives a run the resource on its way when none is ready, and keeps `size` unclaimed", async () => {
    const fake = launcher();
    const pool = new WarmPool({ size: 1, maxIdleMs: 60_000, launch: fake.launch, logger });
    pool.start();
    const acquired = pool.acquire();
    expect(fake.pending).toHaveLength(2); // the claimed one and its replacement
    const resource = fake.succeed();
    expect(await acquired).toBe(resource);
    fake.succeed();
    await tick();
    expect(pool.stats).toEqual({ idle: 1, warming: 0 });
    await pool.close();
  });

  it("gives null (run cold) when launches fail, remembers the error and rejects whenFull", async () => {
    const fake = launcher();
    const pool = new WarmPool({ size: 1, maxIdleMs: 60_000, launch: fake.launch, logger, backoffMs: 10_000 });
    pool.start();
    const full = pool.whenFull();
    const acquired = pool.acquire();
    fake.fail("no image x");
    await expect(full).rejects.toThrow("no image x");
    expect(await acquired).toBeNull();
    fake.fail("no image x"); // the replacement started by the claim
    await tick();
    expect(await pool.acquire()).toBeNull(); // backing off: nothing on its way
    await expect(pool.whenFull()).rejects.toThrow("no image x"); // at once, not after the backoff
    expect(String(pool.lastError)).toContain("no image x");
    await pool.close();
  });

  it("replaces a resource that dies while it waits, and one that gets too old", async () => {
    let now = 1_000_000;
    const fake = launcher(() => now);
    const pool = new WarmPool({ size: 1, maxIdleMs: 40_000, launch: fake.launch, logger, now: () => now });
    pool.start();
    const first = fake.succeed();
    await tick();
    first.die();
    expect(first.destroyed).toBe(true);
    expect(fake.pending).toHaveLength(1);
    fake.succeed();
    await tick();
    now += 35_000; // past 40 s minus the margin (a quarter, at most 15 s)
    const acquired = pool.acquire(); // the stale one is destroyed; the run waits for a fresh one
    expect(fake.made[1]!.destroyed).toBe(true);
    const fresh = fake.succeed();
    expect(await acquired).toBe(fresh);
    const closed = pool.close();
    fake.succeed();
    await closed;
  });

  it("returns a claimed resource to the idle list when the run is cancelled while it warms", async () => {
    const fake = launcher();
    const pool = new WarmPool({ size: 1, maxIdleMs: 60_000, launch: fake.launch, logger });
    pool.start();
    const controller = new AbortController();
    const acquired = pool.acquire(controller.signal);
    controller.abort();
    expect(await acquired).toBeNull();
    const resource = fake.succeed();
    fake.succeed();
    await tick();
    expect(resource.destroyed).toBe(false);
    expect(pool.stats.idle).toBe(1);
    await pool.close();
    expect(fake.made.every((item) => item.destroyed)).toBe(true);
  });

  it("drains on close: idle resources and those still warming are destroyed; close is idempotent", async () => {
    const fake = launcher();
    const pool = new WarmPool({ size: 2, maxIdleMs: 60_000, launch: fake.launch, logger });
    pool.start();
    fake.succeed();
    await tick();
    const closed = pool.close();
    fake.succeed(); // finishes warming after close began
    await closed;
    await pool.close();
    expect(fake.made).toHaveLength(2);
    expect(fake.made.every((item) => item.destroyed)).toBe(true);
    expect(await pool.acquire()).toBeNull();
  });

  it("aborts launches in flight on close instead of waiting for them to warm", async () => {
    let aborted = 0;
    const launch = (signal: AbortSignal): Promise<FakeResource> =>
      new Promise((_resolve, reject) => {
        signal.addEventListener("abort", () => {
          aborted += 1;
          reject(signal.reason as Error);
        });
      });
    const pool = new WarmPool({ size: 2, maxIdleMs: 60_000, launch, logger });
    pool.start();
    await pool.close();
    expect(aborted).toBe(2);
    expect(pool.lastError).toBeUndefined();
  });
});
