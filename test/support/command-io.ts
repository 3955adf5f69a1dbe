import { pino } from "pino";
import type { CommandIo } from "../../src/cli/io.js";

/** A CommandIo that keeps what a command prints. */
export function captureIo(signal: AbortSignal = new AbortController().signal): CommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => void stdout.push(text),
    err: (text) => void stderr.push(text),
    logger: pino({ level: "silent" }),
    signal,
    isTty: false,
  };
}
