/**
 * How many runs at once (pure): the CPU count unless asked otherwise, never more than the
 * machine's memory allows at the per-run memory limit, never more than there are items.
 */

/** Memory kept free for the engine, the runner and everything else on the machine. */
export const MEMORY_HEADROOM_FRACTION = 0.2;
export const MEMORY_HEADROOM_MIN_BYTES = 512 * 1024 * 1024;

export interface ConcurrencyInput {
  /** What the caller asked for; undefined means "the CPU count". */
  requested?: number | undefined;
  cpuCount: number;
  totalMemoryBytes: number;
  /** The per-run memory limit (docker) or the expected footprint of a run. */
  memoryBytes: number;
  itemCount: number;
}

export interface ConcurrencyDecision {
  concurrency: number;
  /** The most that memory allows. */
  memoryCap: number;
  /** Set when the request (or the CPU count) was lowered, saying why. */
  note?: string;
}

/** Runs that fit in memory: (total - headroom) / per-run limit, at least one. */
export function memoryCap(totalMemoryBytes: number, memoryBytes: number): number {
  const headroom = Math.max(MEMORY_HEADROOM_MIN_BYTES, totalMemoryBytes * MEMORY_HEADROOM_FRACTION);
  const usable = totalMemoryBytes - headroom;
  return Math.max(1, Math.floor(usable / memoryBytes));
}

export function resolveConcurrency(input: ConcurrencyInput): ConcurrencyDecision {
  const { requested } = input;
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new RangeError(`concurrency must be a positive integer, got ${requested}`);
  }
  const cap = memoryCap(input.totalMemoryBytes, input.memoryBytes);
  const wanted = requested ?? Math.max(1, Math.floor(input.cpuCount));
  let concurrency = Math.min(wanted, cap);
  let note: string | undefined;
  if (concurrency < wanted) {
    const mib = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MiB`;
    note =
      `concurrency lowered from ${wanted} to ${concurrency}: ${mib(input.totalMemoryBytes)} of memory, ` +
      `less headroom, fits ${cap} runs of ${mib(input.memoryBytes)}`;
  }
  concurrency = Math.max(1, Math.min(concurrency, Math.max(1, input.itemCount)));
  return note === undefined ? { concurrency, memoryCap: cap } : { concurrency, memoryCap: cap, note };
}
