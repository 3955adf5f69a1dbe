import type { TaskType } from "../schemas.js";
import type { BatchRecord } from "./summary.js";

/**
 * The leaderboard (pure): successful runs ranked by one primary metric, direction-aware.
 */
export type MetricDirection = "higher" | "lower";

export interface PrimaryMetric {
  name: string;
  direction: MetricDirection;
}

export interface LeaderboardRow {
  /** 1-based; runs with equal values share a rank. */
  rank: number;
  experimentName: string;
  modelType: string;
  value: number;
  executionTime: number;
  /** Index of the run in the batch. */
  index: number;
}

export interface Leaderboard {
  metric: PrimaryMetric | null;
  rows: LeaderboardRow[];
  /** Successful runs that did not report the metric. */
  withoutMetric: string[];
}

const LOWER_IS_BETTER_TOKENS = new Set(["rmse", "mae", "mse", "rmsle", "msle", "mape", "loss", "logloss"]);

/**
 * Lower is better for rmse, mae, mse, log_loss and names with "error" or "loss"
 * (cv_rmse_mean, mae_original, mean_squared_error, ...); scikit-learn's negated scorers
 * ("neg_...") are higher-is-better. Everything else is higher-is-better.
 */
export function metricDirection(name: string): MetricDirection {
  const lower = name.toLowerCase();
  if (/^neg[_-]/.test(lower)) return "higher";
  if (lower.includes("error") || lower.includes("log_loss")) return "lower";
  const tokens = lower.split(/[^a-z0-9]+/).filter((token) => token !== "");
  return tokens.some((token) => LOWER_IS_BETTER_TOKENS.has(token)) ? "lower" : "higher";
}

/** Default metric per task: f1 (then accuracy) for classification, rmse for regression. */
export const DEFAULT_METRICS: Record<TaskType, readonly string[]> = {
  classification: ["f1", "accuracy"],
  regression: ["rmse"],
};
/** When the task is unknown (a folder of scripts), the first of these that a run reports. */
const FALLBACK_METRICS = ["f1", "accuracy", "rmse", "r2", "mae"];

/**
 * The primary metric: the requested one; else the task's default that some successful run
 * reports; else the fallback list; else the most common metric name; null without metrics.
 */
export function choosePrimaryMetric(
  records: readonly BatchRecord[],
  options: { requested?: string | undefined; direction?: MetricDirection | undefined; tasks?: readonly TaskType[] } = {},
): PrimaryMetric | null {
  const withDirection = (name: string): PrimaryMetric => ({ name, direction: options.direction ?? metricDirection(name) });
  if (options.requested !== undefined) return withDirection(options.requested);
  const counts = new Map<string, number>();
  for (const { result } of records) {
    if (!result.success) continue;
    for (const name of Object.keys(result.metrics)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const taskDefaults = [...new Set(options.tasks ?? [])].flatMap((task) => DEFAULT_METRICS[task]);
  for (const name of [...taskDefaults, ...FALLBACK_METRICS]) if (counts.has(name)) return withDirection(name);
  let best: string | undefined;
  for (const [name, count] of counts) {
    if (best === undefined || count > counts.get(best)! || (count === counts.get(best)! && name < best)) best = name;
  }
  return best === undefined ? null : withDirection(best);
}

/** Ranks successful runs by the metric; ties keep batch order and share a rank. */
export function buildLeaderboard(records: readonly BatchRecord[], metric: PrimaryMetric | null): Leaderboard {
  if (metric === null) {
    return { metric, rows: [], withoutMetric: records.filter((r) => r.result.success).map((r) => r.result.experimentName) };
  }
  const ranked: Omit<LeaderboardRow, "rank">[] = [];
  const withoutMetric: string[] = [];
  for (const record of records) {
    const { result } = record;
    if (!result.success) continue;
    const value = result.metrics[metric.name];
    if (value === undefined || !Number.isFinite(value)) {
      withoutMetric.push(result.experimentName);
      continue;
    }
    ranked.push({
      experimentName: result.experimentName,
      modelType: result.modelType,
      value,
      executionTime: result.executionTime,
      index: record.index,
    });
  }
  const sign = metric.direction === "higher" ? -1 : 1;
  ranked.sort((a, b) => sign * (a.value - b.value) || a.index - b.index);
  const rows: LeaderboardRow[] = [];
  ranked.forEach((row, position) => {
    const previous = rows[position - 1];
    const rank = previous !== undefined && previous.value === row.value ? previous.rank : position + 1;
    rows.push({ rank, ...row });
  });
  return { metric, rows, withoutMetric };
}
