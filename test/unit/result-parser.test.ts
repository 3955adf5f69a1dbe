import { describe, expect, it } from "vitest";
import {
  capWarnings,
  extractStderrWarnings,
  findResultPayload,
  meaningfulStderr,
  parsePythonJson,
  readMetrics,
} from "../../src/execution/result-parser.js";

describe("parsePythonJson", () => {
  it("accepts Python's NaN, Infinity and -Infinity outside strings", () => {
    const value = parsePythonJson('{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1.5}') as Record<string, unknown>;
    expect(readMetrics(value)).toEqual({
      metrics: { d: 1.5 },
      warnings: ['metric "a" is NaN; left out', 'metric "b" is Infinity; left out', 'metric "c" is -Infinity; left out'],
    });
  });

  it("leaves the words alone inside strings, escapes included", () => {
    expect(parsePythonJson('{"s": "NaN and \\"Infinity\\""}')).toEqual({ s: 'NaN and "Infinity"' });
  });

  it("does not touch identifiers that merely contain the words", () => {
    expect(() => parsePythonJson('{"a": NaNx}')).toThrow();
  });
});

describe("findResultPayload", () => {
  it("finds the last JSON object with success after progress lines and tables", () => {
    const stdout = [
      "epoch 1 loss 0.3",
      '{"progress": 0.5}',
      "| a | b |",
      '{"success": true, "metrics": {"accuracy": 0.9}}',
      "done",
    ].join("\n");
    const parsed = findResultPayload(stdout, null);
    expect(parsed).toEqual({ kind: "found", source: "stdout", payload: { success: true, metrics: { accuracy: 0.9 } } });
  });

  it("takes the last of several result lines", () => {
    const stdout = '{"success": false, "error": "first"}\n{"success": true, "metrics": {}}\n';
    expect(findResultPayload(stdout, null)).toMatchObject({ payload: { success: true } });
  });

  it("lets the result file win over stdout", () => {
    const parsed = findResultPayload('{"success": false, "error": "stdout"}', '{"success": true, "metrics": {"r2": 0.5}}');
    expect(parsed).toMatchObject({ kind: "found", source: "file", payload: { metrics: { r2: 0.5 } } });
  });

  it("falls back to stdout when the result file is invalid, and says why when both fail", () => {
    expect(findResultPayload('{"success": true}', "{oops")).toMatchObject({ source: "stdout" });
    const missing = findResultPayload("no json here", "{oops");
    expect(missing.kind).toBe("missing");
    if (missing.kind === "missing") {
      expect(missing.reason).toContain('no line on stdout is a JSON object with a "success" field');
      expect(missing.reason).toContain("the result file is not valid JSON");
    }
  });

  it("names an invalid JSON line and an empty stdout", () => {
    expect(findResultPayload("{bad json}", null)).toMatchObject({ kind: "missing", reason: expect.stringContaining("invalid") });
    expect(findResultPayload("", null)).toMatchObject({ kind: "missing", reason: "stdout was empty" });
  });

  it("ignores JSON objects without success, and CRLF endings", () => {
    expect(findResultPayload('{"metrics": {}}\r\n', null).kind).toBe("missing");
    expect(findResultPayload('{"success": true}\r\n', null).kind).toBe("found");
  });
});

describe("readMetrics", () => {
  it("keeps finite numbers and names everything else", () => {
    const { metrics, warnings } = readMetrics({ a: 1, b: "0.5", c: null, d: true });
    expect(metrics).toEqual({ a: 1 });
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain('metric "b" is not a number');
  });

  it("treats a non-object metrics field as a warning", () => {
    expect(readMetrics([1, 2])).toEqual({ metrics: {}, warnings: ['"metrics" is not an object ([1,2]); ignored'] });
    expect(readMetrics(undefined)).toEqual({ metrics: {}, warnings: [] });
  });
});

describe("stderr", () => {
  const traceback = [
    "/usr/lib/python3/dist-packages/sklearn/linear_model/_logistic.py:458: ConvergenceWarning: lbfgs failed to converge (status=1):",
    "  n_iter_i = _check_optimize_result(",
    "Traceback (most recent call last):",
    '  File "/work/x.py", line 3, in <module>',
    "    raise KeyError('species')",
    "KeyError: 'species'",
    "",
  ].join("\n");

  it("takes the exception line of the last traceback", () => {
    expect(meaningfulStderr(traceback)).toBe("KeyError: 'species'");
  });

  it("takes the last lines that are not warnings when there is no traceback", () => {
    expect(meaningfulStderr("x.py:1: UserWarning: meh\nfatal: disk on fire\n")).toBe("fatal: disk on fire");
    expect(meaningfulStderr("")).toBe("(stderr was empty)");
  });

  it("collects Python warnings, deduplicated and capped", () => {
    const warnings = extractStderrWarnings(`${traceback}\n${traceback}`);
    expect(capWarnings(warnings)).toEqual(["ConvergenceWarning: lbfgs failed to converge (status=1):"]);
    const many = Array.from({ length: 30 }, (_, index) => `w${index}`);
    const capped = capWarnings(many, 20);
    expect(capped).toHaveLength(21);
    expect(capped[20]).toBe("... and 10 more warnings");
  });
});

describe("hostile payloads", () => {
  it("survives deeply nested values in metrics and errors", async () => {
    const { buildExperimentResult } = await import("../../src/execution/build-result.js");
    const { ExperimentSpecSchema } = await import("../../src/schemas.js");
    const nested = "[".repeat(20_000) + "]".repeat(20_000);
    const stdout = `{"success": false, "error": ${nested}, "metrics": {"a": ${nested}}}`;
    const result = buildExperimentResult(
      {
        stdout: { text: stdout, totalBytes: stdout.length, truncated: false },
        stderr: { text: "", totalBytes: 0, truncated: false },
        exitCode: 1, timedOut: false, oomKilled: false, cancelled: false, durationMs: 1, resultFile: null, notes: [],
      },
      {
        spec: ExperimentSpecSchema.parse({ experimentName: "x", hypothesis: "", modelType: "m" }),
        iteration: 0, scriptPath: "/x.py", isolation: "docker", startedAt: new Date(), timeoutSeconds: 1, memoryBytes: null,
      },
    );
    expect(result.success).toBe(false);
    expect(result.errorMessage).toBe("[deeply nested array]");
    expect(result.warnings).toContain('metric "a" is not a number ([deeply nested array]); left out');
  });

  it("keeps a metric named __proto__ as a plain metric, and names overflowing numbers", () => {
    const { metrics, warnings } = readMetrics(parsePythonJson('{"__proto__": 0.5, "big": 1e999}'));
    expect(Object.keys(metrics)).toEqual(["__proto__"]);
    expect(metrics.__proto__).toBe(0.5);
    expect(warnings).toEqual(['metric "big" is Infinity; left out']);
  });
});
