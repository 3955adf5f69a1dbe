/**
 * The hostile-script suite: each fixture in test/fixtures/hostile/ attacks the sandbox one way,
 * against the real engine and image; each test asserts the outcome and records a row of the
 * `make security` table (case, isolation, outcome, wall time, figure).
 */
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTAINER_DEADLINE_SLACK_SECONDS, DEFAULT_PIDS_LIMIT, DEFAULT_TMPFS_BYTES, LABELS } from "../../src/config.js";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import type { ExperimentRunnerOptions } from "../../src/execution/runner-options.js";
import type { ExperimentResult } from "../../src/schemas.js";
import { containersOfThisProcess, docker, FIXTURES, REPO_ROOT, SCRIPTS, testPython } from "../support/env.js";
import { recordRow } from "../support/security-row.js";

const HOSTILE = `${FIXTURES}hostile/`;
const spec = { experimentName: "hostile", hypothesis: "the sandbox holds", modelType: "script" };
/** Seconds, for the cases that only end at the deadline. */
const DEADLINE_S = 2;
const LOW_MEMORY_BYTES = 256 * 1024 * 1024;
/** The bound is 2 s; the test asserts loosely (a shared 2-core engine), the table shows the figure. */
const LOOSE_DEADLINE_TO_RESULT_MS = 5000;
const FAKE_SECRET = "fake-secret-token-do-not-leak";

// A secret in the runner's own environment, as a CI job would have one: no script may see it.
process.env.FAKE_SECRET_TOKEN = FAKE_SECRET;

const runners: ExperimentRunner[] = [];
function runner(options: ExperimentRunnerOptions): ExperimentRunner {
  const made = new ExperimentRunner({ pythonExecutable: testPython(), timeout: 60, ...options });
  runners.push(made);
  return made;
}
async function closeRunners(): Promise<void> {
  for (const made of runners) await made.close();
}
afterAll(closeRunners);

