import { xmlAttribute, xmlText } from "./escape.js";
import { isFailure, statusOf, type BatchRecord } from "./summary.js";

/**
 * JUnit XML of a batch (pure): one testcase per experiment. A failed run or a timeout is a
 * <failure> whose message is the errorMessage; a cancelled or never-started run is <skipped>;
 * metrics are <properties>; bounded stdout and stderr tails are system-out and system-err.
 */

/** Characters of stdout (and of stderr) kept per testcase. */
export const JUNIT_OUTPUT_CHARS = 4000;
/** Characters of errorMessage in the failure's message attribute (the element body has it all). */
export const JUNIT_MESSAGE_CHARS = 1000;

/** The last `maxChars` characters, with a note of how many were dropped. */
export function boundTail(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `[... ${text.length - maxChars} characters omitted]\n${text.slice(text.length - maxChars)}`;
}

function boundHead(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}...`;
}

function seconds(value: number): string {
  return (Math.round(value * 1000) / 1000).toFixed(3);
}

function failureType(record: BatchRecord): string {
  const { result } = record;
  if (result.timedOut) return "timeout";
  if (result.oomKilled) return "out-of-memory";
  return "failure";
}

export interface JunitOptions {
  suiteName?: string;
  /** When the batch started (the testsuite's timestamp). */
  timestamp?: Date;
  outputChars?: number;
}

export function renderJunit(records: readonly BatchRecord[], options: JunitOptions = {}): string {
  const outputChars = options.outputChars ?? JUNIT_OUTPUT_CHARS;
  const suiteName = options.suiteName ?? "experiment-sandbox ci";
  let failures = 0;
  let skipped = 0;
  let time = 0;
  const cases: string[] = [];
  for (const record of records) {
    const { result } = record;
    const status = statusOf(record);
    time += result.executionTime;
    const lines: string[] = [];
    lines.push(
      `    <testcase name="${xmlAttribute(result.experimentName)}" classname="${xmlAttribute(result.modelType)}" ` +
        `time="${seconds(result.executionTime)}"${result.scriptPath !== "" ? ` file="${xmlAttribute(result.scriptPath)}"` : ""}>`,
    );
    const metrics = Object.entries(result.metrics);
    if (metrics.length > 0) {
      lines.push("      <properties>");
      for (const [name, value] of metrics) lines.push(`        <property name="${xmlAttribute(name)}" value="${xmlAttribute(String(value))}"/>`);
      lines.push("      </properties>");
    }
    if (isFailure(status)) {
      failures += 1;
      const message = result.errorMessage ?? "failed";
      lines.push(
        `      <failure message="${xmlAttribute(boundHead(message, JUNIT_MESSAGE_CHARS))}" type="${failureType(record)}">` +
          `${xmlText(boundTail(message, outputChars))}</failure>`,
      );
    } else if (status === "cancelled" || status === "not-run") {
      skipped += 1;
      lines.push(`      <skipped message="${xmlAttribute(result.errorMessage ?? status)}"/>`);
    }
    if (result.stdoutTail !== "") lines.push(`      <system-out>${xmlText(boundTail(result.stdoutTail, outputChars))}</system-out>`);
    if (result.stderrTail !== "") lines.push(`      <system-err>${xmlText(boundTail(result.stderrTail, outputChars))}</system-err>`);
    lines.push("    </testcase>");
    cases.push(lines.join("\n"));
  }
  const counts = `tests="${records.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(time)}"`;
  const timestamp = options.timestamp !== undefined ? ` timestamp="${options.timestamp.toISOString().slice(0, 19)}"` : "";
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlAttribute(suiteName)}" ${counts}>`,
    `  <testsuite name="${xmlAttribute(suiteName)}" ${counts}${timestamp}>`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
