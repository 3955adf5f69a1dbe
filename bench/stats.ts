/** Pure helpers of the benchmark: summaries and the table. */

export interface Summary {
  n: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

/** The q-quantile (0..1) by linear interpolation between closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    medianMs: quantile(values, 0.5),
    p90Ms: quantile(values, 0.9),
    minMs: values.length > 0 ? Math.min(...values) : Number.NaN,
    maxMs: values.length > 0 ? Math.max(...values) : Number.NaN,
  };
}

/** Median of each named phase over runs that report it. */
export function medianPhases(runs: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run)))];
  return Object.fromEntries(names.map((name) => [name, quantile(runs.map((run) => run[name]).filter((v): v is number => v !== undefined), 0.5)]));
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return "-";
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function ratio(value: number, base: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return "-";
  return `${(value / base).toFixed(2)}x`;
}

export function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** A plain-text table, columns padded, the first left-aligned and the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}
