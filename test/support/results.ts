import { PreprocessingConfigSchema, withResultMethods, type ExperimentResult, type ExperimentResultData } from "../../src/schemas.js";
import type { BatchRecord } from "../../src/batch/summary.js";

/** A plausible ExperimentResult for unit tests of the reports. */
export function makeResult(overrides: Partial<ExperimentResultData> = {}): ExperimentResult {
  return withResultMethods({
    experimentName: "exp",
    iteration: 0,
    modelType: "script",
    modelParams: {},
    preprocessing: PreprocessingConfigSchema.parse({}),
    metrics: {},
    hypothesis: "",
    reasoning: "",
    executionTime: 0.5,
    success: true,
    errorMessage: null,
    scriptPath: "/tmp/exp.py",
    timestamp: "2024-01-01T00:00:00.000Z",
    isolation: "docker",
    exitCode: 0,
    timedOut: false,
    oomKilled: false,
    cancelled: false,
    stdoutTail: "",
    stderrTail: "",
    outputTruncated: { stdout: false, stderr: false },
    warnings: [],
    provenance: {},
    ...overrides,
  });
}

export function passed(name: string, metrics: Record<string, number>, index = 0): BatchRecord {
  return { index, started: true, result: makeResult({ experimentName: name, metrics }) };
}

export function failed(name: string, errorMessage: string, index = 0, extra: Partial<ExperimentResultData> = {}): BatchRecord {
  return { index, started: true, result: makeResult({ experimentName: name, success: false, errorMessage, exitCode: 1, ...extra }) };
}

export function records(...items: BatchRecord[]): BatchRecord[] {
  return items.map((item, index) => ({ ...item, index }));
}
