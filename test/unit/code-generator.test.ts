import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildScriptConfig, checkSpecForTask, CodeGenerator } from "../../src/execution/code-generator.js";
import { ExperimentSpecSchema } from "../../src/schemas.js";
import { PENGUINS } from "../support/env.js";

const spec = ExperimentSpecSchema.parse({
  experimentName: "penguins-svc",
  hypothesis: "h",
  modelType: "SVC",
  modelParams: { C: 0.5, kernel: "rbf; import os" },
});

describe("checkSpecForTask", () => {
  it("accepts allowlisted models for their task", () => {
    expect(() => checkSpecForTask(spec, "classification")).not.toThrow();
  });

  it("rejects unknown models and models of the other task, naming what is allowed", () => {
    expect(() => checkSpecForTask({ ...spec, modelType: "XGBClassifier" }, "classification")).toThrow(
      /Unknown modelType 'XGBClassifier' for classification; allowed: LogisticRegression, /,
    );
    expect(() => checkSpecForTask({ ...spec, modelType: "Ridge" }, "classification")).toThrow(/Ridge is a regression model/);
    expect(() => checkSpecForTask({ ...spec, modelType: "__import__('os')" }, "regression")).toThrow(/Unknown modelType/);
  });

  it("allows the log target transform for regression only", () => {
    const logSpec = { ...spec, modelType: "Ridge", preprocessing: { ...spec.preprocessing, targetTransform: "log" as const } };
    expect(() => checkSpecForTask(logSpec, "regression")).not.toThrow();
    expect(() => checkSpecForTask({ ...logSpec, modelType: "SVC" }, "classification")).toThrow(/regression only/);
  });
});

describe("CodeGenerator", () => {
  it("writes the template and a JSON config: parameters are data, never code", async () => {
    const outputDir = await mkdtemp(join(tmpdir(), "codegen-"));
    const scriptPath = await new CodeGenerator().generate({
      spec,
      dataPath: PENGUINS,
      targetColumn: "species",
      taskType: "classification",
      outputDir,
    });
    expect(scriptPath).toBe(join(outputDir, "penguins-svc.py"));
    const script = await readFile(scriptPath, "utf8");
    expect(script).not.toContain("rbf; import os");
    expect(script).toContain("config.json");
    const config = JSON.parse(await readFile(join(outputDir, "penguins-svc.config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toEqual(
      buildScriptConfig(spec, { targetColumn: "species", taskType: "classification", dataFile: "data/penguins.csv", seed: 42, testSize: 0.2, cvFolds: 5 }),
    );
    expect(config.modelParams).toEqual({ C: 0.5, kernel: "rbf; import os" });
    expect((await stat(join(outputDir, "data/penguins.csv"))).size).toBe((await stat(PENGUINS)).size);
  });

  it("rejects a missing data file and an invalid request with clear messages", async () => {
    const generator = new CodeGenerator();
    const request = { spec, dataPath: "/nonexistent.csv", targetColumn: "y", taskType: "classification" as const, outputDir: tmpdir() };
    await expect(generator.generate(request)).rejects.toMatchObject({ code: "INVALID_SPEC", message: "Data file not found: /nonexistent.csv" });
    await expect(generator.generate({ ...request, taskType: "clustering" as never })).rejects.toMatchObject({ code: "INVALID_SPEC" });
  });
});

describe("stageFolder", () => {
  it("gives the container a readable view of a private folder, leaving the original alone", async () => {
    const { chmod, mkdir, writeFile } = await import("node:fs/promises");
    const { readableByContainer, stageFolder } = await import("../../src/sandbox/docker/staging.js");
    const dir = await mkdtemp(join(tmpdir(), "private-"));
    await mkdir(join(dir, "data"));
    await writeFile(join(dir, "run.py"), "print(1)");
    await writeFile(join(dir, "data/secret.csv"), "a\n1\n");
    await chmod(join(dir, "data/secret.csv"), 0o600);
    expect(await readableByContainer(dir, join(dir, "run.py"))).toBe(false);
    const staged = await stageFolder(dir);
    try {
      expect(await readableByContainer(staged.path, join(staged.path, "run.py"))).toBe(true);
      expect(((await stat(join(staged.path, "data/secret.csv"))).mode & 0o777).toString(8)).toBe("644");
      expect(await readFile(join(staged.path, "data/secret.csv"), "utf8")).toBe("a\n1\n");
      expect(((await stat(join(dir, "data/secret.csv"))).mode & 0o777).toString(8)).toBe("600");
    } finally {
      await staged.dispose();
    }
  });
});
