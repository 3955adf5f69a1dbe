import { describe, expect, it } from "vitest";
import { buildExperimentResult, type ResultContext } from "../../src/execution/build-result.js";
import { ExperimentResultSchema, ExperimentSpecSchema } from "../../src/schemas.js";
import type { SandboxOutcome } from "../../src/sandbox/sandbox.js";

const context: ResultContext = {
  spec: ExperimentSpecSchema.parse({ experimentName: "exp", hypothesis: "h", modelType: "SVC" }),
  iteration: 2,
  scriptPath: "/tmp/exp.py",
  isolation: "docker",
  startedAt: new Date("2026-01-02T03:04:05.000Z"),
  timeoutSeconds: 7,
  memoryBytes: 256 * 1024 * 1024,
};

function outcome(overrides: Partial<SandboxOutcome> & { stdoutText?: string; stderrText?: string }): SandboxOutcome {
  const { stdoutText = "", stderrText = "", ...rest } = overrides;
  return {
    stdout: { text: stdoutText, totalBytes: stdoutText.length, truncated: false },
    stderr: { text: stderrText, totalBytes: stderrText.length, truncated: false },
    exitCode: 0,
    timedOut: false,
    oomKilled: false,
    cancelled: false,
    durationMs: 1234.5,
    resultFile: null,
    notes: [],
    ...rest,
  };
}

describe("buildExperimentResult", () => {
  it("makes a valid successful record with the spec's fields", () => {
    const result = buildExperimentResult(outcome({ stdoutText: '{"success": true, "metrics": {"accuracy": 0.95, "f1": 0.94}}' }), context);
    expect(ExperimentResultSchema.parse(result)).toBeTruthy();
    expect(result).toMatchObject({
      experimentName: "exp",
      iteration: 2,
      modelType: "SVC",
      hypothesis: "h",
      success: true,
      errorMessage: null,
      metrics: { accuracy: 0.95, f1: 0.94 },
      executionTime: 1.235,
      timestamp: "2026-01-02T03:04:05.000Z",
    });
    expect(result.getPrimaryMetric("f1")).toBe(0.94);
    expect(result.getPrimaryMetric("nope")).toBeUndefined();
    expect(Object.keys(JSON.parse(JSON.stringify(result)))).not.toContain("getPrimaryMetric");
  });

  it.each([
    [{ exitCode: 3, stderrText: "Traceback (most recent call last):\nValueError: x\n" }, "Script exited with code 3: ValueError: x"],
    [{ stdoutText: "hello" }, 'Failed to parse JSON output: no line on stdout is a JSON object with a "success" field'],
    [{ timedOut: true, exitCode: 137 }, "Experiment timed out after 7 seconds"],
    [{ oomKilled: true, exitCode: 137 }, "Experiment ran out of memory (limit 256 MiB)"],
    [{ cancelled: true, exitCode: 137 }, "Experiment was cancelled"],
    [{ exitCode: 1, stdoutText: '{"success": false, "error": "custom failure"}' }, "custom failure"],
    [{ exitCode: 0, stdoutText: '{"success": false, "error": "custom failure"}' }, "custom failure"],
    [{ exitCode: 2, stdoutText: '{"success": true, "metrics": {}}', stderrText: "crash at exit" }, "Script exited with code 2: crash at exit"],
    [{ stdoutText: '{"success": "yes"}' }, 'Failed to parse JSON output: "success" must be true or false, got "yes"'],
    [{ exitCode: 1, stdoutText: '{"success": false}' }, "Script reported failure without an error message"],
  ] as const)("fails with the documented message: %j", (overrides, message) => {
    const result = buildExperimentResult(outcome(overrides), context);
    expect(result.success).toBe(false);
    expect(result.errorMessage).toBe(message);
  });

  it("keeps finite metrics and names non-finite ones in warnings", () => {
    const result = buildExperimentResult(outcome({ stdoutText: '{"success": true, "metrics": {"r2": NaN, "rmse": 1.5}}' }), context);
    expect(result.success).toBe(true);
    expect(result.metrics).toEqual({ rmse: 1.5 });
    expect(result.warnings).toContain('metric "r2" is NaN; left out');
  });

  it("never fails a run for stderr alone, and collects its warnings", () => {
    const result = buildExperimentResult(
      outcome({ stdoutText: '{"success": true, "metrics": {}}', stderrText: "x.py:3: ConvergenceWarning: slow\nnoise\n" }),
      context,
    );
    expect(result.success).toBe(true);
    expect(result.warnings).toEqual(["ConvergenceWarning: slow"]);
  });

  it("flags truncation and carries provenance from script and backend", () => {
    const result = buildExperimentResult(
      outcome({
        stdout: { text: '{"success": true, "metrics": {}, "provenance": {"sklearn": "9.9", "seed": 42}}', totalBytes: 10_000_000, truncated: true },
        imageId: "sha256:abc",
        versions: { sklearn: "1.2.1", python: "3.11.2" },
      }),
      context,
    );
    expect(result.outputTruncated).toEqual({ stdout: true, stderr: false });
    expect(result.warnings[0]).toContain("stdout was 10000000 bytes");
    expect(result.provenance).toEqual({ sklearn: "9.9", python: "3.11.2", seed: 42, imageId: "sha256:abc" });
  });
});
