import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ExperimentExecutionError, messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { HeadTailCapture } from "../output-capture.js";
import { readResultFile } from "../result-file.js";
import { makeRunTempDir } from "../temp-dirs.js";
import type { Sandbox, SandboxOutcome, SandboxRunRequest } from "../sandbox.js";
import { minimalEnvironment } from "./environment.js";

export interface SubprocessSandboxOptions {
  pythonExecutable: string;
  maxOutputBytes: number;
  killGraceMs: number;
  logger: Logger;
  /** The runner's environment, from which only a few harmless variables pass. */
  parentEnv?: NodeJS.ProcessEnv;
}

/** How long the pipes may stay open after the script exited (a detached grandchild). */
const PIPE_DRAIN_MS = 200;

/**
 * Runs the script as a child process in its own process group. Not a security boundary:
 * the script runs as the runner's user with the runner's file system and network.
 */
export class SubprocessSandbox implements Sandbox {
  readonly isolation = "subprocess" as const;
  readonly limits = null;

  constructor(private readonly options: SubprocessSandboxOptions) {}

  async run(request: SandboxRunRequest): Promise<SandboxOutcome> {
    const resultDir = await makeRunTempDir("run");
    try {
      return await this.runIn(request, resultDir);
    } finally {
      // A cleanup error is logged, never allowed to hide the run's outcome or its first error.
      await rm(resultDir, { recursive: true, force: true }).catch((error: unknown) => {
        this.options.logger.warn({ resultDir, err: messageOf(error) }, "could not remove the result folder");
      });
    }
  }

  private runIn(request: SandboxRunRequest, resultDir: string): Promise<SandboxOutcome> {
    const { options } = this;
    const resultPath = join(resultDir, "result.json");
    const env = {
      ...minimalEnvironment(options.parentEnv ?? process.env),
      ...request.env,
      EXPERIMENT_RESULT_PATH: resultPath,
    };
    const stdout = new HeadTailCapture(options.maxOutputBytes);
    const stderr = new HeadTailCapture(options.maxOutputBytes);
    const started = performance.now();
    const log = options.logger.child({ isolation: "subprocess", scriptPath: request.scriptPath });

    return new Promise<SandboxOutcome>((resolve, reject) => {
      const child = spawn(options.pythonExecutable, [request.scriptPath, ...(request.args ?? [])], {
        cwd: dirname(request.scriptPath),
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let timedOut = false;
      let cancelled = false;
      let settled = false;
      let forceKill: NodeJS.Timeout | undefined;
      child.stdout.on("data", (chunk: Buffer) => stdout.write(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.write(chunk));

      const killGroup = (signal: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // the group is already gone
        }
      };
      const stop = (): void => {
        killGroup("SIGTERM");
        forceKill ??= setTimeout(() => killGroup("SIGKILL"), options.killGraceMs);
      };
      const deadline = setTimeout(() => {
        timedOut = true;
        log.debug({ timeoutMs: request.timeoutMs }, "deadline reached; killing the process group");
        stop();
      }, request.timeoutMs);
      const onAbort = (): void => {
        cancelled = true;
        stop();
      };
      request.signal?.addEventListener("abort", onAbort, { once: true });
      if (request.signal?.aborted) onAbort();

      const finish = (exitCode: number | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", onAbort);
        // Whatever the script left in its group goes now; a detached grandchild may still hold
        // the pipes, so give them a moment to drain, then stop reading.
        killGroup("SIGKILL");
        const drained = Promise.all([ended(child.stdout), ended(child.stderr)]);
        const drainTimer = new Promise<void>((done) => setTimeout(done, PIPE_DRAIN_MS));
        void Promise.race([drained, drainTimer]).then(async () => {
          clearTimeout(forceKill);
          child.stdout.destroy();
          child.stderr.destroy();
          const resultFile = await readResultFile(resultPath, options.maxOutputBytes);
          resolve({
            stdout: stdout.result(),
            stderr: stderr.result(),
            exitCode,
            timedOut,
            oomKilled: false,
            cancelled,
            durationMs: performance.now() - started,
            resultFile: resultFile.text,
            notes: resultFile.note !== undefined ? [resultFile.note] : [],
          });
        }, reject);
      };

      child.once("error", (error: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", onAbort);
        if (error.code === "ENOENT") {
          reject(
            new ExperimentExecutionError(
              "PYTHON_NOT_FOUND",
              `Python executable "${options.pythonExecutable}" not found: install Python 3, or set pythonExecutable / EXPERIMENT_PYTHON`,
              { cause: error },
            ),
          );
        } else reject(new ExperimentExecutionError("ENGINE_ERROR", `Could not start the script: ${error.message}`, { cause: error }));
      });
      child.once("exit", (code, signal) => {
        finish(code ?? (signal !== null ? 128 + signalNumber(signal) : null));
      });
    });
  }

  async close(): Promise<void> {
    // nothing held between runs
  }
}

function ended(stream: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded === true || stream.destroyed === true) {
      resolve();
      return;
    }
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
};

function signalNumber(signal: NodeJS.Signals): number {
  return SIGNALS[signal] ?? 0;
}
