import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import Dockerode from "dockerode";
import { ExperimentExecutionError } from "../errors.js";
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
    });
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

  /** Releases what the backend holds. Idempotent. */
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
