import { describe, expect, it } from "vitest";
import { createProgressReporter, finishedLine, formatElapsed, ProgressState } from "../../../src/batch/progress.js";
import { failed, makeResult, passed } from "../../support/results.js";

describe("progress lines", () => {
  it("formats elapsed time", () => {
    expect([formatElapsed(0), formatElapsed(65_400), formatElapsed(3_725_000)]).toEqual(["0:00", "1:05", "1:02:05"]);
  });

  it("says what finished, one line each", () => {
    expect(finishedLine(passed("a", { f1: 0.91234 }), 3, 20)).toBe("[ 3/20] PASS    a (0.50 s) f1=0.9123");
    const line = finishedLine(failed("b", "Script exited with code 3:\nValueError:\u001b[31m x\u001b[0m"), 12, 20);
    expect(line).toBe("[12/20] FAIL    b (0.50 s): Script exited with code 3: ValueError: x");
    expect(finishedLine(failed("c", "Experiment timed out after 2 seconds", 0, { timedOut: true }), 1, 9)).toMatch(/^\[1\/9\] TIMEOUT c /);
    expect(finishedLine(failed("d", "x".repeat(1000)), 1, 1).length).toBeLessThan(200);
  });

  it("keeps done, running and failed", () => {
    const state = new ProgressState(5, 0);
    state.start();
    state.start();
    state.finish(passed("a", {}));
    state.finish(failed("b", "x"));
    state.start();
    expect(state.statusLine(14_000)).toBe("2/5 done · 1 running · 1 failed · 0:14");
  });
});

describe("createProgressReporter", () => {
  it("writes one plain line per finished run when not a terminal", () => {
    const out: string[] = [];
    const reporter = createProgressReporter({ total: 2, isTty: false, write: (text) => out.push(text) });
    reporter.start(0);
    reporter.finish(passed("a", {}));
    reporter.finish({ index: 1, started: false, result: makeResult({ experimentName: "z", success: false, cancelled: true, errorMessage: "Not started" }) });
    reporter.stop();
    expect(out).toEqual(["[1/2] PASS    a (0.50 s)\n", "[2/2] SKIP    z (0.50 s): Not started\n"]);
  });

  it("updates one line in place in a terminal, printing finished runs above it", () => {
    const out: string[] = [];
    let now = 0;
    const reporter = createProgressReporter({ total: 2, isTty: true, write: (text) => out.push(text), now: () => now, tickMs: 60_000 });
    reporter.start(0);
    now = 3000;
    reporter.finish(failed("b", "boom"));
    reporter.stop();
    reporter.stop();
    const text = out.join("");
    expect(text).toContain("\r\x1b[2K0/2 done · 1 running · 0 failed · 0:00");
    expect(text).toContain("\r\x1b[2K[1/2] FAIL    b (0.50 s): boom\n");
    expect(text).toContain("1/2 done · 0 running · 1 failed · 0:03");
    expect(text.endsWith("\r\x1b[2K")).toBe(true);
    expect(out.filter((chunk) => chunk === "\r\x1b[2K")).toHaveLength(1);
  });
});
