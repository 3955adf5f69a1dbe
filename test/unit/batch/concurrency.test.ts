import { describe, expect, it } from "vitest";
import { memoryCap, resolveConcurrency } from "../../../src/batch/concurrency.js";

const GiB = 1024 * 1024 * 1024;

describe("resolveConcurrency", () => {
  it("defaults to the CPU count", () => {
    expect(resolveConcurrency({ cpuCount: 4, totalMemoryBytes: 64 * GiB, memoryBytes: GiB, itemCount: 100 })).toEqual({
      concurrency: 4,
      memoryCap: 51,
    });
  });

  it("never exceeds what memory allows at the per-run limit, leaving headroom", () => {
    // 8 GiB less 20 % headroom = 6.4 GiB: three runs of 2 GiB.
    const decision = resolveConcurrency({ cpuCount: 16, totalMemoryBytes: 8 * GiB, memoryBytes: 2 * GiB, itemCount: 100 });
    expect(decision.concurrency).toBe(3);
    expect(decision.note).toMatch(/lowered from 16 to 3/);
    const asked = resolveConcurrency({ requested: 10, cpuCount: 2, totalMemoryBytes: 8 * GiB, memoryBytes: 2 * GiB, itemCount: 100 });
    expect(asked.concurrency).toBe(3);
  });

  it("honours a request within the limits, also above the CPU count", () => {
    expect(resolveConcurrency({ requested: 6, cpuCount: 2, totalMemoryBytes: 64 * GiB, memoryBytes: GiB, itemCount: 100 }).concurrency).toBe(6);
  });

  it("is at least one, and no more than there are items", () => {
    expect(resolveConcurrency({ cpuCount: 8, totalMemoryBytes: GiB, memoryBytes: 4 * GiB, itemCount: 5 }).concurrency).toBe(1);
    expect(resolveConcurrency({ cpuCount: 8, totalMemoryBytes: 64 * GiB, memoryBytes: GiB, itemCount: 3 }).concurrency).toBe(3);
    expect(resolveConcurrency({ cpuCount: 8, totalMemoryBytes: 64 * GiB, memoryBytes: GiB, itemCount: 0 }).concurrency).toBe(1);
  });

  it("keeps at least 512 MiB free on small machines", () => {
    expect(memoryCap(2 * GiB, 512 * 1024 * 1024)).toBe(3);
  });

  it("rejects a request that is not a positive integer", () => {
    expect(() => resolveConcurrency({ requested: 0, cpuCount: 2, totalMemoryBytes: GiB, memoryBytes: GiB, itemCount: 1 })).toThrow(RangeError);
  });
});
