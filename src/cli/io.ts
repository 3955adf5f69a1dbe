import type { Logger } from "../logger.js";

/** What a command may touch: its output, a logger, and a signal that says "stop". */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Raw stdout, no newline added (for a progress line updated in place). */
  write?: (text: string) => void;
  logger: Logger;
  signal: AbortSignal;
  isTty: boolean;
}
