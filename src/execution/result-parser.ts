/**
 * Pure functions that read what a script delivered: its JSON result (from the result file,
 * else the last JSON-object line on stdout that has a "success" field), its metrics, and
 * the useful parts of stderr.
 */

const NON_FINITE = "\u0000nonfinite:";
const MAX_WARNINGS = 20;

export type ParsedPayload =
  | { kind: "found"; source: "file" | "stdout"; payload: Record<string, unknown> }
  | { kind: "missing"; reason: string };

/**
 * JSON.parse that also takes Python's dialect: bare NaN, Infinity and -Infinity
 * (outside strings) become markers that `readMetrics` reports as non-finite.
 */
export function parsePythonJson(text: string): unknown {
  let out = "";
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === "\\") {
        out += text[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (ch === '"') inString = false;
      i += 1;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      i += 1;
      continue;
    }
    const token = matchNonFinite(text, i);
    if (token !== null) {
      out += JSON.stringify(NON_FINITE + token);
      i += token.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return JSON.parse(out);
}

function matchNonFinite(text: string, at: number): string | null {
  for (const token of ["-Infinity", "Infinity", "NaN"]) {
    if (text.startsWith(token, at)) {
      const before = at > 0 ? text[at - 1]! : " ";
      const after = text[at + token.length] ?? " ";
      if (!/[A-Za-z0-9_]/.test(before) && !/[A-Za-z0-9_]/.test(after)) return token;
    }
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The script's result: the result file wins when it holds a JSON object with "success";
 * otherwise the last stdout line that is such an object.
 */
export function findResultPayload(stdout: string, resultFile: string | null): ParsedPayload {
  let fileProblem: string | null = null;
  if (resultFile !== null && resultFile.trim() !== "") {
    try {
      const value = parsePythonJson(resultFile.trim());
      if (isRecord(value) && "success" in value) return { kind: "found", source: "file", payload: value };
      fileProblem = 'the result file holds no JSON object with a "success" field';
    } catch (error) {
      fileProblem = `the result file is not valid JSON (${(error as Error).message})`;
    }
  }
  const lines = stdout.split(/\r?\n/);
  let lastJsonError: string | null = null;
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index]!.trim();
    if (!line.startsWith("{") || !line.endsWith("}")) continue;
    try {
      const value = parsePythonJson(line);
      if (isRecord(value) && "success" in value) return { kind: "found", source: "stdout", payload: value };
    } catch (error) {
      lastJsonError ??= (error as Error).message;
    }
  }
  const parts: string[] = [];
  if (stdout.trim() === "") parts.push("stdout was empty");
  else if (lastJsonError !== null) parts.push(`the last JSON-like line on stdout is invalid (${lastJsonError})`);
  else parts.push('no line on stdout is a JSON object with a "success" field');
  if (fileProblem !== null) parts.push(fileProblem);
  return { kind: "missing", reason: parts.join("; ") };
}

/** Finite numeric metrics are kept; anything else is left out and named in warnings. */
export function readMetrics(value: unknown): { metrics: Record<string, number>; warnings: string[] } {
  // No prototype: a metric named "__proto__" is just a name.
  const metrics: Record<string, number> = Object.create(null) as Record<string, number>;
  const warnings: string[] = [];
  if (value === undefined || value === null) return { metrics: { ...metrics }, warnings };
  if (!isRecord(value)) {
    warnings.push(`"metrics" is not an object (${describe(value)}); ignored`);
    return { metrics, warnings };
  }
  for (const [rawName, metric] of Object.entries(value)) {
    const name = rawName.slice(0, 200);
    if (typeof metric === "number" && Number.isFinite(metric)) metrics[name] = metric;
    else if (typeof metric === "number") warnings.push(`metric "${name}" is ${metric > 0 ? "Infinity" : metric < 0 ? "-Infinity" : "NaN"}; left out`);
    else if (typeof metric === "string" && metric.startsWith(NON_FINITE)) {
      warnings.push(`metric "${name}" is ${metric.slice(NON_FINITE.length)}; left out`);
    } else warnings.push(`metric "${name}" is not a number (${describe(metric)}); left out`);
  }
  // Back to a plain object (with defineProperty, so "__proto__" stays an own property).
  const plain: Record<string, number> = {};
  for (const [name, metric] of Object.entries(metrics)) {
    Object.defineProperty(plain, name, { value: metric, enumerable: true, writable: true, configurable: true });
  }
  return { metrics: plain, warnings };
}

function describe(value: unknown): string {
  if (typeof value === "string" && value.startsWith(NON_FINITE)) return value.slice(NON_FINITE.length);
  const text = safeStringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** JSON.stringify that never throws (deep nesting, cycles): script output must not crash us. */
export function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? "[deeply nested array]" : typeof value === "object" ? "[deeply nested object]" : String(value);
  }
}

/** The string warnings a payload carries under "warnings" (bounded). */
export function readPayloadWarnings(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === "string").map((item) => item.slice(0, 500));
}

const WARNING_LINE = /^(?:.*?:\d+: )?([A-Z][A-Za-z]*Warning): (.+)$/;

/** Python warnings printed on stderr ("file.py:12: ConvergenceWarning: ..."), deduplicated. */
export function extractStderrWarnings(stderr: string): string[] {
  const found: string[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    const match = WARNING_LINE.exec(raw.trim());
    if (match) found.push(`${match[1]}: ${match[2]!.trim()}`.slice(0, 500));
  }
  return found;
}

/** Deduplicates and caps a list of warnings, saying how many were left out. */
export function capWarnings(warnings: string[], max = MAX_WARNINGS): string[] {
  const unique = [...new Set(warnings)];
  if (unique.length <= max) return unique;
  return [...unique.slice(0, max), `... and ${unique.length - max} more warnings`];
}

/**
 * The meaningful end of stderr: the exception line of the last traceback, else the last
 * few non-empty lines that are not warnings.
 */
export function meaningfulStderr(stderr: string, maxChars = 2000): string {
  const lines = stderr.split(/\r?\n/).map((line) => line.trimEnd());
  const tracebackAt = lines.lastIndexOf("Traceback (most recent call last):");
  if (tracebackAt >= 0) {
    const after = lines.slice(tracebackAt + 1).filter((line) => line.trim() !== "");
    const exceptionLine = [...after].reverse().find((line) => !line.startsWith(" "));
    if (exceptionLine !== undefined) return clip(exceptionLine.trim(), maxChars);
  }
  const useful = lines.filter((line) => line.trim() !== "" && !WARNING_LINE.test(line.trim()));
  const text = useful.slice(-5).join("\n").trim();
  if (text === "") return stderr.trim() === "" ? "(stderr was empty)" : clip(stderr.trim(), maxChars);
  return clip(text, maxChars);
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `...${text.slice(text.length - maxChars)}`;
}