interface Timed {
  result: ExperimentResult;
  wallMs: number;
}
async function timedRun(on: ExperimentRunner, script: string, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<Timed> {
  const started = performance.now();
  const result = await on.run({ scriptPath: script, spec, ...options });
  return { result, wallMs: performance.now() - started };
}

function label(isolation: string, runtime?: string): string {
  return runtime === undefined ? isolation : `${isolation} (${runtime})`;
}
function ms(value: number): string {
  return `${Math.round(value)} ms`;
}
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
/** "stdout was N bytes; its middle was dropped" on the result's warnings. */
function streamBytes(result: ExperimentResult, stream: "stdout" | "stderr"): number {
  const warning = result.warnings.find((item) => item.startsWith(`${stream} was `));
  return warning === undefined ? Number.NaN : Number(/was (\d+) bytes/.exec(warning)?.[1]);
}

const runscAvailable = ((): boolean => {
  try {
    return execFileSync("docker", ["info", "--format", "{{json .Runtimes}}"], { encoding: "utf8" }).includes('"runsc"');
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  // Warm the image and the engine, so the first case's wall time is not the engine's cold start.
  await runner({ isolation: "docker" }).run({ scriptPath: `${SCRIPTS}example_success.py`, spec });
});

describe.each([
  { isolation: "docker" as const, runtime: undefined },
  { isolation: "subprocess" as const, runtime: undefined },
  ...(runscAvailable ? [{ isolation: "docker" as const, runtime: "runsc" }] : []),
])("killed at the deadline: $isolation $runtime", ({ isolation, runtime }) => {
  const on = runner({ isolation, timeout: DEADLINE_S, ...(runtime !== undefined ? { runtime } : {}) });
  const cases = runtime === undefined ? ["infinite_loop", "ignore_sigterm"] : ["infinite_loop"];

  it.for(cases)("%s", async (name, { task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}${name}.py`);
    const deadlineToResult = wallMs - DEADLINE_S * 1000;
    recordRow(task, {
      case: name === "infinite_loop" ? "infinite loop" : "loop ignoring SIGTERM",
      isolation: label(isolation, runtime),
      outcome: `${result.errorMessage} (exit ${result.exitCode})`,
      wallMs,
      figure: `deadline to result ${ms(deadlineToResult)}`,
    });
    expect(result).toMatchObject({ success: false, timedOut: true, errorMessage: `Experiment timed out after ${DEADLINE_S} seconds` });
    expect(deadlineToResult).toBeLessThan(LOOSE_DEADLINE_TO_RESULT_MS);
    if (name === "ignore_sigterm") expect(result.stdoutTail).toContain("ignoring SIGTERM");
  });
});

describe("docker isolation (runc)", () => {
  const on = runner({ isolation: "docker" });

  it("fork bomb: stopped by the pids limit, killed at the deadline", async ({ task }) => {
    const { result, wallMs } = await timedRun(runner({ isolation: "docker", timeout: DEADLINE_S }), `${HOSTILE}fork_bomb.py`);
    const deadlineToResult = wallMs - DEADLINE_S * 1000;
    recordRow(task, {
      case: "fork bomb",
      isolation: "docker",
      outcome: `fork refused (${/fork failed: (.*)/.exec(result.stdoutTail)?.[1] ?? "?"}); ${result.errorMessage}`,
      wallMs,
      figure: `pids limit ${DEFAULT_PIDS_LIMIT}; deadline to result ${ms(deadlineToResult)}`,
    });
    expect(result.stdoutTail).toContain("fork failed: BlockingIOError errno=11");
    expect(result).toMatchObject({ success: false, timedOut: true });
    expect(deadlineToResult).toBeLessThan(LOOSE_DEADLINE_TO_RESULT_MS);
  });

  it.for(["memory_bomb", "oom_child"])("%s: says it ran out of memory, never invalid JSON", async (name, { task }) => {
    const { result, wallMs } = await timedRun(runner({ isolation: "docker", memoryBytes: LOW_MEMORY_BYTES }), `${HOSTILE}${name}.py`);
    recordRow(task, {
      case: name === "memory_bomb" ? "memory bomb" : "memory bomb in a child process",
      isolation: "docker",
      outcome: `${result.errorMessage} (exit ${result.exitCode})`,
      wallMs,
      figure: name === "memory_bomb" ? `last: ${/allocated \d+ MiB/.exec(result.stdoutTail.trim().split("\n").pop() ?? "")?.[0] ?? "?"}` : "parent survived, exit 1",
    });
    expect(result).toMatchObject({ success: false, oomKilled: true, timedOut: false, errorMessage: "Experiment ran out of memory (limit 256 MiB)" });
  });

  it("thread storm: bounded by the pids limit", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}thread_storm.py`);
    const started = result.metrics.threads_started ?? Number.NaN;
    recordRow(task, { case: "thread storm", isolation: "docker", outcome: `refused after ${started} threads`, wallMs, figure: `pids limit ${DEFAULT_PIDS_LIMIT}` });
    expect(result.success).toBe(true);
    expect(result.metrics.refused).toBe(1);
    expect(started).toBeLessThan(DEFAULT_PIDS_LIMIT);
  });

  it("network egress and host access: only loopback, every connect fails, no engine socket", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}network_probe.py`);
    recordRow(task, {
      case: "network egress / host access",
      isolation: "docker",
      outcome: /egress_1_1_1_1_53_blocked: (.*)/.exec(result.stdoutTail)?.[1] ?? String(result.errorMessage),
      wallMs,
      figure: `blocked ${Object.values(result.metrics).filter((value) => value === 1).length} of ${Object.keys(result.metrics).length} probes`,
    });
    expect(result.metrics).toEqual({ egress_1_1_1_1_53_blocked: 1, host_gateway_2375_blocked: 1, only_loopback: 1, engine_socket_absent: 1 });
  });

  it("writes: script folder and root fs refused, /tmp works", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}fs_writes.py`);
    recordRow(task, {
      case: "writes to script folder / rootfs / tmp",
      isolation: "docker",
      outcome: "script folder: read-only; rootfs: read-only; /tmp: writable",
      wallMs,
      figure: `${Object.values(result.metrics).filter((value) => value === 1).length} of ${Object.keys(result.metrics).length} as hardened`,
    });
    expect(result.metrics).toEqual({
      script_folder_read_only: 1,
      script_file_read_only: 1,
      rootfs_etc_read_only: 1,
      rootfs_usr_read_only: 1,
      rootfs_root_read_only: 1,
      tmp_writable: 1,
    });
  });

  it("filling /tmp: ENOSPC at the tmpfs size", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}fill_tmp.py`);
    const written = result.metrics.bytes_written ?? Number.NaN;
    recordRow(task, {
      case: "filling /tmp",
      isolation: "docker",
      outcome: `stopped with errno ${result.metrics.errno}${result.metrics.errno === 28 ? " (ENOSPC)" : ""}`,
      wallMs,
      figure: `${mb(written)} in ${result.metrics.files} files, tmpfs ${mb(DEFAULT_TMPFS_BYTES)}`,
    });
    expect(result.metrics.errno).toBe(28);
    expect(written).toBeLessThanOrEqual(DEFAULT_TMPFS_BYTES);
    expect(written).toBeGreaterThan(DEFAULT_TMPFS_BYTES / 2);
  });

  it("root, capabilities and engine socket: uid 10001, CapEff 0, no_new_privs, no socket", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}identity.py`);
    const m = result.metrics;
    recordRow(task, {
      case: "root / capabilities / engine socket",
      isolation: "docker",
      outcome: `uid ${m.uid}, CapEff ${m.cap_eff}, NoNewPrivs ${m.no_new_privs}, seccomp ${m.seccomp_mode}, setuid(0) ${m.became_root === 1 ? "WORKED" : "refused"}`,
      wallMs,
      figure: `${m.engine_sockets_present} engine sockets`,
    });
    expect(m).toEqual({ uid: 10001, euid: 10001, gid: 10001, cap_eff: 0, cap_prm: 0, no_new_privs: 1, seccomp_mode: 2, became_root: 0, engine_sockets_present: 0 });
  });

  it("a container removed behind the runner's back: a failed result, not a throw or an OOM claim", async ({ task }) => {
    const slow = runner({ isolation: "docker", env: { SLEEP_SECONDS: "30" } });
    const started = performance.now();
    const running = slow.run({ scriptPath: `${HOSTILE}sleep_then_result.py`, spec });
    let id: string | undefined;
    for (let attempt = 0; attempt < 100 && id === undefined; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      id = (await containersOfThisProcess()).find((container) => container.State === "running")?.Id;
    }
    expect(id).toBeDefined();
    await docker.getContainer(id!).remove({ force: true });
    const result = await running;
    const wallMs = performance.now() - started;
    recordRow(task, { case: "container removed mid-run (docker rm -f)", isolation: "docker", outcome: String(result.errorMessage), wallMs, figure: result.warnings.join("; ") });
    expect(result).toMatchObject({ success: false, oomKilled: false, timedOut: false });
    expect(result.warnings).toContain("the container was removed by someone else before the run ended");
  });
});

