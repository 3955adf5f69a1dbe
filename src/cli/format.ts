import { sanitizeText } from "../batch/escape.js";
import type { ExperimentResult } from "../schemas.js";

/** Script-controlled text for a terminal: no escape sequences, no carriage returns. */
export function terminalText(value: string): string {
  return sanitizeText(value).replace(/\r/g, "\\r");
}

function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(4);
  return value.toFixed(4);
}

/** A small fixed-width table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => (row[index] ?? "").length)));
  const line = (cells: string[]): string => cells.map((cell, index) => cell.padEnd(widths[index]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** Human output for one result: a headline, the metrics as a table, the error said plainly. */
export function formatResult(result: ExperimentResult): string {
  const where = `${result.modelType}, ${result.isolation}, ${result.executionTime.toFixed(2)} s`;
  const lines: string[] = [];
  if (result.success) {
    lines.push(`OK      ${terminalText(result.experimentName)} (${terminalText(where)})`);
    const entries = Object.entries(result.metrics);
    if (entries.length > 0) {
      lines.push(
        table(
          ["metric", "value"],
          entries.map(([name, value]) => [terminalText(name), formatNumber(value)]),
        ).replace(/^/gm, "  "),
      );
    } else lines.push("  (no metrics)");
  } else {
    lines.push(`FAILED  ${terminalText(result.experimentName)} (${terminalText(where)})`);
    lines.push(`  ${terminalText(result.errorMessage ?? "unknown error")}`);
  }
  if (result.warnings.length > 0) {
    lines.push(`  warnings (${result.warnings.length}):`);
    for (const warning of result.warnings.slice(0, 5)) lines.push(`    - ${terminalText(warning)}`);
    if (result.warnings.length > 5) lines.push(`    ... ${result.warnings.length - 5} more (see --json)`);
  }
  return lines.join("\n");
}
