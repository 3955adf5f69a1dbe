/**
 * The one error type for broken machinery. Script outcomes (failures, timeouts, OOM kills)
 * are never thrown: they are failed ExperimentResults.
 */
export type ExperimentExecutionErrorCode =
  | "ENGINE_UNREACHABLE"
  | "IMAGE_MISSING"
  | "IMAGE_BUILD_FAILED"
  | "SCRIPT_NOT_FOUND"
  | "UNSAFE_SCRIPT_FOLDER"
  | "PYTHON_NOT_FOUND"
  | "INVALID_OPTIONS"
  | "INVALID_SPEC"
  | "RUNTIME_UNAVAILABLE"
  | "ENGINE_ERROR";

export class ExperimentExecutionError extends Error {
  override readonly name = "ExperimentExecutionError";
  readonly code: ExperimentExecutionErrorCode;

  constructor(code: ExperimentExecutionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isExperimentExecutionError(error: unknown): error is ExperimentExecutionError {
  return error instanceof ExperimentExecutionError;
}

/** The message of any thrown value, for result records and logs. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
