import { describe, expect, it } from "vitest";
import { runPool } from "../../../src/batch/run-many.js";

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("runPool", () => {
  it("keeps input order and never runs more than `concurrency` at once", async () => {
    let running = 0;
    let most = 0;
    const items = [30, 5, 20, 1, 10, 15, 2, 8];
    const { results, started, error } = await runPool(
      items,
      async (ms, index) => {
        running += 1;
        most = Math.max(most, running);
        await tick(ms);
        running -= 1;
        return `${index}:${ms}`;
      },
      { concurrency: 3 },
    );
    expect(error).toBeUndefined();
    expect(most).toBe(3);
    expect(results).toEqual(items.map((ms, index) => `${index}:${ms}`));
    expect(started.size).toBe(items.length);
  });

  it("starts items in order and says so through onStart", async () => {
    const order: number[] = [];
    await runPool([1, 2, 3, 4], async (value) => value, { concurrency: 2, onStart: (index) => order.push(index) });
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("stops starting once the signal aborts and passes the abort on to running workers", async () => {
    const controller = new AbortController();
    const seen: boolean[] = [];
    const outcome = await runPool(
      Array.from({ length: 10 }, (_, index) => index),
      async (index, _i, signal) => {
        if (index === 2) controller.abort("SIGINT");
        await tick(5);
        seen.push(signal.aborted);
        return index;
      },
      { concurrency: 2, signal: controller.signal },
    );
    expect(outcome.error).toBeUndefined();
    expect([...outcome.started].sort()).toEqual([0, 1, 2]);
    expect(outcome.results.slice(3)).toEqual(Array(7).fill(undefined));
    expect(seen.at(-1)).toBe(true);
  });

  it("starts nothing when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await runPool([1, 2], async (value) => value, { concurrency: 2, signal: controller.signal });
    expect(outcome.started.size).toBe(0);
    expect(outcome.results).toEqual([undefined, undefined]);
  });

  it("stops on a worker's throw, waits for the others, and reports the first error", async () => {
    let finishedOther = false;
    const outcome = await runPool(
      [0, 1, 2, 3, 4],
      async (index, _i, signal) => {
        if (index === 0) throw new Error("engine gone");
        await tick(10);
        finishedOther = signal.aborted;
        return index;
      },
      { concurrency: 2 },
    );
    expect(outcome.error?.index).toBe(0);
    expect((outcome.error?.value as Error).message).toBe("engine gone");
    expect(finishedOther).toBe(true);
    expect(outcome.results[1]).toBe(1);
    expect(outcome.started.has(4)).toBe(false);
  });

  it("handles an empty batch and rejects a bad concurrency", async () => {
    expect((await runPool([], async () => 1, { concurrency: 4 })).results).toEqual([]);
    await expect(runPool([1], async () => 1, { concurrency: 0 })).rejects.toThrow(RangeError);
    await expect(runPool([1], async () => 1, { concurrency: 1.5 })).rejects.toThrow(RangeError);
  });
});
