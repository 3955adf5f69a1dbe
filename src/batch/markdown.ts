import { markdownCell } from "./escape.js";
import { isFailure, type BatchSummary, type RunStatus } from "./summary.js";

/**
 * The Markdown summary of a batch (pure): a headline with the counts, the leaderboard, the
 * failures with their reasons. Everything a script controls goes through markdownCell, so
 * a hostile errorMessage cannot inject markup into a CI page ($GITHUB_STEP_SUMMARY).
 */

/** Rows shown per table; the JSON summary has them all. */
export const MARKDOWN_MAX_ROWS = 50;

export function formatMetricValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return value.toFixed(4);
}

const STATUS_LABELS: Record<RunStatus, string> = {
  passed: "passed",
  failed: "failed",
  "timed-out": "timed out",
  cancelled: "cancelled",
  "not-run": "not run",
};

function more(shown: number, total: number): string[] {
  return total > shown ? ["", `… and ${total - shown} more (see the JSON summary)`] : [];
}

export function renderMarkdown(summary: BatchSummary, options: { title?: string } = {}): string {
  const { counts, leaderboard } = summary;
  const lines: string[] = [`## ${markdownCell(options.title ?? "experiment-sandbox ci")}`, ""];
  const parts = [`${counts.passed} passed`, `${counts.failed} failed${counts.timedOut > 0 ? ` (${counts.timedOut} timed out)` : ""}`];
  if (counts.cancelled > 0) parts.push(`${counts.cancelled} cancelled`);
  if (counts.notRun > 0) parts.push(`${counts.notRun} not run`);
  lines.push(
    `**${counts.total} experiment${counts.total === 1 ? "" : "s"}**: ${parts.join(", ")} · ` +
      `${summary.isolation} isolation, concurrency ${summary.concurrency} · ${summary.durationSeconds.toFixed(1)} s`,
  );
  if (summary.interrupted !== null) lines.push("", `> **Interrupted** by ${markdownCell(summary.interrupted)}: the results below are partial.`);
  if (summary.error !== null) lines.push("", `> **Stopped by an error**: ${markdownCell(summary.error, 500)}`);

  const metric = leaderboard.metric;
  lines.push("", `### Leaderboard${metric !== null ? ` by ${markdownCell(metric.name)} (${metric.direction} is better)` : ""}`, "");
  if (leaderboard.rows.length === 0) {
    lines.push(metric === null ? "No successful run reported a metric." : `No successful run reported ${markdownCell(metric.name)}.`);
  } else {
    const shown = leaderboard.rows.slice(0, MARKDOWN_MAX_ROWS);
    lines.push(`| # | Experiment | Model | ${markdownCell(metric!.name)} | Time (s) |`, "|---:|---|---|---:|---:|");
    for (const row of shown) {
      lines.push(
        `| ${row.rank} | ${markdownCell(row.experimentName)} | ${markdownCell(row.modelType)} | ${formatMetricValue(row.value)} | ${row.executionTime.toFixed(2)} |`,
      );
    }
    lines.push(...more(shown.length, leaderboard.rows.length));
  }
  if (leaderboard.withoutMetric.length > 0 && metric !== null) {
    const names = leaderboard.withoutMetric.slice(0, MARKDOWN_MAX_ROWS).map((name) => markdownCell(name)).join(", ");
    lines.push("", `Succeeded without ${markdownCell(metric.name)}: ${names}${leaderboard.withoutMetric.length > MARKDOWN_MAX_ROWS ? ", …" : ""}`);
  }

  const failed = summary.results.filter((result) => isFailure(result.status));
  if (failed.length > 0) {
    const shown = failed.slice(0, MARKDOWN_MAX_ROWS);
    lines.push("", `### Failures (${failed.length})`, "", "| Experiment | Status | Reason |", "|---|---|---|");
    for (const result of shown) {
      lines.push(`| ${markdownCell(result.experimentName)} | ${STATUS_LABELS[result.status]} | ${markdownCell(result.errorMessage ?? "")} |`);
    }
    lines.push(...more(shown.length, failed.length));
  }
  const skipped = summary.results.filter((result) => result.status === "cancelled" || result.status === "not-run");
  if (skipped.length > 0) {
    const names = skipped.slice(0, MARKDOWN_MAX_ROWS).map((result) => `${markdownCell(result.experimentName)} (${STATUS_LABELS[result.status]})`);
    lines.push("", `### Cancelled or not run (${skipped.length})`, "", `${names.join(", ")}${skipped.length > MARKDOWN_MAX_ROWS ? ", …" : ""}`);
  }
  lines.push("");
  return lines.join("\n");
}