describe.each(["docker", "subprocess"] as const)("%s isolation: what both get", (isolation) => {
  const on = runner({ isolation });

  it("reading secrets from the environment: the runner's FAKE_SECRET_TOKEN is not visible", async ({ task }) => {
    expect(process.env.FAKE_SECRET_TOKEN).toBe(FAKE_SECRET);
    const { result, wallMs } = await timedRun(on, `${HOSTILE}read_secrets.py`);
    recordRow(task, {
      case: "reading secrets from the environment",
      isolation,
      outcome: result.metrics.fake_secret_visible === 0 ? "FAKE_SECRET_TOKEN not visible" : "FAKE_SECRET_TOKEN VISIBLE",
      wallMs,
      figure:
        `${result.metrics.variables} variables, ${result.metrics.suspicious_variables} secret-like; ` +
        `parent's /proc environ ${result.metrics.parent_environ_readable === 1 ? (isolation === "docker" ? "is the container's own" : "READABLE (the runner's start-up environment)") : "not readable"}`,
    });
    expect(result.metrics).toMatchObject({ fake_secret_visible: 0, suspicious_variables: 0 });
    // Subprocess isolation cannot hide the runner's start-up environment (README); docker can.
    if (isolation === "docker") expect(result.metrics.fake_secret_in_parent_environ).toBe(0);
    expect(result.stdoutTail).not.toContain(FAKE_SECRET);
  });

  it("reading stdin: EOF at once", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}read_stdin.py`, { timeout: 10 });
    recordRow(task, { case: "reading stdin", isolation, outcome: `EOF after ${result.metrics.stdin_bytes} bytes`, wallMs, figure: `read took ${result.metrics.read_seconds} s` });
    expect(result).toMatchObject({ success: true, metrics: { stdin_bytes: 0 } });
    expect(result.metrics.read_seconds).toBeLessThan(1);
  });

  it("a detached grandchild holding the pipes: no hang", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}detached_grandchild.py`, { timeout: 30 });
    const pid = Number(/grandchild pid (\d+)/.exec(result.stdoutTail)?.[1]);
    let figure = "ended with the container's init";
    if (isolation === "subprocess") {
      // setsid() took it out of the process group: subprocess isolation cannot end it (README).
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
      figure = alive ? `grandchild ${pid} outlived the run (ended by the test)` : "grandchild gone";
    }
    recordRow(task, { case: "detached grandchild holding the pipes", isolation, outcome: result.success ? "result returned, no hang" : String(result.errorMessage), wallMs, figure });
    expect(result).toMatchObject({ success: true, metrics: { left_grandchild: 1 } });
    expect(wallMs).toBeLessThan(5000);
  });

  it("invalid UTF-8 and multibyte characters split across frames: parsing holds", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}utf8_mess.py`);
    recordRow(task, { case: "invalid UTF-8 / split multibyte", isolation, outcome: result.success ? "result found" : String(result.errorMessage), wallMs, figure: `warning ${JSON.stringify(result.warnings[0])}` });
    expect(result).toMatchObject({ success: true, metrics: { accuracy: 0.5 } });
    expect(result.warnings).toContain("résumé ✓");
    expect(result.stdoutTail).toContain("naïve café — ünïcödé 🎉");
    expect(result.stdoutTail).toContain("\ufffd");
  });

  it("400 MB of stdout, then the JSON: result found, truncation flagged", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}spam_400mb.py`);
    const total = streamBytes(result, "stdout");
    recordRow(task, { case: "400 MB of stdout, then the JSON", isolation, outcome: result.success ? "result found; truncation flagged" : String(result.errorMessage), wallMs, figure: `${mb(total)} seen, 8.4 MB kept` });
    expect(result).toMatchObject({ success: true, metrics: { megabytes_printed: 400 }, outputTruncated: { stdout: true, stderr: false } });
    expect(total).toBeGreaterThan(400e6);
  });

  it("200 MB with no newline: result found, truncation flagged", async ({ task }) => {
    const { result, wallMs } = await timedRun(on, `${HOSTILE}spam_200mb_no_newline.py`);
    const total = streamBytes(result, "stdout");
    recordRow(task, { case: "200 MB with no newline", isolation, outcome: result.success ? "result found; truncation flagged" : String(result.errorMessage), wallMs, figure: `${mb(total)} seen` });
    expect(result).toMatchObject({ success: true, outputTruncated: { stdout: true } });
    expect(total).toBeGreaterThan(200e6);
  });

  it("runner RSS while a script prints 1 GiB (measured in a child process)", async ({ task }) => {
    await compileOnce();
    const started = performance.now();
    const report = await runChild({ scriptPath: `${HOSTILE}spam_1gib.py`, warmUpScript: `${SCRIPTS}example_success.py`, options: { isolation, pythonExecutable: testPython(), timeout: 120 } });
    const wallMs = performance.now() - started;
    const done = report.done as { peakRssBytes: number; baselineRssBytes: number; success: boolean; outputTruncated: { stdout: boolean } };
    recordRow(task, {
      case: "runner RSS while printing 1 GiB",
      isolation,
      outcome: done.success ? "result found; truncation flagged" : "failed",
      wallMs,
      figure: `peak RSS ${mb(done.peakRssBytes)} (baseline ${mb(done.baselineRssBytes)})`,
    });
    expect(done.success).toBe(true);
    expect(done.outputTruncated.stdout).toBe(true);
    expect(done.peakRssBytes).toBeLessThan(200e6);
    // Bounded, not proportional to the output: the capture buffers and V8's uncollected socket chunks.
    expect(done.peakRssBytes - done.baselineRssBytes).toBeLessThan(120e6);
  });
});

