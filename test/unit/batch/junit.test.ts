import { describe, expect, it } from "vitest";
import { markdownCell, sanitizeText, xmlAttribute, xmlText } from "../../../src/batch/escape.js";
import { boundTail, renderJunit } from "../../../src/batch/junit.js";
import { parseJunit } from "../../support/junit-xml.js";
import { failed, makeResult, passed, records } from "../../support/results.js";

const HOSTILE = 'a < b && c > "d" \'e\' ]]> \u0000\u0001\u0007\u000b\u000c\u001f\u007f\u0085 \u001b[31mred\u001b[0m \ud800 lone \udfff \uffff end';

describe("escaping", () => {
  it("drops ANSI codes and replaces characters XML 1.0 forbids", () => {
    const clean = sanitizeText(HOSTILE);
    expect(clean).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff\uffff]/);
    expect(clean).toContain("red");
    expect(clean).not.toContain("[31m");
    expect(clean).toContain("\\u0000\\u0001");
    expect(sanitizeText("emoji 🎉 and tabs\tand\nlines")).toBe("emoji 🎉 and tabs\tand\nlines");
  });

  it("escapes markup in text and attributes", () => {
    expect(xmlText("<a> & ]]>")).toBe("&lt;a&gt; &amp; ]]&gt;");
    expect(xmlAttribute('say "hi"\n\'there\'\t')).toBe("say &quot;hi&quot;&#10;&apos;there&apos;&#9;");
  });

  it("makes Markdown cells inert and one line", () => {
    expect(markdownCell("a | b\n<img src=x onerror=alert(1)> **bold** [link](http://x)")).toBe(
      "a \\| b &lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\[link\\](http://x)",
    );
    expect(markdownCell("x".repeat(300), 10)).toHaveLength(10);
  });

  it("bounds tails, saying how much was dropped", () => {
    expect(boundTail("abcdef", 10)).toBe("abcdef");
    expect(boundTail("abcdef", 2)).toBe("[... 4 characters omitted]\nef");
  });
});

describe("renderJunit", () => {
  const batch = records(
    { ...passed("good", { accuracy: 0.9, f1: 0.85 }), result: makeResult({ experimentName: "good", metrics: { f1: 0.85 }, stdoutTail: "ok\n" }) },
    failed("bad", "Script exited with code 3: ValueError: the data went missing"),
    failed("slow", "Experiment timed out after 2 seconds", 0, { timedOut: true }),
    failed("hostile", HOSTILE, 0, { stdoutTail: HOSTILE, stderrTail: `${"x".repeat(10_000)}END` }),
    { index: 0, started: true, result: makeResult({ experimentName: "cancelled", success: false, cancelled: true, errorMessage: "Experiment was cancelled" }) },
    { index: 0, started: false, result: makeResult({ experimentName: "never", success: false, cancelled: true, errorMessage: "Not started: the batch was cancelled" }) },
  );
  const xml = renderJunit(batch, { timestamp: new Date("2024-05-01T12:00:00Z"), outputChars: 500 });
  const junit = parseJunit(xml);

  it("is well-formed XML with a testcase per experiment and the right counts", () => {
    expect(junit.tests).toBe(6);
    expect(junit.testcases.map((testcase) => testcase.name)).toEqual(["good", "bad", "slow", "hostile", "cancelled", "never"]);
    expect(junit.failures).toBe(3);
    expect(junit.testcases.filter((testcase) => testcase.failure !== undefined)).toHaveLength(3);
    expect(junit.skipped).toBe(2);
    expect(xml).toContain('timestamp="2024-05-01T12:00:00"');
  });

  it("uses the errorMessage as the failure message and types timeouts", () => {
    const bad = junit.testcases[1]!;
    expect(bad.failure?.message).toBe("Script exited with code 3: ValueError: the data went missing");
    expect(junit.testcases[2]!.failure?.type).toBe("timeout");
    expect(junit.testcases[4]!.skipped?.message).toBe("Experiment was cancelled");
    expect(junit.testcases[5]!.skipped?.message).toMatch(/Not started/);
  });

  it("keeps metrics as properties and bounded output as system-out and system-err", () => {
    expect(junit.testcases[0]!.properties).toEqual({ f1: "0.85" });
    expect(junit.testcases[0]!.systemOut).toBe("ok\n");
    const hostile = junit.testcases[3]!;
    expect(hostile.systemErr!.length).toBeLessThan(600);
    expect(hostile.systemErr).toMatch(/END$/);
    expect(hostile.failure?.message).toContain('a < b && c > "d"');
    expect(hostile.systemOut).toContain("red");
  });

  it("is checked by a parser that does reject bad XML", () => {
    expect(() => parseJunit('<testsuites><testsuite tests="0">\u0001</testsuite></testsuites>')).toThrow(/not allowed/);
    expect(() => parseJunit('<testsuites><testsuite tests="0"><a></testsuite></testsuites>')).toThrow(/invalid XML/);
  });

  it("handles an empty batch", () => {
    expect(parseJunit(renderJunit([])).tests).toBe(0);
  });
});
