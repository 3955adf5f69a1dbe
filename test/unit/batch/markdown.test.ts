import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../../src/batch/markdown.js";
import { buildSummary, type BatchRecord } from "../../../src/batch/summary.js";
import { failed, makeResult, passed, records } from "../../support/results.js";

function summaryOf(batch: BatchRecord[], extra: { interrupted?: string; metric?: "rmse" | "f1" } = {}) {
  const name = extra.metric ?? "f1";
  return buildSummary(batch, {
    startedAt: new Date(0),
    finishedAt: new Date(3500),
    interrupted: extra.interrupted ?? null,
    error: null,
    isolation: "docker",
    concurrency: 2,
    metric: { name, direction: name === "rmse" ? "lower" : "higher" },
  });
}

const tableRows = (markdown: string, heading: string): string[] => {
  const section = markdown.split(heading)[1]!.split("\n###")[0]!;
  return section.split("\n").filter((line) => /^\| \d/.test(line));
};

describe("renderMarkdown", () => {
  it("has the counts and the leaderboard in order", () => {
    const markdown = renderMarkdown(
      summaryOf(records(passed("mid", { f1: 0.7 }), passed("top", { f1: 0.9 }), failed("bad", "boom"), passed("low", { f1: 0.5 }))),
    );
    expect(markdown).toContain("**4 experiments**: 3 passed, 1 failed");
    expect(markdown).toContain("### Leaderboard by f1 (higher is better)");
    expect(tableRows(markdown, "### Leaderboard").map((row) => row.split("|")[2]!.trim())).toEqual(["top", "mid", "low"]);
    expect(markdown).toContain("| bad | failed | boom |");
  });

  it("puts the lowest rmse first", () => {
    const markdown = renderMarkdown(summaryOf(records(passed("a", { rmse: 2.5 }), passed("b", { rmse: 0.5 }), passed("c", { rmse: 1 })), { metric: "rmse" }));
    expect(markdown).toContain("(lower is better)");
    expect(tableRows(markdown, "### Leaderboard").map((row) => row.split("|")[2]!.trim())).toEqual(["b", "c", "a"]);
  });

  it("says when the batch was interrupted and lists what did not run", () => {
    const batch = records(
      passed("a", { f1: 1 }),
      { index: 0, started: false, result: makeResult({ experimentName: "later", success: false, cancelled: true, errorMessage: "Not started" }) },
    );
    const markdown = renderMarkdown(summaryOf(batch, { interrupted: "SIGINT" }));
    expect(markdown).toContain("**Interrupted** by SIGINT");
    expect(markdown).toContain("1 not run");
    expect(markdown).toContain("later (not run)");
  });

  it("cannot be broken or injected into by an errorMessage", () => {
    const markdown = renderMarkdown(summaryOf(records(failed("evil", "a|b\n\n## Owned <script>alert(1)</script>"))));
    const row = markdown.split("\n").find((line) => line.startsWith("| evil"))!;
    expect(row).toBe("| evil | failed | a\\|b \\#\\# Owned &lt;script&gt;alert(1)&lt;/script&gt; |");
    expect(markdown).not.toContain("<script>");
  });

  it("says so when no run reported the metric", () => {
    expect(renderMarkdown(summaryOf(records(failed("x", "boom"))))).toContain("No successful run reported f1.");
  });
});
