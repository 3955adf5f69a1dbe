import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sanitizeText } from "../../src/batch/escape.js";
import type { BatchSummary } from "../../src/batch/summary.js";
import { runCi } from "../../src/cli/commands/ci.js";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import { parseExperimentResult } from "../../src/schemas.js";
import { writeMixedBatch, type MixedBatch } from "../support/batch-scripts.js";
import { captureIo } from "../support/command-io.js";
import { containersOfThisProcess } from "../support/env.js";
import { parseJunit } from "../support/junit-xml.js";

let dir: string;
let batch: MixedBatch;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ci-docker-"));
  batch = await writeMixedBatch(join(dir, "scripts"));
});
afterAll(async () => {
  const left = await containersOfThisProcess();
  if (left.length > 0) console.error(`containers left: ${left.map((c) => c.Id.slice(0, 12)).join(", ")}`);
  await rm(dir, { recursive: true, force: true });
});

describe("experiment-sandbox ci (docker isolation)", () => {
  it("runs 20 scripts at concurrency 2 and writes JUnit, JSONL, JSON and Markdown reports", async () => {
    const out = join(dir, "out");
    const stepSummary = join(dir, "step-summary.md");
    await writeFile(stepSummary, "# earlier step\n");
    const io = captureIo();
    const code = await runCi([batch.dir, "--isolation", "docker", "--concurrency", "2", "--timeout", "2", "--out", out], io, {
      env: { GITHUB_STEP_SUMMARY: stepSummary },
    });
    const stdout = io.stdout.join("\n");
    expect(code, stdout).toBe(1);
    expect(io.stderr.join("\n")).toContain("20 experiments, docker isolation, concurrency 2");
    expect(io.stdout.filter((line) => /^\[\s*\d+\/20\] /.test(line))).toHaveLength(20);
    expect(await containersOfThisProcess()).toEqual([]);

    // JUnit: well-formed, a testcase per script, the failures counted and explained.
    const junit = parseJunit(await readFile(join(out, "junit.xml"), "utf8"));
    expect(junit.tests).toBe(20);
    expect(junit.testcases).toHaveLength(20);
    expect(junit.failures).toBe(batch.failures.length);
    const failedCases = junit.testcases.filter((testcase) => testcase.failure !== undefined);
    expect(failedCases.map((testcase) => testcase.name).sort()).toEqual([...batch.failures].sort());
    expect(failedCases.filter((testcase) => testcase.failure!.type === "timeout").map((testcase) => testcase.name).sort()).toEqual(batch.timeouts);
    expect(junit.testcases.find((testcase) => testcase.name === "fail_reported_failure")!.failure!.message).toBe("Model did not converge");
    expect(junit.testcases.find((testcase) => testcase.name === "hang_a")!.failure!.message).toBe("Experiment timed out after 2 seconds");
    expect(junit.testcases.find((testcase) => testcase.name === "pass_00")!.systemOut).toContain("training...");
    expect(junit.skipped).toBe(0);

    // JSONL: every result, valid, as the runner made it; the JUnit messages are their errorMessages.
    const lines = (await readFile(join(out, "results.jsonl"), "utf8")).trim().split("\n");
    const results = lines.map((line) => parseExperimentResult(JSON.parse(line)));
    expect(results).toHaveLength(20);
    for (const result of results.filter((r) => !r.success)) {
      const testcase = junit.testcases.find((t) => t.name === result.experimentName)!;
      expect(testcase.failure!.message).toBe(sanitizeText(result.errorMessage!));
    }

    // The leaderboard: by f1, best first, in the JSON and the Markdown summaries.
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(summary.counts).toEqual({ total: 20, passed: 12, failed: 8, timedOut: 3, cancelled: 0, notRun: 0 });
    expect(summary.leaderboard.metric).toEqual({ name: "f1", direction: "higher" });
    expect(summary.leaderboard.rows.map((row) => row.experimentName)).toEqual(batch.leaderboard);
    const markdown = await readFile(join(out, "summary.md"), "utf8");
    const boardRows = markdown.split("### Leaderboard")[1]!.split("###")[0]!.split("\n").filter((line) => /^\| \d/.test(line));
    expect(boardRows.map((row) => row.split("|")[2]!.trim().replace(/\\_/g, "_"))).toEqual(batch.leaderboard);
    expect(await readFile(stepSummary, "utf8")).toBe(`# earlier step\n${markdown}\n`);
    expect(stdout).toContain("20 experiments: 12 passed, 8 failed (3 timed out)");
    // Control characters and colour codes a script printed do not reach the XML raw.
    expect(junit.testcases.find((testcase) => testcase.name === "fail_exit_2")!.failure!.message).toBe("Script exited with code 2: no data <&> \\u0001");
  });

  it("stops on broken machinery (no such image): exit 2 via the error, reports still written", async () => {
    const out = join(dir, "out-broken");
    const io = captureIo();
    await expect(
      runCi([join(batch.dir, "pass_0*.py"), "--isolation", "docker", "--image", "experiment-sandbox/absent:0", "--out", out], io, { env: {} }),
    ).rejects.toMatchObject({ code: "IMAGE_MISSING" });
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(summary.error).toMatch(/No image experiment-sandbox\/absent:0/);
    expect(summary.counts.notRun).toBe(summary.counts.total);
    expect(parseJunit(await readFile(join(out, "junit.xml"), "utf8")).skipped).toBe(summary.counts.total);
    expect(await readFile(join(out, "summary.md"), "utf8")).toContain("**Stopped by an error**");
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it("runMany gives a failed result for a missing script and leaves no container", async () => {
    const runner = new ExperimentRunner({ isolation: "docker", timeout: 2 });
    try {
      const results = await runner.runMany(
        [
          { scriptPath: join(batch.dir, "pass_01.py"), spec: { experimentName: "ok", hypothesis: "", modelType: "script" } },
          { scriptPath: join(batch.dir, "absent.py"), spec: { experimentName: "absent", hypothesis: "", modelType: "script" } },
        ],
        { concurrency: 2 },
      );
      expect(results.map((result) => [result.experimentName, result.success])).toEqual([
        ["ok", true],
        ["absent", false],
      ]);
      expect(results[0]!.metrics.f1).toBe(0.93);
      expect(results[1]!.errorMessage).toMatch(/Script not found/);
    } finally {
      await runner.close();
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });
});