describe.each(["docker", "subprocess"] as const)("%s isolation: races at exactly the deadline", (isolation) => {
  const timeoutS = 1;
  it("a script that ends at the deadline gets one consistent verdict", async ({ task }) => {
    // The script's clock starts a little after the runner's (interpreter start-up, and in docker
    // the container's init): these offsets straddle the real deadline in both isolations.
    const offsets = [-0.3, -0.15, -0.08, -0.03, 0, 0.05];
    const verdicts: string[] = [];
    const started = performance.now();
    let worstMs = 0;
    for (const offset of offsets) {
      const on = runner({ isolation, timeout: timeoutS, env: { SLEEP_SECONDS: String(timeoutS + offset) } });
      const { result, wallMs } = await timedRun(on, `${HOSTILE}sleep_then_result.py`);
      worstMs = Math.max(worstMs, wallMs - timeoutS * 1000);
      if (result.success) {
        expect(result).toMatchObject({ timedOut: false, exitCode: 0, errorMessage: null });
        verdicts.push("ok");
      } else {
        expect(result).toMatchObject({ timedOut: true, errorMessage: `Experiment timed out after ${timeoutS} seconds` });
        verdicts.push("timeout");
      }
    }
    const wallMs = performance.now() - started;
    const ok = verdicts.filter((verdict) => verdict === "ok").length;
    recordRow(task, {
      case: `script ends at the deadline (${offsets.length} offsets, -300..+50 ms)`,
      isolation,
      outcome: `${ok} finished, ${verdicts.length - ok} timed out; none confused`,
      wallMs,
      figure: `worst deadline to result ${ms(worstMs)}`,
    });
    expect(verdicts).toHaveLength(offsets.length);
    expect(worstMs).toBeLessThan(LOOSE_DEADLINE_TO_RESULT_MS);
    if (isolation === "docker") expect(await containersOfThisProcess()).toEqual([]);
  });
});

