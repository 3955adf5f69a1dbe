import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { resolveConcurrency } from "../../batch/concurrency.js";
import { JsonlWriter } from "../../batch/jsonl.js";
import { renderJunit } from "../../batch/junit.js";
import { choosePrimaryMetric, type MetricDirection } from "../../batch/leaderboard.js";
import { formatMetricValue, renderMarkdown } from "../../batch/markdown.js";
import { createProgressReporter } from "../../batch/progress.js";
import { planBatch, prepareBatch } from "../../batch/sources.js";
import { buildSummary, exitCodeFor, type BatchRecord, type BatchSummary, type FailOn } from "../../batch/summary.js";
import { buildUnrunResult, NOT_STARTED_MESSAGE } from "../../batch/unrun-result.js";
import { ExperimentExecutionError, messageOf } from "../../errors.js";
import { CodeGenerator } from "../../execution/code-generator.js";
import { ExperimentRunner, type RunnerDependencies } from "../../execution/experiment-runner.js";
import { parse, RUNNER_FLAGS, RUNNER_FLAGS_HELP, runnerOptionsFromFlags, UsageError } from "../args.js";
import { table } from "../format.js";
import type { CommandIo } from "../io.js";

export const DEFAULT_CI_OUT = "out/ci";
export const DEFAULT_FAIL_ON: FailOn = "any";

export const CI_HELP = `Usage: experiment-sandbox ci <folder | glob | script.py | manifest.json>... [options]

Runs a batch of experiment scripts with bounded concurrency and writes reports for people
and CI systems. A folder runs its *.py files (not recursive: use a glob such as 'dir/**/*.py');
a manifest (.json) lists specs with data, target and task, generated, then run.

  --concurrency <n>               runs at once; default: the CPU count, never more than memory
                                  allows at the per-run memory limit (--memory-mb)
  --out <dir>                     reports and generated scripts (default: ${DEFAULT_CI_OUT})
  --jsonl <path>                  every result as it finishes (default: <out>/results.jsonl)
  --junit <path>                  JUnit XML (default: <out>/junit.xml)
  --json <path>                   JSON summary (default: <out>/summary.json)
  --summary <path>                Markdown summary with the leaderboard (default: <out>/summary.md);
                                  also appended to $GITHUB_STEP_SUMMARY when that is set
  --metric <name>                 the leaderboard's metric (default: f1, else accuracy, for
                                  classification; rmse for regression)
  --metric-direction higher|lower default: lower for rmse, mae, mse, log_loss and names with
                                  "error" or "loss"; higher otherwise
  --fail-on any|all|none          exit 1 if any run failed (default) / only if all failed / never

Exit codes: 0 as --fail-on allows, 1 as it does not, 2 usage error or broken machinery,
130 (SIGINT) or 143 (SIGTERM) when interrupted: running containers are killed, reports are
written with what finished.

${RUNNER_FLAGS_HELP.replace(/\n\s*--json\s.*$/m, "")}`;

export const CI_FLAGS = {
  ...RUNNER_FLAGS,
  json: { type: "string" },
  concurrency: { type: "string" },
  out: { type: "string" },
  jsonl: { type: "string" },
  junit: { type: "string" },
  summary: { type: "string" },
  metric: { type: "string" },
  "metric-direction": { type: "string" },
  "fail-on": { type: "string" },
} as const;

export interface CiDependencies {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  cpuCount?: number;
  totalMemoryBytes?: number;
  runner?: RunnerDependencies;
  now?: () => Date;
}

