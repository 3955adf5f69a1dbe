import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchSummary } from "../../src/batch/summary.js";
import { UsageError } from "../../src/cli/args.js";
import { runCi } from "../../src/cli/commands/ci.js";
import { captureIo } from "../support/command-io.js";
import { PENGUINS, SCRIPTS, testPython } from "../support/env.js";
import { parseJunit } from "../support/junit-xml.js";

let dir: string;
const subprocess = (): string[] => ["--isolation", "subprocess", "--python", testPython(), "--timeout", "60"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ci-subprocess-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("experiment-sandbox ci with a manifest (subprocess isolation)", () => {
  it("generates the specs, runs them and ranks them by f1", async () => {
    const project = join(dir, "project");
    await mkdir(join(project, "data"), { recursive: true });
    await copyFile(PENGUINS, join(project, "data/penguins.csv"));
    await mkdir(join(project, "ci"));
    const manifestPath = join(project, "ci/manifest.json");
    await writeFile(
      manifestPath,
      JSON.stringify({
        defaults: { data: "../data/penguins.csv", target: "species", task: "classification", cvFolds: 2 },
        experiments: [
          { experimentName: "stump", modelType: "DecisionTreeClassifier", modelParams: { max_depth: 1 }, hypothesis: "one split is not enough" },
          { experimentName: "logreg", modelType: "LogisticRegression", modelParams: { max_iter: 500 } },
        ],
      }),
    );
    const out = join(dir, "out-manifest");
    const io = captureIo();
    const code = await runCi([manifestPath, ...subprocess(), "--out", out, "--fail-on", "all"], io, { env: {} });
    expect(code, io.stdout.join("\n")).toBe(0);
    expect((await stat(join(out, "generated/stump/stump.py"))).isFile()).toBe(true);
    expect((await stat(join(out, "generated/logreg/data/penguins.csv"))).isFile()).toBe(true);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(summary.counts.passed).toBe(2);
    expect(summary.leaderboard.metric).toEqual({ name: "f1", direction: "higher" });
    const [first, second] = summary.leaderboard.rows;
    expect(first!.experimentName).toBe("logreg");
    expect(first!.modelType).toBe("LogisticRegression");
    expect(first!.value).toBeGreaterThan(second!.value);
    expect(summary.results.find((result) => result.experimentName === "stump")!.hypothesis).toBe("one split is not enough");
    const junit = parseJunit(await readFile(join(out, "junit.xml"), "utf8"));
    expect(junit.testcases.map((testcase) => [testcase.name, testcase.classname])).toEqual([
      ["stump", "DecisionTreeClassifier"],
      ["logreg", "LogisticRegression"],
    ]);
    expect(Number(junit.testcases[1]!.properties.f1)).toBeCloseTo(first!.value);
  });

  it("ranks by a chosen metric, lower first where lower is better", async () => {
    const scripts = join(dir, "regression");
    await mkdir(scripts);
    for (const [name, rmse] of [["a", 3.5], ["b", 1.25], ["c", 2]] as const) {
      await writeFile(join(scripts, `${name}.py`), `import json\nprint(json.dumps({"success": True, "metrics": {"rmse": ${rmse}, "r2": ${1 / rmse}}}))\n`);
    }
    const out = join(dir, "out-rmse");
    expect(await runCi([scripts, ...subprocess(), "--out", out], captureIo(), { env: {} })).toBe(0);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(summary.leaderboard.metric).toEqual({ name: "rmse", direction: "lower" });
    expect(summary.leaderboard.rows.map((row) => row.experimentName)).toEqual(["b", "c", "a"]);
    await runCi([scripts, ...subprocess(), "--out", out, "--metric", "r2"], captureIo(), { env: {} });
    const byR2 = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(byR2.leaderboard.rows.map((row) => row.experimentName)).toEqual(["b", "c", "a"]);
    await runCi([scripts, ...subprocess(), "--out", out, "--metric", "r2", "--metric-direction", "lower"], captureIo(), { env: {} });
    const reversed = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(reversed.leaderboard.rows.map((row) => row.experimentName)).toEqual(["a", "c", "b"]);
  });
});

describe("experiment-sandbox ci exit codes", () => {
  const mixed = join(SCRIPTS, "{example_success,exit_3}.py");
  const allFailing = join(SCRIPTS, "{exit_3,raises}.py");
  const run = (args: string[]): Promise<number> => runCi([...args, ...subprocess(), "--out", join(dir, "out-codes")], captureIo(), { env: {} });

  it("follow --fail-on", async () => {
    expect(await run([mixed])).toBe(1);
    expect(await run([mixed, "--fail-on", "any"])).toBe(1);
    expect(await run([mixed, "--fail-on", "all"])).toBe(0);
    expect(await run([allFailing, "--fail-on", "all"])).toBe(1);
    expect(await run([allFailing, "--fail-on", "none"])).toBe(0);
  });

  it("write each report where its flag says", async () => {
    const where = join(dir, "custom");
    const code = await runCi(
      [mixed, ...subprocess(), "--out", join(where, "unused"), "--jsonl", join(where, "a/r.jsonl"), "--junit", join(where, "b/j.xml"), "--json", join(where, "c/s.json"), "--summary", join(where, "d/s.md")],
      captureIo(),
      { env: {} },
    );
    expect(code).toBe(1);
    expect((await readFile(join(where, "a/r.jsonl"), "utf8")).trim().split("\n")).toHaveLength(2);
    expect(parseJunit(await readFile(join(where, "b/j.xml"), "utf8")).failures).toBe(1);
    expect((JSON.parse(await readFile(join(where, "c/s.json"), "utf8")) as BatchSummary).counts.total).toBe(2);
    expect(await readFile(join(where, "d/s.md"), "utf8")).toContain("### Failures (1)");
    await expect(stat(join(where, "unused/summary.json"))).rejects.toThrow(/ENOENT/);
  });

  it("are usage errors (2) for bad flags and targets, before anything runs", async () => {
    await expect(run([])).rejects.toBeInstanceOf(UsageError);
    await expect(run([mixed, "--fail-on", "sometimes"])).rejects.toThrow(/--fail-on must be any, all, none/);
    await expect(run([mixed, "--concurrency", "0"])).rejects.toThrow(/--concurrency must be a positive integer/);
    await expect(run([mixed, "--metric-direction", "up"])).rejects.toThrow(/--metric-direction/);
    await expect(run([mixed, "--bogus"])).rejects.toBeInstanceOf(UsageError);
    await expect(run([join(dir, "absent")])).rejects.toMatchObject({ code: "SCRIPT_NOT_FOUND" });
    const bad = join(dir, "bad-manifest.json");
    await writeFile(bad, JSON.stringify({ experiments: [{ modelType: "Ridge" }] }));
    await expect(run([bad])).rejects.toMatchObject({ code: "INVALID_SPEC" });
  });

  it("prints its help", async () => {
    const io = captureIo();
    expect(await runCi(["--help"], io)).toBe(0);
    const help = io.stdout.join("\n");
    for (const flag of ["--concurrency", "--junit", "--json", "--summary", "--jsonl", "--fail-on", "--metric", "--isolation", "--timeout"]) expect(help).toContain(flag);
    expect(help).not.toContain("print exactly one JSON document");
  });
});
