import { pino, type Logger } from "pino";

/** A debug-level pino logger that keeps its JSON lines for assertions. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[]; count: (message: string) => number } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines, count: (message) => lines.filter((line) => line.msg === message).length };
}