describe.skipIf(!runscAvailable)("docker isolation under gVisor (runsc)", () => {
  const on = runner({ isolation: "docker", runtime: "runsc" });

  it("root, capabilities, network, writes: isolated", async ({ task }) => {
    const started = performance.now();
    const identity = await on.run({ scriptPath: `${HOSTILE}identity.py`, spec });
    const network = await on.run({ scriptPath: `${HOSTILE}network_probe.py`, spec });
    const writes = await on.run({ scriptPath: `${HOSTILE}fs_writes.py`, spec });
    const secrets = await on.run({ scriptPath: `${HOSTILE}read_secrets.py`, spec });
    const wallMs = performance.now() - started;
    recordRow(task, {
      case: "identity, network, writes, secrets",
      isolation: "docker (runsc)",
      outcome: `uid ${identity.metrics.uid}, CapEff ${identity.metrics.cap_eff}; network blocked; rootfs and script folder read-only; no secret`,
      wallMs,
      figure: "4 runs",
    });
    // gVisor's /proc does not show NoNewPrivs or seccomp (the sentry is filtered on the host instead).
    expect(identity.metrics).toMatchObject({ uid: 10001, cap_eff: 0, cap_prm: 0, became_root: 0, engine_sockets_present: 0 });
    expect(network.metrics).toEqual({ egress_1_1_1_1_53_blocked: 1, host_gateway_2375_blocked: 1, only_loopback: 1, engine_socket_absent: 1 });
    expect(Object.values(writes.metrics).every((value) => value === 1)).toBe(true);
    expect(secrets.metrics.fake_secret_visible).toBe(0);
  });

  it("memory bomb: says it ran out of memory", async ({ task }) => {
    const { result, wallMs } = await timedRun(runner({ isolation: "docker", runtime: "runsc", memoryBytes: LOW_MEMORY_BYTES }), `${HOSTILE}memory_bomb.py`);
    recordRow(task, { case: "memory bomb", isolation: "docker (runsc)", outcome: `${result.errorMessage} (exit ${result.exitCode})`, wallMs, figure: result.warnings.join("; ") || "engine flag" });
    expect(result).toMatchObject({ success: false, oomKilled: true, errorMessage: "Experiment ran out of memory (limit 256 MiB)" });
  });

  it("fork bomb: contained (the sandbox ends, or the deadline)", async ({ task }) => {
    const { result, wallMs } = await timedRun(runner({ isolation: "docker", runtime: "runsc", timeout: DEADLINE_S }), `${HOSTILE}fork_bomb.py`);
    recordRow(task, {
      case: "fork bomb",
      isolation: "docker (runsc)",
      outcome: String(result.errorMessage),
      wallMs,
      figure: `${/fork failed: (.*)/.exec(result.stdoutTail)?.[1] ?? "no fork refused before the end"}; deadline to result ${ms(wallMs - DEADLINE_S * 1000)}`,
    });
    expect(result.success).toBe(false);
    expect(wallMs - DEADLINE_S * 1000).toBeLessThan(LOOSE_DEADLINE_TO_RESULT_MS);
  });

  it("cost: wall time of a small run, runc against runsc", async ({ task }) => {
    const runc = runner({ isolation: "docker" });
    const median = async (on_: ExperimentRunner): Promise<number> => {
      const times: number[] = [];
      for (let index = 0; index < 5; index += 1) {
        const { result, wallMs } = await timedRun(on_, `${SCRIPTS}example_success.py`);
        expect(result.success).toBe(true);
        times.push(wallMs);
      }
      return times.sort((a, b) => a - b)[2]!;
    };
    const started = performance.now();
    const runcMs = await median(runc);
    const runscMs = await median(on);
    recordRow(task, {
      case: "cost of gVisor (example_success.py, median of 5)",
      isolation: "docker (runc vs runsc)",
      outcome: "both succeed",
      wallMs: performance.now() - started,
      figure: `runc ${ms(runcMs)}, runsc ${ms(runscMs)} (+${ms(runscMs - runcMs)}, x${(runscMs / runcMs).toFixed(1)})`,
    });
    expect(runscMs).toBeGreaterThan(0);
  });
});

