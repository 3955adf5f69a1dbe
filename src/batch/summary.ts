import type { ExperimentResult } from "../schemas.js";
import { buildLeaderboard, type Leaderboard, type PrimaryMetric } from "./leaderboard.js";

/**
 * What a batch produced, in the shape every report reads (pure): one record per item, its
 * status, the counts and the leaderboard.
 */
export type RunStatus = "passed" | "failed" | "timed-out" | "cancelled" | "not-run";

export interface BatchRecord {
  /** Position in the batch. */
  index: number;
  result: ExperimentResult;
  /** False for an item that never started (the batch was stopped first). */
  started: boolean;
}

export function statusOf(record: BatchRecord): RunStatus {
  const { result } = record;
  if (!record.started) return "not-run";
  if (result.success) return "passed";
  if (result.cancelled) return "cancelled";
  if (result.timedOut) return "timed-out";
  return "failed";
}

/** Failed for --fail-on and JUnit: it ran to an end and did not succeed (timeouts included). */
export function isFailure(status: RunStatus): boolean {
  return status === "failed" || status === "timed-out";
}

export interface BatchCounts {
  total: number;
  passed: number;
  /** Failed runs, timeouts included. */
  failed: number;
  timedOut: number;
  cancelled: number;
  notRun: number;
}

export function countRecords(records: readonly BatchRecord[]): BatchCounts {
  const counts: BatchCounts = { total: records.length, passed: 0, failed: 0, timedOut: 0, cancelled: 0, notRun: 0 };
  for (const record of records) {
    const status = statusOf(record);
    if (status === "passed") counts.passed += 1;
    else if (status === "cancelled") counts.cancelled += 1;
    else if (status === "not-run") counts.notRun += 1;
    else {
      counts.failed += 1;
      if (status === "timed-out") counts.timedOut += 1;
    }
  }
  return counts;
}

export interface BatchSummary {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** The signal that stopped the batch, or null when it ran to the end. */
  interrupted: string | null;
  /** Set when broken machinery stopped the batch. */
  error: string | null;
  isolation: "docker" | "subprocess";
  concurrency: number;
  counts: BatchCounts;
  leaderboard: Leaderboard;
  /** Every record, in batch order, with its status. */
  results: Array<ExperimentResult & { status: RunStatus }>;
}

export interface SummaryContext {
  startedAt: Date;
  finishedAt: Date;
  interrupted: string | null;
  error: string | null;
  isolation: "docker" | "subprocess";
  concurrency: number;
  metric: PrimaryMetric | null;
}

export function buildSummary(records: readonly BatchRecord[], context: SummaryContext): BatchSummary {
  return {
    startedAt: context.startedAt.toISOString(),
    finishedAt: context.finishedAt.toISOString(),
    durationSeconds: Math.round(context.finishedAt.getTime() - context.startedAt.getTime()) / 1000,
    interrupted: context.interrupted,
    error: context.error,
    isolation: context.isolation,
    concurrency: context.concurrency,
    counts: countRecords(records),
    leaderboard: buildLeaderboard(records, context.metric),
    results: records.map((record) => ({ ...record.result, status: statusOf(record) })),
  };
}

export type FailOn = "any" | "all" | "none";

/** The exit code of a finished batch: any (default) 1 if a run failed, all 1 only if every run failed, none 0. */
export function exitCodeFor(counts: BatchCounts, failOn: FailOn): 0 | 1 {
  if (failOn === "none") return 0;
  if (failOn === "all") return counts.total > 0 && counts.failed === counts.total ? 1 : 0;
  return counts.failed > 0 ? 1 : 0;
}
