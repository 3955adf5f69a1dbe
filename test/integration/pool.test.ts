import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import type { ExperimentRunnerOptions } from "../../src/execution/runner-options.js";
import { findResultPayload } from "../../src/execution/result-parser.js";
import { ExperimentResultSchema } from "../../src/schemas.js";
import { containersOfThisProcess, FIXTURES, SCRIPTS } from "../support/env.js";
import { capturingLogger } from "../support/log-capture.js";

const POOL = `${FIXTURES}pool/`;
const spec = { experimentName: "pool-contract", hypothesis: "a warm container behaves like a cold one", modelType: "script" };
const WARM = "ran in a warm container";

/**
 * The same contract and hostile basics, cold and pooled: a pooled run must be indistinguishable
 * from a cold one but for its speed. Each pooled test waits for a warm container first and checks
 * (from the log) that the run used it rather than falling back to a cold one.
 */
const MODES: [string, ExperimentRunnerOptions][] = [
  ["cold", {}],
  ["pooled", { pool: { size: 1 } }],
];

describe.each(MODES)("docker isolation, %s", (mode, modeOptions) => {
  const pooled = mode === "pooled";
  const logs = capturingLogger();
  // Made when the block starts (a pool starts filling at once), so blocks do not overlap.
  let runner: ExperimentRunner;
  let warmBefore = 0;
  beforeAll(() => {
    runner = new ExperimentRunner({ isolation: "docker", timeout: 30, ...modeOptions }, { logger: logs.logger });
  });
  afterAll(() => runner.close());
  beforeEach(async () => {
    await runner.warmUp();
    warmBefore = logs.count(WARM);
  });
  const expectServedAsConfigured = (): void => {
    expect(logs.count(WARM) - warmBefore).toBe(pooled ? 1 : 0);
  };

  it("reports exactly the metrics the script printed", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec, iteration: 1 });
    expect(ExperimentResultSchema.parse(result)).toBeTruthy();
    expect(result).toMatchObject({ success: true, errorMessage: null, metrics: { accuracy: 0.95, f1: 0.94 }, isolation: "docker", exitCode: 0 });
    expect(result.provenance.imageId).toMatch(/^sha256:/);
    expectServedAsConfigured();
  });

  it("says `Script exited with code N: <exception line>`, stdout and stderr apart", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}exit_3.py`, spec });
    expect(result).toMatchObject({ success: false, exitCode: 3, errorMessage: "Script exited with code 3: ValueError: the data went missing" });
    expect(result.stdoutTail).toBe("starting\n");
    expect(result.stderrTail).toContain("Traceback");
    expectServedAsConfigured();
  });

  it("exits 1 for an uncaught exception, with the script's own traceback on stderr", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}raises.py`, spec });
    expect(result.errorMessage).toBe("Script exited with code 1: RuntimeError: boom: uncaught");
    expect(result.stderrTail).toMatch(/^Traceback \(most recent call last\):\n {2}File "\/work\/raises\.py", line \d+, in <module>/);
    expect(result.stderrTail).not.toContain("pool_worker");
    expect(result.stderrTail).not.toContain("runpy");
    expectServedAsConfigured();
  });

  it("exits 1 with the message for sys.exit(\"...\")", async () => {
    const direct = await runner.runScriptDirectly(`${POOL}exit_message.py`);
    expect(direct).toMatchObject({ returncode: 1, stdout: "", stderr: "giving up: no data\n", timedOut: false });
    expectServedAsConfigured();
  });

  it("says `Failed to parse JSON output: <reason>`", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}invalid_json.py`, spec });
    expect(result.errorMessage).toMatch(/^Failed to parse JSON output: the last JSON-like line on stdout is invalid/);
    expectServedAsConfigured();
  });

  it("lets the script's reported failure win over its exit code", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}reported_failure.py`, spec });
    expect(result).toMatchObject({ success: false, exitCode: 1, errorMessage: "Model did not converge" });
    expectServedAsConfigured();
  });

  it("reads the result file, which wins over stdout, and flushes a handle left open at exit", async () => {
    const fromFile = await runner.run({ scriptPath: `${POOL}result_file.py`, spec });
    expect(fromFile).toMatchObject({ success: true, metrics: { from_file: 1 } });
    expectServedAsConfigured();
    await runner.warmUp();
    const unflushed = await runner.run({ scriptPath: `${POOL}unflushed_file.py`, spec });
    expect(unflushed).toMatchObject({ success: true, metrics: { flushed_at_exit: 1 } });
  });

  it("runs the script as `python3 /work/<script>`: __main__, argv, __file__, cwd, sys.path[0], stdin, user", async () => {
    const direct = await runner.runScriptDirectly(`${POOL}semantics.py`);
    expect(direct.returncode).toBe(0);
    expect(JSON.parse(direct.stdout)).toEqual({
      name: "__main__",
      argv: ["/work/semantics.py"],
      file: "/work/semantics.py",
      cwd: "/work",
      path0: "/work",
      stdin: "",
      resultPath: "/sandbox/result.json",
      uid: 10001,
      gid: 10001,
      groups: [],
      caps: { CapInh: "0000000000000000", CapPrm: "0000000000000000", CapEff: "0000000000000000", CapAmb: "0000000000000000" },
      // The parent is the deadline enforcer (timeout(1) cold, the pool worker warm): out of reach.
      canSignalParent: false,
      siblings: ["exit_message.py", "fork_bomb.py", "memory_bomb.py", "network_probe.py", "readonly_work.py"],
    });
    expectServedAsConfigured();
  });

  it("cannot stop or trace the process that enforces its deadline (parent and PID 1)", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}disarm_deadline.py`, spec });
    expect(result.metrics).toEqual({ uid: 10001, gid: 10001, cap_eff: 0 });
    const parsed = findResultPayload(result.stdoutTail, null);
    expect(parsed.kind === "found" ? parsed.payload.attempts : null).toEqual({
      stop_parent: "denied",
      ptrace_parent: "denied",
      stop_pid1: "denied",
      ptrace_pid1: "denied",
    });
    expectServedAsConfigured();
  });

  it("says `Experiment timed out after N seconds` and kills the run at the deadline", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}sleep_forever.py`, spec, timeout: 1.5 });
    expect(result).toMatchObject({ success: false, timedOut: true, errorMessage: "Experiment timed out after 1.5 seconds" });
    expect(result.stdoutTail).toBe("sleeping\n");
    expectServedAsConfigured();
  });

  it("has no network and a read-only /work (a writable /tmp)", async () => {
    const network = await runner.run({ scriptPath: `${POOL}network_probe.py`, spec });
    expect(network).toMatchObject({ success: true, metrics: { reached: 0 } });
    expect(network.warnings.filter((name) => name !== "lo")).toEqual([]);
    expectServedAsConfigured();
    await runner.warmUp();
    const readOnly = await runner.run({ scriptPath: `${POOL}readonly_work.py`, spec });
    expect(readOnly).toMatchObject({ success: true, metrics: { work: 0, tmp: 1 } });
  });

  it("leaves no container behind but the warm one it keeps", async () => {
    const ours = await containersOfThisProcess();
    const poolContainers = ours.filter((container) => container.Labels["experiment-sandbox.pool"] === "1");
    expect(poolContainers).toHaveLength(pooled ? 1 : 0);
    expect(ours).toHaveLength(poolContainers.length);
  });
});

