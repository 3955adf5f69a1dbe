import { stat } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { resolve } from "node:path";
import Dockerode from "dockerode";
import { resolveConcurrency } from "../batch/concurrency.js";
import { runPool } from "../batch/run-many.js";
import { buildUnrunResult, NOT_STARTED_MESSAGE } from "../batch/unrun-result.js";
import { ExperimentExecutionError, isExperimentExecutionError, messageOf, type ExperimentExecutionErrorCode } from "../errors.js";
import { createDefaultLogger, type Logger } from "../logger.js";
import { DockerSandbox } from "../sandbox/docker/docker-sandbox.js";
import type { Sandbox, SandboxOutcome } from "../sandbox/sandbox.js";
import { SubprocessSandbox } from "../sandbox/subprocess/subprocess-sandbox.js";
import {
  ExperimentSpecSchema,
  formatZodError,
  type ExperimentResult,
  type ExperimentSpec,
  type ExperimentSpecInput,
} from "../schemas.js";
import { buildExperimentResult } from "./build-result.js";
import { resolveRunnerOptions, type ExperimentRunnerOptions, type ResolvedRunnerOptions } from "./runner-options.js";

export interface RunnerDependencies {
  /** The engine client (default: from DOCKER_HOST, else the local socket). */
  docker?: Dockerode;
  logger?: Logger;
  /** Replace the backend entirely (e.g. a fake in tests of the runner). */
  sandbox?: Sandbox;
}

export interface RunRequest {
  scriptPath: string;
  spec: ExperimentSpecInput;
  iteration?: number;
  /** Seconds, for this run only. */
  timeout?: number;
  signal?: AbortSignal;
}

/** One item of a batch: a run request without its own signal (the batch has one). */
export type BatchItem = Omit<RunRequest, "signal">;

export interface RunManyOptions {
  /** Runs at once; default the CPU count, never more than memory allows at the per-run memory limit. */
  concurrency?: number;
  /** Aborting stops new runs and cancels running ones (their containers are killed). */
  signal?: AbortSignal;
  /** Told when an item starts. */
  onStart?: (item: BatchItem, index: number) => void;
  /** Told as each started item finishes (awaited; a throw stops the batch and rejects it). */
  onResult?: (result: ExperimentResult, index: number) => void | Promise<void>;
}

/**
 * Errors that concern one item only: it gets a failed result and the batch goes on.
 * Any other error (engine unreachable, image missing, ...) would fail every item: the batch stops.
 */
export const ITEM_ERROR_CODES: ReadonlySet<ExperimentExecutionErrorCode> = new Set([
  "SCRIPT_NOT_FOUND",
  "UNSAFE_SCRIPT_FOLDER",
  "INVALID_SPEC",
  "INVALID_OPTIONS",
  "ENGINE_ERROR",
]);

export interface DirectRunResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128+N when killed by signal N; null if unknown. */
  returncode: number | null;
  timedOut: boolean;
}

/**
 * Runs experiment scripts in isolation and turns what they print into ExperimentResults.
 * Script failures are results; only broken machinery throws (ExperimentExecutionError).
 */
export class ExperimentRunner {
  readonly options: ResolvedRunnerOptions;
  private readonly sandbox: Sandbox;
  private readonly logger: Logger;

  constructor(options: ExperimentRunnerOptions = {}, dependencies: RunnerDependencies = {}) {
    this.options = resolveRunnerOptions(options);
    this.logger = dependencies.logger ?? createDefaultLogger();
    this.sandbox = dependencies.sandbox ?? this.createSandbox(dependencies.docker);
  }

  get isolation(): "docker" | "subprocess" {
    return this.sandbox.isolation;
  }

  private createSandbox(docker: Dockerode | undefined): Sandbox {
    const { options, logger } = this;
    if (options.isolation === "subprocess") {
      return new SubprocessSandbox({
        pythonExecutable: options.pythonExecutable,
        maxOutputBytes: options.maxOutputBytes,
        killGraceMs: options.killGraceMs,
        logger,
      });
    }
    return new DockerSandbox({
      docker: docker ?? new Dockerode(),
      limits: options.docker,
      maxOutputBytes: options.maxOutputBytes,
      logger,
      sweepOnStart: options.sweepOnStart,
      pool:
        options.pool !== null
          ? { size: options.pool.size, maxIdleMs: options.pool.maxIdleMs, maxRunMs: Math.round(options.timeoutSeconds * 1000), env: options.env }
          : null,
    });
  }

  /**
   * Gets ready ahead of the first run: checks the engine and the image and, with a warm pool,
   * resolves once the pool is full. Optional: runs work without it (the first may then wait).
   */
  async warmUp(): Promise<void> {
    await this.sandbox.warmUp?.();
  }

