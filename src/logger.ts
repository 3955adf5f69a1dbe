import { pino, type Logger } from "pino";

export type { Logger };

/**
 * The library is silent by default. Pass your own pino logger, or set
 * EXPERIMENT_SANDBOX_LOG_LEVEL (e.g. "debug") to get JSON lines on stderr.
 */
export function createDefaultLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.EXPERIMENT_SANDBOX_LOG_LEVEL ?? "silent";
  return pino({ name: "experiment-sandbox", level }, pino.destination(2));
}