describe.each(MODES)("hostile basics in docker isolation, %s", (mode, modeOptions) => {
  const pooled = mode === "pooled";
  const logs = capturingLogger();
  let runner: ExperimentRunner;
  beforeAll(() => {
    runner = new ExperimentRunner({ isolation: "docker", timeout: 30, memoryBytes: 384 * 1024 * 1024, pidsLimit: 64, ...modeOptions }, { logger: logs.logger });
  });
  afterAll(() => runner.close());
  beforeEach(() => runner.warmUp());

  it("ends a memory bomb with the OOM message", async () => {
    const before = logs.count(WARM);
    const result = await runner.run({ scriptPath: `${POOL}memory_bomb.py`, spec });
    expect(result).toMatchObject({ success: false, oomKilled: true, errorMessage: "Experiment ran out of memory (limit 384 MiB)" });
    expect(logs.count(WARM) - before).toBe(pooled ? 1 : 0);
  });

  it("contains a fork bomb within the process limit", async () => {
    const before = logs.count(WARM);
    const result = await runner.run({ scriptPath: `${POOL}fork_bomb.py`, spec });
    expect(result.success).toBe(true);
    expect(result.metrics.forked).toBeGreaterThan(0);
    expect(result.metrics.forked).toBeLessThan(64);
    expect(result.metrics.refused).toBeGreaterThan(0);
    expect(logs.count(WARM) - before).toBe(pooled ? 1 : 0);
  });
});

describe("the warm pool's lifecycle", () => {
  it("drains on close: no container of ours is left", async () => {
    const runner = new ExperimentRunner({ isolation: "docker", timeout: 30, pool: { size: 2 } });
    await runner.warmUp();
    const before = (await containersOfThisProcess()).filter((container) => container.Labels["experiment-sandbox.pool"] === "1");
    expect(before.length).toBeGreaterThanOrEqual(2);
    // A run while the pool refills, then close at once: idle and warming containers both go.
    const result = await runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec });
    expect(result.success).toBe(true);
    await runner.close();
    await runner.close();
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it("labels its containers so that a sweep can judge them (deadline ahead, owner this process)", async () => {
    const runner = new ExperimentRunner({ isolation: "docker", timeout: 30, pool: { size: 1, maxIdleSeconds: 20 } });
    try {
      await runner.warmUp();
      const [container] = (await containersOfThisProcess()).filter((item) => item.Labels["experiment-sandbox.pool"] === "1");
      expect(container).toBeDefined();
      const deadline = Number(container!.Labels["experiment-sandbox.deadline"]);
      // idle 20 s + the longest run 30 s + slack 5 s, from creation
      expect(deadline - Date.now()).toBeGreaterThan(40_000);
      expect(deadline - Date.now()).toBeLessThanOrEqual(55_000);
      expect(container!.Labels["experiment-sandbox.owner-pid"]).toBe(String(process.pid));
    } finally {
      await runner.close();
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });

  it("runs a longer per-call deadline than the pool's cold, and still correctly", async () => {
    const logs = capturingLogger();
    const runner = new ExperimentRunner({ isolation: "docker", timeout: 10, pool: { size: 1 } }, { logger: logs.logger });
    try {
      await runner.warmUp();
      const result = await runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec, timeout: 20 });
      expect(result.success).toBe(true);
      expect(logs.count(WARM)).toBe(0);
    } finally {
      await runner.close();
    }
  });
});
