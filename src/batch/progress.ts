import { sanitizeText } from "./escape.js";
import { formatMetricValue } from "./markdown.js";
import { statusOf, type BatchRecord, type RunStatus } from "./summary.js";

/**
 * Live progress of a batch. In a terminal: one status line updated in place (done, running,
 * failed, elapsed) with each finished run printed above it. Elsewhere (CI logs): one plain
 * line per finished run, nothing else. The state and the lines are pure; the reporter is a
 * thin shell around a `write` function and a timer.
 */

export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

const LABELS: Record<RunStatus, string> = {
  passed: "PASS",
  failed: "FAIL",
  "timed-out": "TIMEOUT",
  cancelled: "CANCEL",
  "not-run": "SKIP",
};

/** Characters of a failure's reason on a progress line. */
export const PROGRESS_REASON_CHARS = 160;

function oneLine(text: string, maxChars: number): string {
  const line = sanitizeText(text).replace(/\s+/g, " ").trim();
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}

/** "[ 3/20] FAIL    exit_3 (1.23 s): Script exited with code 3: ..." */
export function finishedLine(record: BatchRecord, done: number, total: number): string {
  const { result } = record;
  const status = statusOf(record);
  const width = String(total).length;
  const head = `[${String(done).padStart(width)}/${total}] ${LABELS[status].padEnd(7)} ${oneLine(result.experimentName, 100)} (${result.executionTime.toFixed(2)} s)`;
  if (status === "passed") {
    const metrics = Object.entries(result.metrics)
      .slice(0, 3)
      .map(([name, value]) => `${oneLine(name, 40)}=${formatMetricValue(value)}`);
    return metrics.length > 0 ? `${head} ${metrics.join(" ")}` : head;
  }
  return `${head}: ${oneLine(result.errorMessage ?? "failed", PROGRESS_REASON_CHARS)}`;
}

export class ProgressState {
  done = 0;
  running = 0;
  failed = 0;

  constructor(
    readonly total: number,
    readonly startedAtMs: number,
  ) {}

  start(): void {
    this.running += 1;
  }

  /** Counts a finished run; returns its line. */
  finish(record: BatchRecord): string {
    if (record.started) this.running = Math.max(0, this.running - 1);
    this.done += 1;
    if (!record.result.success) this.failed += 1;
    return finishedLine(record, this.done, this.total);
  }

  /** "7/20 done · 2 running · 1 failed · 0:14" */
  statusLine(nowMs: number): string {
    return `${this.done}/${this.total} done · ${this.running} running · ${this.failed} failed · ${formatElapsed(nowMs - this.startedAtMs)}`;
  }
}

export interface ProgressReporterOptions {
  total: number;
  /** Raw output, no newline added. */
  write: (text: string) => void;
  /** A terminal gets the updating line. */
  isTty: boolean;
  now?: () => number;
  /** How often the terminal line's elapsed time is refreshed (ms). */
  tickMs?: number;
}

const CLEAR_LINE = "\r\x1b[2K";

export interface ProgressReporter {
  start(index: number): void;
  finish(record: BatchRecord): void;
  /** Clears the terminal line and stops the timer. Idempotent. */
  stop(): void;
}

export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const state = new ProgressState(options.total, now());
  if (!options.isTty) {
    return {
      start: () => state.start(),
      finish: (record) => options.write(`${state.finish(record)}\n`),
      stop: () => undefined,
    };
  }
  let stopped = false;
  const redraw = (): void => {
    if (!stopped) options.write(`${CLEAR_LINE}${state.statusLine(now())}`);
  };
  const timer = setInterval(redraw, options.tickMs ?? 1000);
  timer.unref();
  redraw();
  return {
    start: () => {
      state.start();
      redraw();
    },
    finish: (record) => {
      const line = state.finish(record);
      if (!stopped) options.write(`${CLEAR_LINE}${line}\n`);
      redraw();
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      options.write(CLEAR_LINE);
    },
  };
}
