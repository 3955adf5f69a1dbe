import { describe, expect, it } from "vitest";
import { buildLeaderboard, choosePrimaryMetric, metricDirection } from "../../../src/batch/leaderboard.js";
import { failed, passed, records } from "../../support/results.js";

describe("metricDirection", () => {
  it.each(["rmse", "mae", "mse", "log_loss", "cv_rmse_mean", "mae_original", "mean_squared_error", "ErrorRate", "brier_score_loss", "rmsle"])(
    "lower is better for %s",
    (name) => expect(metricDirection(name)).toBe("lower"),
  );
  it.each(["accuracy", "f1", "r2", "roc_auc", "cv_f1_mean", "precision", "neg_mean_squared_error", "neg_log_loss", "maestro"])(
    "higher is better for %s",
    (name) => expect(metricDirection(name)).toBe("higher"),
  );
});

describe("choosePrimaryMetric", () => {
  const batch = records(passed("a", { accuracy: 0.9, f1: 0.8 }), passed("b", { accuracy: 0.7 }), failed("c", "x"));

  it("takes the requested metric, with its direction unless told", () => {
    expect(choosePrimaryMetric(batch, { requested: "rmse" })).toEqual({ name: "rmse", direction: "lower" });
    expect(choosePrimaryMetric(batch, { requested: "rmse", direction: "higher" })).toEqual({ name: "rmse", direction: "higher" });
  });

  it("defaults to f1, then accuracy, for classification; rmse for regression", () => {
    expect(choosePrimaryMetric(batch, { tasks: ["classification"] })?.name).toBe("f1");
    expect(choosePrimaryMetric(records(passed("a", { accuracy: 0.9 })), { tasks: ["classification"] })?.name).toBe("accuracy");
    expect(choosePrimaryMetric(records(passed("a", { r2: 0.5, rmse: 3 })), { tasks: ["regression"] })).toEqual({ name: "rmse", direction: "lower" });
  });

  it("without a task, picks a known metric a run reports, else the most common one", () => {
    expect(choosePrimaryMetric(records(passed("a", { rmse: 1, r2: 0.3 })))?.name).toBe("rmse");
    expect(choosePrimaryMetric(records(passed("a", { score: 1, loss: 2 }), passed("b", { loss: 1 })))).toEqual({ name: "loss", direction: "lower" });
    expect(choosePrimaryMetric(records(failed("a", "x")))).toBeNull();
  });
});

describe("buildLeaderboard", () => {
  it("ranks successful runs, highest first for a higher-is-better metric", () => {
    const board = buildLeaderboard(
      records(passed("low", { f1: 0.5 }), failed("broken", "boom", 0, { metrics: { f1: 1 } }), passed("high", { f1: 0.9 }), passed("mid", { f1: 0.7 })),
      { name: "f1", direction: "higher" },
    );
    expect(board.rows.map((row) => [row.rank, row.experimentName])).toEqual([
      [1, "high"],
      [2, "mid"],
      [3, "low"],
    ]);
  });

  it("ranks lowest first for a lower-is-better metric, shares ranks on ties, lists runs without the metric", () => {
    const board = buildLeaderboard(
      records(passed("a", { rmse: 3 }), passed("b", { rmse: 1 }), passed("c", { rmse: 2 }), passed("d", { rmse: 1 }), passed("e", { r2: 0.1 })),
      { name: "rmse", direction: "lower" },
    );
    expect(board.rows.map((row) => `${row.rank}:${row.experimentName}`)).toEqual(["1:b", "1:d", "3:c", "4:a"]);
    expect(board.withoutMetric).toEqual(["e"]);
  });
});
