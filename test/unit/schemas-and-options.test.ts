import { describe, expect, it } from "vitest";
import { ExperimentDefaults } from "../../src/config.js";
import { ExperimentExecutionError } from "../../src/errors.js";
import { resolveRunnerOptions } from "../../src/execution/runner-options.js";
import { ExperimentSpecSchema, PreprocessingConfigSchema } from "../../src/schemas.js";

describe("ExperimentSpec", () => {
  it("fills defaults", () => {
    expect(ExperimentSpecSchema.parse({ experimentName: "a", hypothesis: "h", modelType: "SVC" })).toEqual({
      experimentName: "a",
      hypothesis: "h",
      modelType: "SVC",
      modelParams: {},
      preprocessing: { missingValues: "median", scaling: "standard", encoding: "onehot" },
      reasoning: "",
    });
    expect(PreprocessingConfigSchema.parse({})).toEqual({ missingValues: "median", scaling: "standard", encoding: "onehot" });
  });

  it.each(["../escape", "a/b", ".hidden", "", "-flag", "x".repeat(101), "spaced name"])("rejects the unsafe name %j", (name) => {
    expect(ExperimentSpecSchema.safeParse({ experimentName: name, hypothesis: "", modelType: "SVC" }).success).toBe(false);
  });

  it("rejects unknown keys, bad enums and non-JSON params", () => {
    const base = { experimentName: "a", hypothesis: "", modelType: "SVC" };
    expect(ExperimentSpecSchema.safeParse({ ...base, extra: 1 }).success).toBe(false);
    expect(ExperimentSpecSchema.safeParse({ ...base, preprocessing: { scaling: "zscore" } }).success).toBe(false);
    expect(ExperimentSpecSchema.safeParse({ ...base, modelParams: { C: Number.NaN } }).success).toBe(false);
    expect(ExperimentSpecSchema.safeParse({ ...base, modelParams: { C: 1, nested: { ok: [1, "x", null] } } }).success).toBe(true);
  });
});

describe("runner options", () => {
  it("takes options, then environment, then defaults", () => {
    expect(resolveRunnerOptions({}, {})).toMatchObject({ timeoutSeconds: 300, isolation: "docker", pythonExecutable: "python" });
    const env = { EXPERIMENT_TIMEOUT: "12", EXPERIMENT_ISOLATION: "subprocess", EXPERIMENT_MEMORY_MB: "256" };
    expect(resolveRunnerOptions({}, env)).toMatchObject({ timeoutSeconds: 12, isolation: "subprocess", docker: { memoryBytes: 256 * 1024 * 1024 } });
    expect(resolveRunnerOptions({ timeout: 3, isolation: "docker" }, env)).toMatchObject({ timeoutSeconds: 3, isolation: "docker" });
    expect(new ExperimentDefaults({}).experimentTimeout).toBe(300);
  });

  it("rejects unknown keys and bad values with every problem named", () => {
    try {
      resolveRunnerOptions({ timeout: -1, isolaton: "docker" }, {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ExperimentExecutionError);
      expect((error as ExperimentExecutionError).code).toBe("INVALID_OPTIONS");
      expect((error as Error).message).toContain("timeout");
      expect((error as Error).message).toContain("isolaton");
    }
    expect(() => resolveRunnerOptions({}, { EXPERIMENT_TIMEOUT: "soon" })).toThrow(/EXPERIMENT_TIMEOUT/);
    expect(() => resolveRunnerOptions({}, { EXPERIMENT_ISOLATION: "vm" })).toThrow(/EXPERIMENT_ISOLATION/);
  });
});

describe("log level", () => {
  it("is silent by default and names the valid levels when wrong", async () => {
    const { createDefaultLogger } = await import("../../src/logger.js");
    expect(createDefaultLogger({}).level).toBe("silent");
    expect(createDefaultLogger({ EXPERIMENT_SANDBOX_LOG_LEVEL: "debug" }).level).toBe("debug");
    expect(() => createDefaultLogger({ EXPERIMENT_SANDBOX_LOG_LEVEL: "loud" })).toThrow(/EXPERIMENT_SANDBOX_LOG_LEVEL must be one of silent, fatal/);
  });
});
