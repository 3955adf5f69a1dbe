import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeGenerator } from "../../src/execution/code-generator.js";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import { CLASSIFICATION_MODELS, REGRESSION_MODELS, type ExperimentResult, type ExperimentSpecInput, type TaskType } from "../../src/schemas.js";
import { containersOfThisProcess, FIXTURES, PENGUINS, sharedData, testPython } from "../support/env.js";

const generator = new CodeGenerator();
let outputDir: string;
beforeAll(async () => {
  outputDir = await mkdtemp(join(tmpdir(), "generated-"));
});

async function generate(spec: ExperimentSpecInput, dataPath: string, targetColumn: string, taskType: TaskType): Promise<string> {
  return generator.generate({ spec, dataPath, targetColumn, taskType, outputDir });
}

/** Runs items two at a time (the machine has 2 cores), in order of the input. */
async function runAll<T, R>(items: T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

function row(result: ExperimentResult, dataset: string, keys: string[]): string {
  const cells = keys.map((key) => (result.metrics[key] !== undefined ? result.metrics[key]!.toFixed(3) : "-"));
  return `| ${result.modelType} | ${dataset} | ${result.success ? "ok" : `FAILED: ${result.errorMessage}`} | ${cells.join(" | ")} |`;
}

describe("generated experiments in docker isolation", () => {
  const runner = new ExperimentRunner({ isolation: "docker", timeout: 120 });
  afterAll(() => runner.close());

  it("runs every allowlisted model on penguins (classification) and mpg (regression)", async () => {
    const cases = [
      ...CLASSIFICATION_MODELS.map((model) => ({ model, data: PENGUINS, dataset: "penguins", target: "species", task: "classification" as const })),
      ...REGRESSION_MODELS.map((model) => ({ model, data: sharedData("mpg.csv"), dataset: "mpg", target: "mpg", task: "regression" as const })),
    ];
    const results = await runAll(cases, async (item) => {
      const spec = { experimentName: `${item.dataset}-${item.model}`, hypothesis: "baseline", modelType: item.model };
      const scriptPath = await generate(spec, item.data, item.target, item.task);
      return runner.run({ scriptPath, spec });
    });
    const lines = [
      "| model | dataset | outcome | accuracy | f1 | roc_auc | cv_f1_mean |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...results.filter((r) => CLASSIFICATION_MODELS.includes(r.modelType as never)).map((r) => row(r, "penguins", ["accuracy", "f1", "roc_auc", "cv_f1_mean"])),
      "",
      "| model | dataset | outcome | rmse | mae | r2 | cv_rmse_mean |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...results.filter((r) => REGRESSION_MODELS.includes(r.modelType as never)).map((r) => row(r, "mpg", ["rmse", "mae", "r2", "cv_rmse_mean"])),
    ];
    console.log(`\nEvery allowlisted model (docker isolation):\n${lines.join("\n")}\n`);
    for (const result of results) {
      expect(result.errorMessage, `${result.experimentName}: ${result.stderrTail}`).toBeNull();
      expect(result.provenance).toMatchObject({ seed: 42, sklearn: expect.any(String), imageId: expect.stringMatching(/^sha256:/) });
    }
    const classification = results.filter((r) => r.metrics.accuracy !== undefined);
    expect(classification).toHaveLength(CLASSIFICATION_MODELS.length);
    for (const r of classification) expect(Object.keys(r.metrics)).toEqual(expect.arrayContaining(["accuracy", "precision", "recall", "f1", "cv_f1_mean", "cv_f1_std"]));
    const regression = results.filter((r) => r.metrics.rmse !== undefined);
    expect(regression).toHaveLength(REGRESSION_MODELS.length);
    for (const r of regression) expect(Object.keys(r.metrics)).toEqual(expect.arrayContaining(["rmse", "mae", "r2", "cv_rmse_mean", "cv_rmse_std"]));
    const baseline = results.find((r) => r.modelType === "LogisticRegression")!;
    expect(baseline.metrics.accuracy).toBeGreaterThan(0.9);
    expect(baseline.metrics.roc_auc).toBeGreaterThan(0.9);
  });

  it("honours every preprocessing option and the log target", async () => {
    const variants: Array<{ name: string; preprocessing: Record<string, string>; task: TaskType; model: string; data: string; target: string }> = [
      { name: "drop-minmax-ordinal", preprocessing: { missingValues: "drop", scaling: "minmax", encoding: "ordinal" }, task: "classification", model: "LogisticRegression", data: PENGUINS, target: "species" },
      { name: "mean-robust", preprocessing: { missingValues: "mean", scaling: "robust" }, task: "classification", model: "KNeighborsClassifier", data: PENGUINS, target: "species" },
      { name: "constant-none", preprocessing: { missingValues: "constant", scaling: "none" }, task: "classification", model: "DecisionTreeClassifier", data: PENGUINS, target: "species" },
      { name: "most-frequent", preprocessing: { missingValues: "most_frequent" }, task: "regression", model: "Ridge", data: sharedData("mpg.csv"), target: "mpg" },
      { name: "log-target", preprocessing: { targetTransform: "log" }, task: "regression", model: "Ridge", data: sharedData("mpg.csv"), target: "mpg" },
    ];
    const results = await runAll(variants, async (variant) => {
      const spec = { experimentName: `variant-${variant.name}`, hypothesis: "", modelType: variant.model, preprocessing: variant.preprocessing };
      const scriptPath = await generate(spec as ExperimentSpecInput, variant.data, variant.target, variant.task);
      return runner.run({ scriptPath, spec: spec as ExperimentSpecInput });
    });
    for (const result of results) expect(result.errorMessage, result.experimentName).toBeNull();
    const logTarget = results.find((r) => r.experimentName === "variant-log-target")!;
    expect(Object.keys(logTarget.metrics)).toEqual(expect.arrayContaining(["rmse", "rmse_original", "mae_original", "r2_original"]));
    expect(logTarget.metrics.rmse_original!).toBeGreaterThan(logTarget.metrics.rmse!);
    const dropped = results.find((r) => r.experimentName === "variant-drop-minmax-ordinal")!;
    expect(dropped.preprocessing).toMatchObject({ missingValues: "drop", encoding: "ordinal" });
  });

  it("succeeds on messy CSVs, or fails naming the cause", async () => {
    const csv = `${FIXTURES}csv/`;
    const cases = [
      { file: "semicolon.csv", target: "price", task: "regression" as const, model: "Ridge", warning: null },
      { file: "latin1.csv", target: "segment", task: "classification" as const, model: "LogisticRegression", warning: /latin-1/ },
      { file: "datetime.csv", target: "load_kw", task: "regression" as const, model: "RandomForestRegressor", warning: null },
      { file: "id_column.csv", target: "churned", task: "classification" as const, model: "LogisticRegression", warning: /Dropped column/ },
      { file: "blank_targets.csv", target: "label", task: "classification" as const, model: "LogisticRegression", warning: /Dropped 15 row\(s\) with a missing target/ },
      { file: "one_member_class.csv", target: "grade", task: "classification" as const, model: "LogisticRegression", warning: /single row: 'E'; using an unstratified/ },
    ];
    const results = await runAll(cases, async (item) => {
      const spec = { experimentName: `messy-${item.file.replace(".csv", "")}`, hypothesis: "", modelType: item.model };
      return runner.run({ scriptPath: await generate(spec, `${csv}${item.file}`, item.target, item.task), spec });
    });
    results.forEach((result, index) => {
      expect(result.errorMessage, result.experimentName).toBeNull();
      const warning = cases[index]!.warning;
      if (warning !== null) expect(result.warnings.some((line) => warning.test(line)), result.warnings.join("\n")).toBe(true);
    });
    const missingTarget = { experimentName: "messy-missing-target", hypothesis: "", modelType: "Ridge" };
    const failed = await runner.run({ scriptPath: await generate(missingTarget, `${csv}semicolon.csv`, "no_such_column", "regression"), spec: missingTarget });
    expect(failed.success).toBe(false);
    expect(failed.errorMessage).toMatch(/^Target column 'no_such_column' not found; columns are: /);
    const badParams = { experimentName: "bad-params", hypothesis: "", modelType: "RandomForestClassifier", modelParams: { n_estimators: "many" } };
    const invalid = await runner.run({ scriptPath: await generate(badParams, PENGUINS, "species", "classification"), spec: badParams });
    expect(invalid.errorMessage).toMatch(/^Invalid modelParams for RandomForestClassifier: /);
  });

  it("leaves no container behind", async () => {
    expect(await containersOfThisProcess()).toEqual([]);
  });
});

describe("a generated experiment in subprocess isolation", () => {
  it("gives the same metrics as in docker for the same seed", async () => {
    const spec = { experimentName: "penguins-lr-both", hypothesis: "", modelType: "LogisticRegression" };
    const scriptPath = await generate(spec, PENGUINS, "species", "classification");
    const subprocess = new ExperimentRunner({ isolation: "subprocess", pythonExecutable: testPython(), timeout: 120 });
    const docker = new ExperimentRunner({ isolation: "docker", timeout: 120 });
    const [a, b] = await Promise.all([subprocess.run({ scriptPath, spec }), docker.run({ scriptPath, spec })]);
    expect(a.errorMessage).toBeNull();
    expect(a.metrics.accuracy).toBeCloseTo(b.metrics.accuracy!, 6);
    expect(a.isolation).toBe("subprocess");
  });
});