describe("leftovers", () => {
  it("50 runs at concurrency 4, half cancelled mid-run, leave zero containers", async ({ task }) => {
    const quick = runner({ isolation: "docker", env: { SLEEP_SECONDS: "0.2" } });
    const slow = runner({ isolation: "docker", env: { SLEEP_SECONDS: "30" } });
    // Cancel at every phase: before create, during create and start, while running.
    const cancelAfterMs = [0, 10, 30, 60, 100, 200, 400, 800, 1200];
    const outcomes: { cancelled: boolean; result: ExperimentResult; abortToResultMs: number }[] = [];
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (next < 50) {
        const index = next;
        next += 1;
        if (index % 2 === 0) {
          outcomes.push({ cancelled: false, result: await quick.run({ scriptPath: `${HOSTILE}sleep_then_result.py`, spec }), abortToResultMs: 0 });
          continue;
        }
        const controller = new AbortController();
        let abortedAt = 0;
        setTimeout(() => {
          abortedAt = performance.now();
          controller.abort();
        }, cancelAfterMs[(index >> 1) % cancelAfterMs.length]);
        const result = await slow.run({ scriptPath: `${HOSTILE}sleep_then_result.py`, spec, signal: controller.signal });
        outcomes.push({ cancelled: true, result, abortToResultMs: performance.now() - abortedAt });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await closeRunners();
    const left = await containersOfThisProcess();
    const wallMs = performance.now() - started;
    const cancelled = outcomes.filter((outcome) => outcome.cancelled);
    const worst = Math.max(...cancelled.map((outcome) => outcome.abortToResultMs));
    recordRow(task, {
      case: "50 runs at concurrency 4, half cancelled",
      isolation: "docker",
      outcome: `${cancelled.filter((outcome) => outcome.result.cancelled).length} cancelled, ${outcomes.filter((outcome) => outcome.result.success).length} succeeded, ${left.length} containers left`,
      wallMs,
      figure: `worst cancel to result ${ms(worst)}`,
    });
    expect(outcomes).toHaveLength(50);
    for (const outcome of cancelled) expect(outcome.result).toMatchObject({ cancelled: true, success: false, errorMessage: "Experiment was cancelled" });
    for (const outcome of outcomes.filter((item) => !item.cancelled)) expect(outcome.result.success).toBe(true);
    expect(worst).toBeLessThan(LOOSE_DEADLINE_TO_RESULT_MS);
    expect(left).toEqual([]);
  });

  it("a runner SIGKILLed mid-run: its container ends itself at its own deadline, and `cleanup` removes it", async ({ task }) => {
    const runnerTimeoutS = 2;
    const started = performance.now();
    const child = await spawnChild({ scriptPath: `${SCRIPTS}sleep_forever.py`, options: { isolation: "docker", timeout: runnerTimeoutS } });
    const childPid = child.pid!;
    const ofChild = async (): Promise<{ Id: string; State: string; Status: string }[]> =>
      docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.ownerPid}=${childPid}`] }) });
    let running: { Id: string } | undefined;
    for (let attempt = 0; attempt < 200 && running === undefined; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      running = (await ofChild()).find((container) => container.State === "running");
    }
    expect(running).toBeDefined();
    const container = docker.getContainer(running!.Id);
    const startedAt = Date.parse((await container.inspect()).State.StartedAt);
    const ownDeadline = startedAt + (runnerTimeoutS + CONTAINER_DEADLINE_SLACK_SECONDS) * 1000;
    const stopped = (container.wait() as Promise<{ StatusCode: number }>).then(
      (response) => ({ at: Date.now(), exit: response.StatusCode }),
      () => ({ at: Date.now(), exit: null }),
    );
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const killedAt = Date.now();
    // Belt and braces: with its runner gone, the container still ends at its own deadline
    // (timeout(1) inside it). On a shared engine another runner's start sweep may remove it
    // first (its owner is gone): that is also "nothing left running".
    const stop = await stopped;
    const ownDeadlineHit = Math.abs(stop.at - ownDeadline) < 1500;
    const exitedOnItsOwn = ownDeadlineHit ? `ended itself at its own deadline (exit ${stop.exit})` : `removed by another runner's sweep (exit ${stop.exit})`;
    const endedAfterKillMs = stop.at - killedAt;
    const cleanup = execFileSync(process.execPath, [`${COMPILED}/cli/main.js`, "cleanup", "--json"], { cwd: REPO_ROOT, encoding: "utf8" });
    const removed = (JSON.parse(cleanup) as { removed: { id: string; reason: string }[] }).removed;
    const left = await ofChild();
    recordRow(task, {
      case: "runner SIGKILLed mid-run, then `cleanup`",
      isolation: "docker",
      outcome: `container ${exitedOnItsOwn}; cleanup: ${removed.find((item) => item.id === running!.Id)?.reason ?? "nothing left to remove"}; ${left.length} left`,
      wallMs: performance.now() - started,
      figure: `ended ${ms(endedAfterKillMs)} after the runner died`,
    });
    expect(stop.at).toBeLessThan(ownDeadline + 1500);
    expect(left).toEqual([]);
  });

  it("zero containers of ours after the suite", async ({ task }) => {
    await closeRunners();
    const left = await containersOfThisProcess();
    recordRow(task, { case: "containers left after the suite", isolation: "docker", outcome: `${left.length} containers`, wallMs: 0, figure: `label ${LABELS.ownerPid}=${process.pid}` });
    expect(left).toEqual([]);
  });
});

