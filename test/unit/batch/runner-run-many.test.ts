import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOT_STARTED_MESSAGE } from "../../../src/batch/unrun-result.js";
import { ExperimentExecutionError } from "../../../src/errors.js";
import { ExperimentRunner, type BatchItem } from "../../../src/execution/experiment-runner.js";
import type { Sandbox, SandboxOutcome, SandboxRunRequest } from "../../../src/sandbox/sandbox.js";
import { ExperimentResultSchema } from "../../../src/schemas.js";

const captured = (text: string) => ({ text, totalBytes: text.length, truncated: false });

/** A fake backend: "ok-*" succeed, "fail-*" exit 1, "slow-*" wait for the signal, "broken" throws. */
class FakeSandbox implements Sandbox {
  readonly isolation = "docker" as const;
  readonly limits = { memoryBytes: 1024 * 1024 * 1024 };
  running = 0;
  most = 0;
  runs: string[] = [];

  async run(request: SandboxRunRequest): Promise<SandboxOutcome> {
    const name = basename(request.scriptPath, ".py");
    this.runs.push(name);
    this.running += 1;
    this.most = Math.max(this.most, this.running);
    try {
      if (name === "broken") throw new ExperimentExecutionError("IMAGE_MISSING", "No image - run `make image`");
      const base = { stderr: captured(""), timedOut: false, oomKilled: false, durationMs: 10, resultFile: null, notes: [] };
      if (name.startsWith("slow")) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 2000);
          request.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return { ...base, stdout: captured(""), exitCode: null, cancelled: request.signal?.aborted === true };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (name.startsWith("fail")) return { ...base, stdout: captured(""), stderr: captured("boom"), exitCode: 1, cancelled: false };
      const f1 = Number(name.split("-")[1] ?? 0) / 100;
      return { ...base, stdout: captured(JSON.stringify({ success: true, metrics: { f1 } })), exitCode: 0, cancelled: false };
    } finally {
      this.running -= 1;
    }
  }

  async close(): Promise<void> {}
}

let dir: string;
const script = (name: string): string => join(dir, `${name}.py`);
const item = (name: string, extra: Partial<BatchItem> = {}): BatchItem => ({
  scriptPath: script(name),
  spec: { experimentName: name, hypothesis: "", modelType: "script" },
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "run-many-"));
  for (const name of ["ok-90", "ok-80", "ok-70", "ok-60", "fail-1", "slow-1", "slow-2", "slow-3", "broken"]) {
    await writeFile(script(name), "print('hi')\n");
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runnerWith(sandbox: Sandbox): ExperimentRunner {
  return new ExperimentRunner({ isolation: "docker" }, { sandbox, logger: pino({ level: "silent" }) });
}

describe("ExperimentRunner.runMany", () => {
  it("gives one valid result per item, in input order, even for a missing script", async () => {
    const sandbox = new FakeSandbox();
    const seen: number[] = [];
    const results = await runnerWith(sandbox).runMany(
      [item("ok-90"), item("missing"), item("fail-1"), item("ok-80"), item("ok-70", { spec: { experimentName: "bad name!" } as never })],
      { concurrency: 2, onResult: (_result, index) => void seen.push(index) },
    );
    expect(results.map((result) => result.experimentName)).toEqual(["ok-90", "missing", "fail-1", "ok-80", "bad name!"]);
    expect(results.map((result) => result.success)).toEqual([true, false, false, true, false]);
    for (const result of results) expect(ExperimentResultSchema.safeParse(JSON.parse(JSON.stringify(result))).success).toBe(true);
    expect(results[1]!.errorMessage).toMatch(/Script not found: .*missing\.py/);
    expect(results[1]!.cancelled).toBe(false);
    expect(results[4]!.errorMessage).toMatch(/Invalid ExperimentSpec/);
    expect(results[0]!.metrics).toEqual({ f1: 0.9 });
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(sandbox.most).toBeLessThanOrEqual(2);
  });

  it("never runs more than `concurrency` scripts at once", async () => {
    const sandbox = new FakeSandbox();
    await runnerWith(sandbox).runMany(["ok-90", "ok-80", "ok-70", "ok-60", "fail-1"].map((name) => item(name)), { concurrency: 3 });
    expect(sandbox.most).toBe(3);
    expect(sandbox.runs).toHaveLength(5);
  });

  it("on abort: cancels running items, starts no more, and still gives every item a record", async () => {
    const sandbox = new FakeSandbox();
    const controller = new AbortController();
    const started: number[] = [];
    const finished: number[] = [];
    const promise = runnerWith(sandbox).runMany(
      [item("ok-90"), item("slow-1"), item("slow-2"), item("slow-3"), item("ok-80")],
      {
        concurrency: 2,
        signal: controller.signal,
        onStart: (_item, index) => {
          started.push(index);
          if (index === 2) setTimeout(() => controller.abort("SIGINT"), 20);
        },
        onResult: (_result, index) => void finished.push(index),
      },
    );
    const results = await promise;
    expect(started).toEqual([0, 1, 2]);
    expect(finished.sort()).toEqual([0, 1, 2]);
    expect(results[0]!.success).toBe(true);
    expect(results[1]!.cancelled).toBe(true);
    expect(results[1]!.errorMessage).toBe("Experiment was cancelled");
    expect(results[3]!.cancelled).toBe(true);
    expect(results[3]!.errorMessage).toBe(NOT_STARTED_MESSAGE);
    expect(results[4]!.errorMessage).toBe(NOT_STARTED_MESSAGE);
  });

  it("rejects for broken machinery after the running items settle", async () => {
    const sandbox = new FakeSandbox();
    const finished: string[] = [];
    await expect(
      runnerWith(sandbox).runMany([item("slow-1"), item("broken"), item("ok-90")], {
        concurrency: 2,
        onResult: (result) => void finished.push(result.experimentName),
      }),
    ).rejects.toMatchObject({ code: "IMAGE_MISSING" });
    // slow-1 was cancelled by the stop, not left running; ok-90 never started.
    expect(finished).toEqual(["slow-1"]);
    expect(sandbox.runs).toEqual(["slow-1", "broken"]);
    expect(sandbox.running).toBe(0);
  });

  it("rejects when onResult throws (e.g. the results file cannot be written)", async () => {
    await expect(
      runnerWith(new FakeSandbox()).runMany([item("ok-90")], {
        onResult: () => {
          throw new Error("disk full");
        },
      }),
    ).rejects.toThrow("disk full");
  });

  it("rejects a bad concurrency as INVALID_OPTIONS", async () => {
    await expect(runnerWith(new FakeSandbox()).runMany([item("ok-90")], { concurrency: 0 })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
  });
});
