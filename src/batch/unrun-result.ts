import { resolve } from "node:path";
import {
  ExperimentSpecSchema,
  PreprocessingConfigSchema,
  withResultMethods,
  type ExperimentResult,
  type ExperimentSpecInput,
} from "../schemas.js";

export interface UnrunContext {
  scriptPath: string;
  /** The item's spec as given: it may be the reason the item could not run. */
  spec: ExperimentSpecInput | undefined;
  iteration?: number | undefined;
  isolation: "docker" | "subprocess";
  startedAt: Date;
  /** Why the item did not run (becomes errorMessage). */
  errorMessage: string;
  /** True when the batch was cancelled before the item ran. */
  cancelled: boolean;
}

/** Message of an item that never started because the batch was stopped. */
export const NOT_STARTED_MESSAGE = "Not started: the batch was cancelled";

/**
 * A failed ExperimentResult for an item that never reached a sandbox: a missing script, an
 * invalid spec, or a batch cancelled before its turn (pure). Uses what it can of the spec.
 */
export function buildUnrunResult(context: UnrunContext): ExperimentResult {
  const parsed = ExperimentSpecSchema.safeParse(context.spec);
  const raw = (typeof context.spec === "object" && context.spec !== null ? context.spec : {}) as Record<string, unknown>;
  const text = (value: unknown, fallback: string): string => (typeof value === "string" ? value : fallback);
  const spec = parsed.success ? parsed.data : undefined;
  const iteration = context.iteration !== undefined && Number.isInteger(context.iteration) && context.iteration >= 0 ? context.iteration : 0;
  return withResultMethods({
    experimentName: spec?.experimentName ?? text(raw.experimentName, "unnamed"),
    iteration,
    modelType: spec?.modelType ?? text(raw.modelType, "unknown"),
    modelParams: spec?.modelParams ?? {},
    preprocessing: spec?.preprocessing ?? PreprocessingConfigSchema.parse({}),
    metrics: {},
    hypothesis: spec?.hypothesis ?? text(raw.hypothesis, ""),
    reasoning: spec?.reasoning ?? text(raw.reasoning, ""),
    executionTime: 0,
    success: false,
    errorMessage: context.errorMessage,
    scriptPath: typeof context.scriptPath === "string" && context.scriptPath !== "" ? resolve(context.scriptPath) : "",
    timestamp: context.startedAt.toISOString(),
    isolation: context.isolation,
    exitCode: null,
    timedOut: false,
    oomKilled: false,
    cancelled: context.cancelled,
    stdoutTail: "",
    stderrTail: "",
    outputTruncated: { stdout: false, stderr: false },
    warnings: [],
    provenance: {},
  });
}
