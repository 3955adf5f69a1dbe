import type { SandboxOutcome } from "../sandbox/sandbox.js";
import { tailOf } from "../sandbox/output-capture.js";
import {
  withResultMethods,
  type ExperimentResult,
  type ExperimentSpec,
  type Provenance,
} from "../schemas.js";
import {
  capWarnings,
  extractStderrWarnings,
  findResultPayload,
  meaningfulStderr,
  readMetrics,
  readPayloadWarnings,
  safeStringify,
} from "./result-parser.js";

/** Characters of stdout/stderr kept on a result for debugging. */
export const RESULT_TAIL_CHARS = 4000;

export interface ResultContext {
  spec: ExperimentSpec;
  iteration: number;
  scriptPath: string;
  isolation: "docker" | "subprocess";
  startedAt: Date;
  timeoutSeconds: number;
  memoryBytes: number | null;
}

export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (mib >= 1024 && Number.isInteger(mib / 1024)) return `${mib / 1024} GiB`;
  return `${Math.round(mib * 10) / 10} MiB`;
}

/** The one decision table from a sandbox outcome to an ExperimentResult (pure). */
export function buildExperimentResult(outcome: SandboxOutcome, context: ResultContext): ExperimentResult {
  const parsed = findResultPayload(outcome.stdout.text, outcome.resultFile);
  const payload = parsed.kind === "found" ? parsed.payload : null;
  const { metrics, warnings: metricWarnings } = readMetrics(payload?.metrics);
  const warnings = [
    ...outcome.notes,
    ...readPayloadWarnings(payload?.warnings),
    ...metricWarnings,
    ...extractStderrWarnings(outcome.stderr.text),
  ];
  if (outcome.stdout.truncated) warnings.push(`stdout was ${outcome.stdout.totalBytes} bytes; its middle was dropped`);
  if (outcome.stderr.truncated) warnings.push(`stderr was ${outcome.stderr.totalBytes} bytes; its middle was dropped`);

  let errorMessage: string | null = null;
  const scriptError = payload !== null && payload.success === false ? scriptErrorOf(payload) : null;
  if (outcome.cancelled) {
    errorMessage = "Experiment was cancelled";
  } else if (outcome.timedOut) {
    errorMessage = `Experiment timed out after ${context.timeoutSeconds} seconds`;
  } else if (outcome.oomKilled) {
    errorMessage =
      context.memoryBytes !== null
        ? `Experiment ran out of memory (limit ${formatBytes(context.memoryBytes)})`
        : "Experiment ran out of memory";
  } else if (scriptError !== null) {
    errorMessage = scriptError;
  } else if (outcome.exitCode !== 0) {
    errorMessage = `Script exited with code ${outcome.exitCode ?? "unknown"}: ${meaningfulStderr(outcome.stderr.text)}`;
  } else if (payload === null) {
    errorMessage = `Failed to parse JSON output: ${parsed.kind === "missing" ? parsed.reason : "no result"}`;
  } else if (typeof payload.success !== "boolean") {
    errorMessage = `Failed to parse JSON output: "success" must be true or false, got ${safeStringify(payload.success).slice(0, 60)}`;
  }

  return withResultMethods({
    experimentName: context.spec.experimentName,
    iteration: context.iteration,
    modelType: context.spec.modelType,
    modelParams: context.spec.modelParams,
    preprocessing: context.spec.preprocessing,
    metrics,
    hypothesis: context.spec.hypothesis,
    reasoning: context.spec.reasoning,
    executionTime: Math.round(outcome.durationMs) / 1000,
    success: errorMessage === null,
    errorMessage,
    scriptPath: context.scriptPath,
    timestamp: context.startedAt.toISOString(),
    isolation: context.isolation,
    exitCode: outcome.exitCode,
    timedOut: outcome.timedOut,
    oomKilled: outcome.oomKilled,
    cancelled: outcome.cancelled,
    stdoutTail: tailOf(outcome.stdout.text, RESULT_TAIL_CHARS),
    stderrTail: tailOf(outcome.stderr.text, RESULT_TAIL_CHARS),
    outputTruncated: { stdout: outcome.stdout.truncated, stderr: outcome.stderr.truncated },
    warnings: capWarnings(warnings),
    provenance: provenanceOf(payload?.provenance, outcome),
  });
}

/** A script's own error message is kept to this many characters (the tails keep the rest). */
export const MAX_SCRIPT_ERROR_CHARS = 2000;

function scriptErrorOf(payload: Record<string, unknown>): string {
  const error = payload.error;
  let message = "Script reported failure without an error message";
  if (typeof error === "string" && error.trim() !== "") message = error;
  else if (error !== undefined && error !== null) message = safeStringify(error);
  return message.length > MAX_SCRIPT_ERROR_CHARS ? `${message.slice(0, MAX_SCRIPT_ERROR_CHARS)}... (${message.length} characters)` : message;
}

function provenanceOf(value: unknown, outcome: SandboxOutcome): Provenance {
  const provenance: Provenance = {};
  const fromBackend = outcome.versions ?? {};
  const fromScript = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  for (const key of ["python", "sklearn", "numpy", "pandas"] as const) {
    const version = fromScript[key] ?? fromBackend[key];
    if (typeof version === "string") provenance[key] = version;
  }
  if (typeof fromScript.seed === "number") provenance.seed = fromScript.seed;
  if (outcome.imageId !== undefined) provenance.imageId = outcome.imageId;
  return provenance;
}