export interface CiReportPaths {
  jsonl: string;
  junit: string;
  json: string;
  summary: string;
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

function interruptName(signal: AbortSignal): string | null {
  if (!signal.aborted) return null;
  return typeof signal.reason === "string" ? signal.reason : "SIGINT";
}

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${allowed.join(", ")}; got ${JSON.stringify(value)}`);
  return value as T;
}

async function writeReport(path: string, what: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    throw new ExperimentExecutionError("INVALID_OPTIONS", `cannot write the ${what} ${path}: ${messageOf(error)}`, { cause: error });
  }
}

export function ciCommand(argv: string[], io: CommandIo): Promise<number> {
  return runCi(argv, io);
}

export async function runCi(argv: string[], io: CommandIo, deps: CiDependencies = {}): Promise<number> {
  const { values, positionals } = parse(argv, CI_FLAGS);
  if (values.help === true) {
    io.out(CI_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`ci needs a folder, a glob, a script or a manifest\n\n${CI_HELP}`);
  const failOn = oneOf(values["fail-on"], "fail-on", ["any", "all", "none"] as const, DEFAULT_FAIL_ON);
  const direction: MetricDirection | undefined =
    values["metric-direction"] === undefined ? undefined : oneOf(values["metric-direction"], "metric-direction", ["higher", "lower"] as const, "higher");
  let requested: number | undefined;
  if (values.concurrency !== undefined) {
    requested = Number(values.concurrency);
    if (!Number.isInteger(requested) || requested < 1) throw new UsageError(`--concurrency must be a positive integer, got ${JSON.stringify(values.concurrency)}`);
  }
  const env = deps.env ?? process.env;
  const cwd = deps.cwd ?? process.cwd();
  const now = deps.now ?? (() => new Date());
  const outDir = resolve(cwd, values.out ?? DEFAULT_CI_OUT);
  const paths: CiReportPaths = {
    jsonl: resolve(cwd, values.jsonl ?? join(outDir, "results.jsonl")),
    junit: resolve(cwd, values.junit ?? join(outDir, "junit.xml")),
    json: resolve(cwd, values.json ?? join(outDir, "summary.json")),
    summary: resolve(cwd, values.summary ?? join(outDir, "summary.md")),
  };

  const runner = new ExperimentRunner(runnerOptionsFromFlags(values), { logger: io.logger, ...deps.runner });
  try {
    const plan = await planBatch(positionals, cwd);
    const { items, tasks } = await prepareBatch(plan, { generatedDir: join(outDir, "generated"), generator: new CodeGenerator() });
    const decision = resolveConcurrency({
      requested,
      cpuCount: deps.cpuCount ?? availableParallelism(),
      totalMemoryBytes: deps.totalMemoryBytes ?? totalmem(),
      memoryBytes: runner.options.docker.memoryBytes,
      itemCount: items.length,
    });
    if (decision.note !== undefined) io.err(`experiment-sandbox: ${decision.note}`);
    io.err(`experiment-sandbox: ${items.length} experiment${items.length === 1 ? "" : "s"}, ${runner.isolation} isolation, concurrency ${decision.concurrency}`);

    const startedAt = now();
    const records: Array<BatchRecord | undefined> = new Array<BatchRecord | undefined>(items.length).fill(undefined);
    const jsonl = await JsonlWriter.create(paths.jsonl);
    const progress = createProgressReporter({
      total: items.length,
      isTty: io.isTty && io.write !== undefined,
      write: io.write ?? ((text) => io.out(text.replace(/\n$/, ""))),
    });
    let failure: unknown;
    try {
      await runner.runMany(items, {
        concurrency: decision.concurrency,
        signal: io.signal,
        onStart: (_item, index) => progress.start(index),
        onResult: async (result, index) => {
          const record: BatchRecord = { index, result, started: true };
          records[index] = record;
          await jsonl.append(result);
          progress.finish(record);
        },
      });
    } catch (error) {
      failure = error;
    } finally {
      progress.stop();
      await jsonl.close();
    }

    const interrupted = interruptName(io.signal);
    const notStartedMessage = failure !== undefined ? `Not started: the batch stopped on an error (${messageOf(failure)})` : NOT_STARTED_MESSAGE;
    const complete: BatchRecord[] = records.map(
      (record, index) =>
        record ?? {
          index,
          started: false,
          result: buildUnrunResult({ ...items[index]!, isolation: runner.isolation, startedAt: now(), errorMessage: notStartedMessage, cancelled: true }),
        },
    );
    const summary = buildSummary(complete, {
      startedAt,
      finishedAt: now(),
      interrupted,
      error: failure !== undefined ? messageOf(failure) : null,
      isolation: runner.isolation,
      concurrency: decision.concurrency,
      metric: choosePrimaryMetric(complete, { requested: values.metric, direction, tasks: tasks.filter((task) => task !== undefined) }),
    });
    const markdown = renderMarkdown(summary);
    const writes = [
      writeReport(paths.junit, "JUnit report", renderJunit(complete, { timestamp: startedAt })),
      writeReport(paths.json, "JSON summary", `${JSON.stringify(summary, null, 2)}\n`),
      writeReport(paths.summary, "Markdown summary", markdown),
    ];
    const stepSummary = env.GITHUB_STEP_SUMMARY;
    if (stepSummary !== undefined && stepSummary !== "") {
      writes.push(
        appendFile(stepSummary, `${markdown}\n`).catch((error: unknown) => {
          io.err(`experiment-sandbox: could not append to $GITHUB_STEP_SUMMARY (${stepSummary}): ${messageOf(error)}`);
        }),
      );
    }
    const written = await Promise.allSettled(writes);
    io.out(formatCiSummary(summary, paths, cwd));
    if (failure !== undefined) throw failure;
    const writeError = written.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    if (writeError !== undefined) throw writeError.reason;
    if (interrupted !== null) return SIGNAL_EXIT_CODES[interrupted] ?? 130;
    return exitCodeFor(summary.counts, failOn);
  } finally {
    await runner.close();
  }
}

/** The closing text on stdout: counts, the top of the leaderboard, where the reports are. */
export function formatCiSummary(summary: BatchSummary, paths: CiReportPaths, cwd: string): string {
  const { counts, leaderboard } = summary;
  const parts = [`${counts.passed} passed`, `${counts.failed} failed${counts.timedOut > 0 ? ` (${counts.timedOut} timed out)` : ""}`];
  if (counts.cancelled > 0) parts.push(`${counts.cancelled} cancelled`);
  if (counts.notRun > 0) parts.push(`${counts.notRun} not run`);
  const lines = [`${summary.interrupted !== null ? `interrupted by ${summary.interrupted}: ` : ""}${counts.total} experiments: ${parts.join(", ")} in ${summary.durationSeconds.toFixed(1)} s`];
  if (leaderboard.metric !== null && leaderboard.rows.length > 0) {
    lines.push(`leaderboard by ${leaderboard.metric.name} (${leaderboard.metric.direction} is better):`);
    const rows = leaderboard.rows.slice(0, 10).map((row) => [String(row.rank), row.experimentName, row.modelType, formatMetricValue(row.value)]);
    lines.push(table(["#", "experiment", "model", leaderboard.metric.name], rows).replace(/^/gm, "  "));
    if (leaderboard.rows.length > 10) lines.push(`  ... ${leaderboard.rows.length - 10} more in the summary`);
  }
  const show = (path: string): string => {
    const near = relative(cwd, path);
    return near !== "" && !near.startsWith("..") ? near : path;
  };
  lines.push(`reports: ${show(paths.junit)}, ${show(paths.json)}, ${show(paths.summary)}, ${show(paths.jsonl)}`);
  return lines.join("\n");
}