  /** Runs a script and returns its ExperimentResult (never throws for what the script does). */
  async run(request: RunRequest): Promise<ExperimentResult> {
    const parsedSpec = ExperimentSpecSchema.safeParse(request.spec);
    if (!parsedSpec.success) {
      throw new ExperimentExecutionError("INVALID_SPEC", `Invalid ExperimentSpec: ${formatZodError(parsedSpec.error)}`);
    }
    const spec: ExperimentSpec = parsedSpec.data;
    const iteration = request.iteration ?? 0;
    if (!Number.isInteger(iteration) || iteration < 0) {
      throw new ExperimentExecutionError("INVALID_OPTIONS", `iteration must be a non-negative integer, got ${iteration}`);
    }
    const startedAt = new Date();
    const { scriptPath, timeoutSeconds, outcome } = await this.execute(request.scriptPath, request.timeout, request.signal);
    const result = buildExperimentResult(outcome, {
      spec,
      iteration,
      scriptPath,
      isolation: this.sandbox.isolation,
      startedAt,
      timeoutSeconds,
      memoryBytes: this.sandbox.limits?.memoryBytes ?? null,
    });
    this.logger.debug(
      { experimentName: spec.experimentName, success: result.success, executionTime: result.executionTime },
      "run finished",
    );
    return result;
  }

  /**
   * Runs a batch with bounded concurrency; resolves with one result per item, in input order.
   * An item that cannot run (missing script, invalid spec) gets a failed result; items not
   * started before `signal` aborted get a cancelled one. Rejects only for broken machinery
   * (after stopping new runs and waiting for running ones), or when `onResult` throws.
   */
  async runMany(items: readonly BatchItem[], options: RunManyOptions = {}): Promise<ExperimentResult[]> {
    if (!Array.isArray(items)) throw new ExperimentExecutionError("INVALID_OPTIONS", "runMany takes an array of run requests");
    let decision;
    try {
      decision = resolveConcurrency({
        requested: options.concurrency,
        cpuCount: availableParallelism(),
        totalMemoryBytes: totalmem(),
        memoryBytes: this.options.docker.memoryBytes,
        itemCount: items.length,
      });
    } catch (error) {
      throw new ExperimentExecutionError("INVALID_OPTIONS", messageOf(error), { cause: error });
    }
    if (decision.note !== undefined) this.logger.warn({ memoryCap: decision.memoryCap }, decision.note);
    const isolation = this.sandbox.isolation;
    const outcome = await runPool(
      items,
      async (item, index, signal) => {
        let result: ExperimentResult;
        try {
          result = await this.run({ ...item, signal });
        } catch (error) {
          if (!isExperimentExecutionError(error) || !ITEM_ERROR_CODES.has(error.code)) throw error;
          this.logger.debug({ index, code: error.code, err: error.message }, "batch item could not run");
          result = buildUnrunResult({ ...item, isolation, startedAt: new Date(), errorMessage: error.message, cancelled: false });
        }
        await options.onResult?.(result, index);
        return result;
      },
      {
        concurrency: decision.concurrency,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        ...(options.onStart !== undefined ? { onStart: (index: number) => options.onStart?.(items[index]!, index) } : {}),
      },
    );
    if (outcome.error !== undefined) throw outcome.error.value;
    const notStartedAt = new Date();
    return outcome.results.map(
      (result, index) =>
        result ??
        buildUnrunResult({ ...items[index]!, isolation, startedAt: notStartedAt, errorMessage: NOT_STARTED_MESSAGE, cancelled: true }),
    );
  }

  /** Runs a script and returns what it printed, like Python's subprocess.run. */
  async runScriptDirectly(scriptPath: string, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<DirectRunResult> {
    const { outcome } = await this.execute(scriptPath, options.timeout, options.signal);
    return { stdout: outcome.stdout.text, stderr: outcome.stderr.text, returncode: outcome.exitCode, timedOut: outcome.timedOut };
  }

  private async execute(
    rawPath: string,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ scriptPath: string; timeoutSeconds: number; outcome: SandboxOutcome }> {
    const scriptPath = await checkScript(rawPath);
    const timeoutSeconds = timeout ?? this.options.timeoutSeconds;
    if (!(timeoutSeconds > 0) || !Number.isFinite(timeoutSeconds)) {
      throw new ExperimentExecutionError("INVALID_OPTIONS", `timeout must be a positive number of seconds, got ${timeout}`);
    }
    const outcome = await this.sandbox.run({
      scriptPath,
      timeoutMs: Math.round(timeoutSeconds * 1000),
      env: this.options.env,
      ...(signal !== undefined ? { signal } : {}),
    });
    return { scriptPath, timeoutSeconds, outcome };
  }

  /** Releases what the backend holds (drains a warm pool). Idempotent. */
  async close(): Promise<void> {
    await this.sandbox.close();
  }
}

async function checkScript(rawPath: string): Promise<string> {
  if (typeof rawPath !== "string" || rawPath.trim() === "") {
    throw new ExperimentExecutionError("SCRIPT_NOT_FOUND", "scriptPath is empty");
  }
  const scriptPath = resolve(rawPath);
  try {
    const info = await stat(scriptPath);
    if (!info.isFile()) throw new Error("not a file");
  } catch (error) {
    throw new ExperimentExecutionError("SCRIPT_NOT_FOUND", `Script not found: ${scriptPath} (no such file)`, { cause: error });
  }
  return scriptPath;
}
