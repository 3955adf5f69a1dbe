import { pino, type Logger } from "pino";
import { ExperimentExecutionError } from "./errors.js";

export type { Logger };

/**
 * The library is silent by default. Pass your own pino logger, or set
 * EXPERIMENT_SANDBOX_LOG_LEVEL (e.g. "debug") to get JSON lines on stderr.
 */
export const LOG_LEVELS = ["silent", "fatal", "error", "warn", "info", "debug", "trace"] as const;

export function createDefaultLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.EXPERIMENT_SANDBOX_LOG_LEVEL || "silent";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ExperimentExecutionError(
      "INVALID_OPTIONS",
      `EXPERIMENT_SANDBOX_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
    );
  }
  return pino({ name: "experiment-sandbox", level }, pino.destination(2));
}
