/**
 * `make bench`: what isolation costs over a bare subprocess, and what the warm pool gives back.
 *
 * For the same scripts in the same run, interleaved so that noise falls on every mode alike:
 * latency (median, p90) of an empty script, a LogisticRegression experiment on penguins and a
 * RandomForest on diamonds, under subprocess, docker cold and docker warm-pool, with ratios
 * against subprocess; the docker lifecycle by phase; throughput of 20 runs at concurrency 1, 2
 * and 4; the runner's peak RSS while a script prints 1 GiB. Prints tables and writes
 * bench-results/bench.json. Warm latency is measured with a warm container waiting (the bench
 * waits for the pool to refill between runs, as an agent's think time would); throughput is
 * measured saturated, so there the pool refills while runs go on.
 *
 * Environment: EXPERIMENT_BENCH_PYTHON (host Python, default: scripts/ensure-host-python.sh),
 * BENCH_RUNS (latency runs per script and mode, default 10), BENCH_THROUGHPUT_RUNS (20),
 * BENCH_SPAM_MIB (1024), BENCH_OUT (bench-results).
 */
import { execFileSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Dockerode from "dockerode";
import { pino } from "pino";
import { CodeGenerator } from "../src/execution/code-generator.js";
import { ExperimentRunner } from "../src/execution/experiment-runner.js";
import { resolveRunnerOptions } from "../src/execution/runner-options.js";
import { DockerSandbox } from "../src/sandbox/docker/docker-sandbox.js";
import type { Sandbox, SandboxOutcome, SandboxRunRequest } from "../src/sandbox/sandbox.js";
import { SubprocessSandbox } from "../src/sandbox/subprocess/subprocess-sandbox.js";
import { medianPhases, mib, ms, ratio, summarize, table, type Summary } from "./stats.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const OUT = resolve(REPO, process.env.BENCH_OUT ?? "bench-results");
const RUNS = positiveInt("BENCH_RUNS", 10);
const THROUGHPUT_RUNS = positiveInt("BENCH_THROUGHPUT_RUNS", 20);
const SPAM_MIB = positiveInt("BENCH_SPAM_MIB", 1024);
const CONCURRENCY = [1, 2, 4];
const TIMEOUT_SECONDS = 180;
const DIAMONDS = resolve(REPO, "../shared/data/diamonds.csv");
const PENGUINS = resolve(REPO, "data/penguins.csv");

type Mode = "subprocess" | "cold" | "warm";
const MODES: Mode[] = ["subprocess", "cold", "warm"];

interface Workload {
  key: string;
  label: string;
  scriptPath: string;
}

interface RunSample {
  wallMs: number;
  ok: boolean;
  pooled: boolean;
  timings: Record<string, number>;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

function say(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

function hostPython(): string {
  if (process.env.EXPERIMENT_BENCH_PYTHON) return process.env.EXPERIMENT_BENCH_PYTHON;
  return execFileSync(join(REPO, "scripts/ensure-host-python.sh"), { encoding: "utf8" }).trim();
}

/** A sandbox that keeps the last outcome, so the bench sees timings and whether the pool served. */
class Recording implements Sandbox {
  last: SandboxOutcome | undefined;
  /** Runs a warm-pool container served. */
  pooledRuns = 0;
  constructor(private readonly inner: Sandbox) {}
  get isolation(): "docker" | "subprocess" {
    return this.inner.isolation;
  }
  get limits(): Sandbox["limits"] {
    return this.inner.limits;
  }
  async run(request: SandboxRunRequest): Promise<SandboxOutcome> {
    this.last = await this.inner.run(request);
    if (this.last.pooled === true) this.pooledRuns += 1;
    return this.last;
  }
  async warmUp(): Promise<void> {
    await this.inner.warmUp?.();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Harness {
  mode: Mode;
  runner: ExperimentRunner;
  recording: Recording;
}

function harness(mode: Mode, python: string, docker: Dockerode, poolSize = 1): Harness {
  const logger = pino({ level: process.env.EXPERIMENT_SANDBOX_LOG_LEVEL ?? "warn" }, pino.destination(2));
  const options = {
    timeout: TIMEOUT_SECONDS,
    ...(mode === "subprocess" ? { isolation: "subprocess" as const, pythonExecutable: python } : { isolation: "docker" as const }),
    ...(mode === "warm" ? { pool: { size: poolSize } } : {}),
  };
  const resolved = resolveRunnerOptions(options);
  const inner: Sandbox =
    mode === "subprocess"
      ? new SubprocessSandbox({ pythonExecutable: python, maxOutputBytes: resolved.maxOutputBytes, killGraceMs: resolved.killGraceMs, logger })
      : new DockerSandbox({
          docker,
          limits: resolved.docker,
          maxOutputBytes: resolved.maxOutputBytes,
          logger,
          sweepOnStart: false,
          pool: resolved.pool !== null ? { ...resolved.pool, maxRunMs: TIMEOUT_SECONDS * 1000, env: resolved.env } : null,
        });
  const recording = new Recording(inner);
  return { mode, recording, runner: new ExperimentRunner(options, { sandbox: recording, logger }) };
}

async function runOnce(h: Harness, workload: Workload): Promise<RunSample> {
  // A warm container is waiting; if the pool cannot fill, the run goes on (cold) and is counted.
  if (h.mode === "warm") await h.runner.warmUp().catch((error: unknown) => say(`warm pool not full: ${String(error)}`));
  const started = performance.now();
  const result = await h.runner.run({ scriptPath: workload.scriptPath, spec: { experimentName: `bench-${workload.key}`, hypothesis: "", modelType: "bench" } });
  const wallMs = performance.now() - started;
  const outcome = h.recording.last!;
  const ok = workload.key === "empty" ? outcome.exitCode === 0 : result.success;
  if (!ok) say(`${h.mode} ${workload.key} failed: ${result.errorMessage ?? `exit ${outcome.exitCode}`}`);
  return { wallMs, ok, pooled: outcome.pooled === true, timings: outcome.timings ?? {} };
}

async function prepareWorkloads(): Promise<Workload[]> {
  const scripts = join(OUT, "scripts");
  await rm(scripts, { recursive: true, force: true });
  await mkdir(join(scripts, "empty"), { recursive: true });
  const empty = join(scripts, "empty", "empty.py");
  await writeFile(empty, "");
  const generator = new CodeGenerator();
  const penguins = await generator.generate({
    spec: { experimentName: "penguins_logistic_regression", hypothesis: "", modelType: "LogisticRegression" },
    dataPath: PENGUINS,
    targetColumn: "species",
    taskType: "classification",
    outputDir: join(scripts, "penguins"),
  });
  const diamonds = await generator.generate({
    spec: { experimentName: "diamonds_random_forest", hypothesis: "", modelType: "RandomForestRegressor", modelParams: { n_estimators: 8, max_depth: 8 } },
    dataPath: DIAMONDS,
    targetColumn: "price",
    taskType: "regression",
    outputDir: join(scripts, "diamonds"),
    cvFolds: 2,
  });
  await mkdir(join(scripts, "spam"), { recursive: true });
  const spam = join(scripts, "spam", "spam.py");
  await writeFile(
    spam,
    `import sys\nline = b"x" * 1048575 + b"\\n"\nwrite = sys.stdout.buffer.write\nfor _ in range(${SPAM_MIB}):\n    write(line)\nprint('{"success": true, "metrics": {}}')\n`,
  );
  return [
    { key: "empty", label: "(a) empty script", scriptPath: empty },
    { key: "penguins", label: "(b) LogisticRegression, penguins", scriptPath: penguins },
    { key: "diamonds", label: "(c) RandomForest, diamonds", scriptPath: diamonds },
    { key: "spam", label: `prints ${SPAM_MIB} MiB`, scriptPath: spam },
  ];
}

interface LatencyReport {
  workload: string;
  label: string;
  modes: Record<Mode, Summary & { failures: number; fallbacks: number; samplesMs: number[] }>;
  phases: { cold: Record<string, number>; warm: Record<string, number> };
}

async function latency(harnesses: Record<Mode, Harness>, workload: Workload): Promise<LatencyReport> {
  const samples: Record<Mode, RunSample[]> = { subprocess: [], cold: [], warm: [] };
  say(`latency: ${workload.label}, ${RUNS} runs per mode (+1 discarded), interleaved`);
  const measure = async (mode: Mode): Promise<RunSample> => {
    // No pool refill in the background while another mode is measured.
    await harnesses.warm.runner.warmUp().catch((error: unknown) => say(`warm pool not full: ${String(error)}`));
    return runOnce(harnesses[mode], workload);
  };
  for (const mode of MODES) await measure(mode); // page cache, first-run costs
  for (let index = 0; index < RUNS; index += 1) {
    // Interleaved, the order rotating, so that drift and noise fall on every mode alike.
    for (let turn = 0; turn < MODES.length; turn += 1) {
      const mode = MODES[(index + turn) % MODES.length]!;
      samples[mode].push(await measure(mode));
    }
  }
  const modes = Object.fromEntries(
    MODES.map((mode) => {
      const runs = samples[mode];
      return [
        mode,
        {
          ...summarize(runs.map((run) => run.wallMs)),
          failures: runs.filter((run) => !run.ok).length,
          fallbacks: mode === "warm" ? runs.filter((run) => !run.pooled).length : 0,
          samplesMs: runs.map((run) => Math.round(run.wallMs * 10) / 10),
        },
      ];
    }),
  ) as LatencyReport["modes"];
  return {
    workload: workload.key,
    label: workload.label,
    modes,
    phases: { cold: medianPhases(samples.cold.map((run) => run.timings)), warm: medianPhases(samples.warm.map((run) => run.timings)) },
  };
}

interface ThroughputRow {
  mode: Mode;
  concurrency: number;
  runs: number;
  wallMs: number;
  runsPerMinute: number;
  failures: number;
  pooled: number;
}

async function throughput(python: string, docker: Dockerode, workload: Workload): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const concurrency of CONCURRENCY) {
    for (const mode of MODES) {
      const h = harness(mode, python, docker, concurrency);
      try {
        await h.runner.warmUp().catch((error: unknown) => say(`warm pool not full: ${String(error)}`));
        say(`throughput: ${mode}, ${THROUGHPUT_RUNS} runs of ${workload.key} at concurrency ${concurrency}`);
        let next = 0;
        let failures = 0;
        const started = performance.now();
        const worker = async (): Promise<void> => {
          while (next < THROUGHPUT_RUNS) {
            next += 1;
            const result = await h.runner.run({ scriptPath: workload.scriptPath, spec: { experimentName: "bench-throughput", hypothesis: "", modelType: "bench" } });
            if (!result.success) failures += 1;
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        const wallMs = performance.now() - started;
        const pooled = h.recording.pooledRuns;
        rows.push({ mode, concurrency, runs: THROUGHPUT_RUNS, wallMs, runsPerMinute: (THROUGHPUT_RUNS * 60_000) / wallMs, failures, pooled });
      } finally {
        await h.runner.close();
      }
    }
  }
  return rows;
}

interface RssRow {
  mode: Mode;
  printedMiB: number;
  capturedBytes: number;
  wallMs: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
}

async function peakRss(harnesses: Record<Mode, Harness>, workload: Workload): Promise<RssRow[]> {
  const rows: RssRow[] = [];
  for (const mode of MODES) {
    const h = harnesses[mode];
    if (mode === "warm") await h.runner.warmUp().catch((error: unknown) => say(`warm pool not full: ${String(error)}`));
    const rssBeforeBytes = process.memoryUsage.rss();
    let peakRssBytes = rssBeforeBytes;
    const sampler = setInterval(() => {
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
    }, 5);
    say(`peak RSS: ${mode}, a script that prints ${SPAM_MIB} MiB`);
    const started = performance.now();
    const direct = await h.runner.runScriptDirectly(workload.scriptPath);
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
    if (direct.returncode !== 0) say(`${mode} spam exited ${direct.returncode}`);
    rows.push({ mode, printedMiB: SPAM_MIB, capturedBytes: h.recording.last?.stdout.totalBytes ?? 0, wallMs, rssBeforeBytes, peakRssBytes });
  }
  return rows;
}

function environment(python: string, docker: { version: string; runtime: string }): Record<string, unknown> {
  const pythonVersions = execFileSync(python, ["-c", "import sys, sklearn, numpy, pandas; print(sys.version.split()[0], sklearn.__version__, numpy.__version__, pandas.__version__)"], { encoding: "utf8" })
    .trim()
    .split(" ");
  return {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    docker: docker.version,
    runtime: docker.runtime,
    hostPython: { path: python, python: pythonVersions[0], sklearn: pythonVersions[1], numpy: pythonVersions[2], pandas: pythonVersions[3] },
  };
}

async function main(): Promise<void> {
  const wall = performance.now();
  const python = hostPython();
  const docker = new Dockerode();
  const version = await docker.version();
  const info = (await docker.info()) as { DefaultRuntime?: string };
  await mkdir(OUT, { recursive: true });
  const workloads = await prepareWorkloads();
  const [empty, penguins, diamonds, spam] = workloads as [Workload, Workload, Workload, Workload];
  const harnesses = Object.fromEntries(MODES.map((mode) => [mode, harness(mode, python, docker)])) as Record<Mode, Harness>;
  let latencies: LatencyReport[];
  let rss: RssRow[];
  try {
    await Promise.all(MODES.map((mode) => harnesses[mode].runner.warmUp()));
    latencies = [];
    for (const workload of [empty, penguins, diamonds]) latencies.push(await latency(harnesses, workload));
    rss = await peakRss(harnesses, spam);
  } finally {
    await Promise.all(MODES.map((mode) => harnesses[mode].runner.close()));
  }
  const rates = await throughput(python, docker, penguins);

  const b = latencies.find((report) => report.workload === "penguins")!;
  const targets = {
    coldWithin150MsOfSubprocess: {
      coldMedianMs: b.modes.cold.medianMs,
      limitMs: b.modes.subprocess.medianMs + 150,
      met: b.modes.cold.medianMs <= b.modes.subprocess.medianMs + 150,
    },
    warmAtMostHalfOfSubprocess: {
      warmMedianMs: b.modes.warm.medianMs,
      limitMs: b.modes.subprocess.medianMs * 0.5,
      met: b.modes.warm.medianMs <= b.modes.subprocess.medianMs * 0.5,
    },
  };
  const report = {
    environment: environment(python, { version: version.Version, runtime: info.DefaultRuntime ?? "runc" }),
    config: { runsPerMode: RUNS, throughputRuns: THROUGHPUT_RUNS, concurrency: CONCURRENCY, spamMiB: SPAM_MIB, timeoutSeconds: TIMEOUT_SECONDS, warmPoolSize: 1 },
    latency: latencies,
    targets,
    throughput: rates,
    peakRss: rss,
    benchWallMs: performance.now() - wall,
  };
  await writeFile(join(OUT, "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${render(report)}\n\nwritten: ${join(OUT, "bench.json")} (bench took ${ms(report.benchWallMs)})\n`);
  if (latencies.some((item) => MODES.some((mode) => item.modes[mode].failures > 0)) || rates.some((row) => row.failures > 0)) process.exitCode = 1;
}

function render(report: {
  environment: Record<string, unknown>;
  latency: LatencyReport[];
  targets: Record<string, { met: boolean; limitMs: number } & Record<string, number | boolean>>;
  throughput: ThroughputRow[];
  peakRss: RssRow[];
}): string {
  const env = report.environment;
  const parts: string[] = [
    `experiment-sandbox bench: ${String(env.cpus)} cores (${String(env.cpuModel)}), Docker ${String(env.docker)} (${String(env.runtime)}), node ${String(env.node)}`,
    "",
    "Latency, wall time of runner.run() (median / p90), ratio against subprocess",
    "(b) LogisticRegression on penguins (344 rows, target species); (c) RandomForestRegressor on diamonds (53,940 rows,",
    "target price; 8 trees, depth 8, 2-fold CV); warm: a warm container is waiting (the bench lets the pool refill)",
  ];
  const rows: string[][] = [];
  for (const item of report.latency) {
    const base = item.modes.subprocess;
    for (const mode of MODES) {
      const s = item.modes[mode];
      const notes = [s.failures > 0 ? `${s.failures} failed` : "", s.fallbacks > 0 ? `${s.fallbacks} ran cold` : ""].filter(Boolean).join(", ");
      rows.push([mode === "subprocess" ? item.label : "", mode, ms(s.medianMs), ms(s.p90Ms), ratio(s.medianMs, base.medianMs), ratio(s.p90Ms, base.p90Ms), String(s.n), notes]);
    }
  }
  parts.push(table(["script", "mode", "median", "p90", "x sub (median)", "x sub (p90)", "runs", ""], rows));
  const t = report.targets;
  parts.push(
    "",
    `target (b) cold median <= subprocess median + 150 ms: ${ms(t.coldWithin150MsOfSubprocess!.coldMedianMs as number)} vs ${ms(t.coldWithin150MsOfSubprocess!.limitMs)}: ${t.coldWithin150MsOfSubprocess!.met ? "met" : "NOT met"}`,
    `target (b) warm median <= 0.5 x subprocess median:    ${ms(t.warmAtMostHalfOfSubprocess!.warmMedianMs as number)} vs ${ms(t.warmAtMostHalfOfSubprocess!.limitMs)}: ${t.warmAtMostHalfOfSubprocess!.met ? "met" : "NOT met"}`,
    "",
    "Docker lifecycle, median ms per phase",
  );
  const phaseRows: string[][] = [];
  for (const item of report.latency) {
    const cold = item.phases.cold;
    const warm = item.phases.warm;
    phaseRows.push([item.label, "cold", ms(cold.createMs ?? NaN), ms(cold.startMs ?? NaN), ms(cold.runMs ?? NaN), ms(cold.logsMs ?? NaN), ms(cold.removeMs ?? NaN)]);
    phaseRows.push(["", "warm", `${ms(warm.acquireMs ?? NaN)} take + ${ms(warm.stageMs ?? NaN)} stage`, "(ahead)", ms(warm.runMs ?? NaN), ms(warm.logsMs ?? NaN), ms(warm.removeMs ?? NaN)]);
  }
  parts.push(table(["script", "mode", "create", "start", "run", "logs", "remove"], phaseRows));
  parts.push("", `Throughput, ${report.throughput[0]?.runs ?? 0} runs of (b) (warm: pool size = concurrency, saturated: it refills while runs go on)`);
  parts.push(
    table(
      ["mode", "concurrency", "wall", "runs/min", "pooled", "failed"],
      report.throughput.map((row) => [row.mode, String(row.concurrency), ms(row.wallMs), row.runsPerMinute.toFixed(1), row.mode === "warm" ? `${row.pooled}/${row.runs}` : "-", String(row.failures)]),
    ),
  );
  parts.push("", "Runner's peak RSS while a script prints to stdout (capture keeps head and tail, 8 MiB per stream)");
  parts.push(
    table(
      ["mode", "printed", "wall", "RSS before", "peak RSS", "growth"],
      report.peakRss.map((row) => [row.mode, mib(row.capturedBytes), ms(row.wallMs), mib(row.rssBeforeBytes), mib(row.peakRssBytes), mib(row.peakRssBytes - row.rssBeforeBytes)]),
    ),
  );
  return parts.join("\n");
}

let finished = false;
process.once("exit", () => {
  if (!finished) process.stderr.write("[bench] ended before it finished (a wait with nothing left to wake it)\n");
});
main().then(() => {
  finished = true;
}, (error: unknown) => {
  finished = true;
  process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
