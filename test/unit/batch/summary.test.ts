import { describe, expect, it } from "vitest";
import { buildSummary, countRecords, exitCodeFor, statusOf } from "../../../src/batch/summary.js";
import { failed, makeResult, passed, records } from "../../support/results.js";

const batch = records(
  passed("a", { f1: 0.8 }),
  failed("b", "Script exited with code 3"),
  failed("c", "Experiment timed out after 2 seconds", 0, { timedOut: true }),
  { index: 0, started: true, result: makeResult({ experimentName: "d", success: false, cancelled: true, errorMessage: "Experiment was cancelled" }) },
  { index: 0, started: false, result: makeResult({ experimentName: "e", success: false, cancelled: true, errorMessage: "Not started" }) },
);

describe("batch summary", () => {
  it("gives each record a status", () => {
    expect(batch.map(statusOf)).toEqual(["passed", "failed", "timed-out", "cancelled", "not-run"]);
  });

  it("counts timeouts among the failures", () => {
    expect(countRecords(batch)).toEqual({ total: 5, passed: 1, failed: 2, timedOut: 1, cancelled: 1, notRun: 1 });
  });

  it("maps --fail-on to an exit code", () => {
    const some = countRecords(records(passed("a", {}), failed("b", "x")));
    const all = countRecords(records(failed("a", "x"), failed("b", "y")));
    const none = countRecords(records(passed("a", {})));
    expect([exitCodeFor(some, "any"), exitCodeFor(all, "any"), exitCodeFor(none, "any")]).toEqual([1, 1, 0]);
    expect([exitCodeFor(some, "all"), exitCodeFor(all, "all"), exitCodeFor(none, "all")]).toEqual([0, 1, 0]);
    expect([exitCodeFor(some, "none"), exitCodeFor(all, "none")]).toEqual([0, 0]);
  });

  it("builds a JSON-ready summary with every result and its status", () => {
    const summary = buildSummary(batch, {
      startedAt: new Date("2024-01-01T00:00:00Z"),
      finishedAt: new Date("2024-01-01T00:00:12.5Z"),
      interrupted: "SIGINT",
      error: null,
      isolation: "docker",
      concurrency: 2,
      metric: { name: "f1", direction: "higher" },
    });
    expect(summary.durationSeconds).toBe(12.5);
    expect(summary.results.map((result) => result.status)).toEqual(["passed", "failed", "timed-out", "cancelled", "not-run"]);
    expect(summary.leaderboard.rows.map((row) => row.experimentName)).toEqual(["a"]);
    const json = JSON.parse(JSON.stringify(summary)) as typeof summary;
    expect(json.results[0]!.metrics).toEqual({ f1: 0.8 });
  });
});