interface ChildRequest {
  scriptPath: string;
  options: ExperimentRunnerOptions;
  warmUpScript?: string;
}

/** The library compiled as shipped, for processes of their own (inside the repo, so node_modules resolves). */
const COMPILED = `${REPO_ROOT}.cache/hostile-suite-dist`;
let compiled: Promise<void> | undefined;
function compileOnce(): Promise<void> {
  compiled ??= new Promise<void>((resolve, reject) => {
    const tsc = spawn(process.execPath, [`${REPO_ROOT}node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json", "--outDir", COMPILED, "--declaration", "false", "--sourceMap", "false"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    tsc.once("error", reject);
    tsc.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited with ${code}`))));
  });
  return compiled;
}

async function spawnChild(request: ChildRequest): Promise<ReturnType<typeof spawn>> {
  await compileOnce();
  return spawn(process.execPath, ["test/support/runner-child.mjs", COMPILED, JSON.stringify(request)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** Runs test/support/runner-child.mjs to its end; its JSON lines by event. */
async function runChild(request: ChildRequest): Promise<Record<string, unknown>> {
  const child = await spawnChild(request);
  const events: Record<string, unknown> = {};
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    const event = JSON.parse(line) as { event: string };
    events[event.event] = event;
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(code).toBe(0);
  return events;
}
