import { randomUUID } from "node:crypto";
import { chmod, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import type { ContainerCreateOptions } from "dockerode";
import type Dockerode from "dockerode";
import { LABELS } from "../../config.js";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { HeadTailCapture } from "../output-capture.js";
import { readResultFile } from "../result-file.js";
import type { Sandbox, SandboxOutcome, SandboxRunRequest } from "../sandbox.js";
import { sweepLeftovers } from "./cleanup.js";
import { buildCreateOptions, hardenedHostConfig, type DockerLimits } from "./create-options.js";
import { StreamDemuxer } from "./demux.js";
import { checkScriptFolder, readableByContainer, stageFolder, type StagedFolder } from "./staging.js";
import { makeRunTempDir, sweepTempDirs } from "../temp-dirs.js";
import { toExecutionError } from "./engine-errors.js";
import { PooledContainer } from "./pooled-container.js";
import { runPooled, type DockerPoolOptions } from "./pooled-run.js";
import { WarmPool } from "./warm-pool.js";
import { judgeOom, killContainer, removeContainer, withDeadline } from "./container-exit.js";

export { killContainer, removeContainer } from "./container-exit.js";

export type { DockerPoolOptions } from "./pooled-run.js";

export interface DockerSandboxOptions {
  docker: Dockerode;
  limits: DockerLimits;
  maxOutputBytes: number;
  logger: Logger;
  /** Remove leftovers of dead runners before the first run (default true). */
  sweepOnStart: boolean;
  /** Keep warm containers ready (opt-in); null or absent: every run is cold. */
  pool?: DockerPoolOptions | null;
}

export interface ImageFacts {
  id: string;
  versions: Record<string, string>;
}

/**
 * After the runner kills a container (deadline or cancel): the time for the engine to confirm,
 * the output stream to end and the container to go, before the result is returned anyway, so
 * that it comes within 2 s of the deadline. What is left goes on in the background.
 */
const SETTLE_AFTER_KILL_MS = 1200;
/** A cancel is answered within this, whatever the engine does (a little more than the above). */
const CANCEL_ANSWER_MS = SETTLE_AFTER_KILL_MS + 300;
/** After the script exited on its own: the time for the output stream to end. */
const STREAM_END_MS = 2000;
/** After the script exited on its own: the time to wait for the remove before it goes on in the background. */
const REMOVE_WAIT_MS = 5000;
/** How long a pool worker may take to import the stack and say it is ready. */
const POOL_READY_TIMEOUT_MS = 120_000;

/**
 * One ephemeral container per run: create, attach, start, wait with the deadline, kill at
 * the deadline, always remove. Output is read live from the attach stream (the engine keeps
 * no log file: log driver "none"), bounded head+tail. With a warm pool (opt-in), a run takes
 * a single-use container started ahead of time with the stack imported (same limits,
 * hardening and semantics; see pooled-run.ts), and the pool starts its replacement.
 */
export class DockerSandbox implements Sandbox {
  readonly isolation = "docker" as const;
  private readyPromise: Promise<ImageFacts> | undefined;
  /** Work still going on in the background (a slow kill's removal, a cancelled run); close() waits for it. */
  private readonly background = new Set<Promise<void>>();
  /** Computed once: the same for every container of this sandbox. */
  private readonly hostConfig: NonNullable<ContainerCreateOptions["HostConfig"]>;
  private readonly pool: WarmPool<PooledContainer> | null = null;

  constructor(private readonly options: DockerSandboxOptions) {
    this.hostConfig = hardenedHostConfig(options.limits);
    const pool = options.pool;
    if (pool !== undefined && pool !== null && pool.size > 0) {
      this.pool = new WarmPool<PooledContainer>({
        size: pool.size,
        maxIdleMs: pool.maxIdleMs,
        logger: options.logger,
        launch: async (signal) => {
          await this.ready();
          const launch = {
            docker: options.docker,
            limits: options.limits,
            hostConfig: this.hostConfig,
            env: pool.env,
            idleMs: pool.maxIdleMs,
            maxRunMs: pool.maxRunMs,
            readyTimeoutMs: pool.readyTimeoutMs ?? POOL_READY_TIMEOUT_MS,
            logger: options.logger,
          };
          return PooledContainer.launch(launch, signal);
        },
      });
      this.pool.start();
    }
  }

  get limits(): { memoryBytes: number } {
    return { memoryBytes: this.options.limits.memoryBytes };
  }

  /** Checks the engine and the image once (and sweeps leftovers); later calls reuse the answer. */
  ready(): Promise<ImageFacts> {
    this.readyPromise ??= this.checkImage().catch((error: unknown) => {
      this.readyPromise = undefined;
      throw error;
    });
    return this.readyPromise;
  }

  /** Checks the image and, with a pool, resolves once the pool is full. */
  async warmUp(): Promise<void> {
    await this.ready();
    await this.pool?.whenFull();
  }

  private async checkImage(): Promise<ImageFacts> {
    const { docker, limits, logger } = this.options;
    let info: Dockerode.ImageInspectInfo;
    try {
      info = await docker.getImage(limits.image).inspect();
    } catch (error) {
      throw toExecutionError(error, `inspect image ${limits.image}`, limits.image);
    }
    if (this.options.sweepOnStart) {
      try {
        await sweepLeftovers(docker, { logger });
        await sweepTempDirs();
      } catch (error) {
        logger.warn({ err: messageOf(error) }, "sweep of leftover containers failed");
      }
    }
    return { id: info.Id, versions: parseVersionsLabel(info.Config?.Labels?.[LABELS.versions]) };
  }

  /**
   * Runs one container. A cancel is answered within CANCEL_ANSWER_MS even when the engine is
   * slow to create or start the container: the run then goes on in the background (it sees the
   * cancel at its next step, kills and removes its container) and close() waits for it.
   */
  async run(request: SandboxRunRequest): Promise<SandboxOutcome> {
    const image = await this.ready();
    if (this.pool !== null && request.signal?.aborted !== true) {
      const { logger, maxOutputBytes } = this.options;
      const pooled = await runPooled(this.pool, this.options.pool!, request, image, { logger, maxOutputBytes, track: (work) => this.track(work) });
      if (pooled.outcome !== null) return pooled.outcome;
      const outcome = await this.runCold(request, image);
      return pooled.notes.length > 0 ? { ...outcome, notes: [...pooled.notes, ...outcome.notes] } : outcome;
    }
    return this.runCold(request, image);
  }

  /** One run in a container made for it. */
  private async runCold(request: SandboxRunRequest, image: ImageFacts): Promise<SandboxOutcome> {
    const running = this.runContainer(request, image);
    const { signal } = request;
    if (signal === undefined) return running;
    // The run may be answered early (a cancel the engine is slow to carry out): keep it in view.
    this.track(running.then(() => undefined, () => undefined));
    const started = performance.now();
    return new Promise<SandboxOutcome>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        timer = setTimeout(() => {
          this.options.logger.warn({ scriptPath: request.scriptPath }, "the engine did not answer a cancel in time; the container goes in the background");
          resolve(abandonedOutcome(image, performance.now() - started));
        }, CANCEL_ANSWER_MS);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      void running.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      });
    });
  }

  private async runContainer(request: SandboxRunRequest, image: ImageFacts): Promise<SandboxOutcome> {
    const { docker, limits, logger, maxOutputBytes } = this.options;
    const runId = randomUUID();
    const log = logger.child({ runId, isolation: "docker" });
    const stdout = new HeadTailCapture(maxOutputBytes);
    const stderr = new HeadTailCapture(maxOutputBytes);
    const started = performance.now();
    const timings: Record<string, number> = {};
    const base = {
      stdout: stdout.result(),
      stderr: stderr.result(),
      oomKilled: false,
      imageId: image.id,
      versions: image.versions,
      notes: [] as string[],
    };
    if (request.signal?.aborted) {
      return { ...base, exitCode: null, timedOut: false, cancelled: true, durationMs: 0, resultFile: null };
    }
    await checkScriptFolder(dirname(request.scriptPath));
    const resultDir = await makeRunTempDir("run");
    const resultPath = join(resultDir, "result.json");
    // Listen for a cancel from now on: one that comes while the container is made or started
    // must not be lost (the running phase's reaction is attached later).
    let cancelRequested = false;
    let onCancelWhileRunning: (() => void) | undefined;
    const onAbort = (): void => {
      cancelRequested = true;
      onCancelWhileRunning?.();
    };
    request.signal?.addEventListener("abort", onAbort, { once: true });
    if (request.signal?.aborted) cancelRequested = true; // it came during the checks above
    let container: Dockerode.Container | undefined;
    let staged: StagedFolder | undefined;
    /** Set when the runner kills the container or gives up on it (cancel): what is left to do must fit before it. */
    let settleBy: number | undefined;
    let killed: Promise<void> | undefined;
    try {
      let workDir = dirname(request.scriptPath);
      if (!(await readableByContainer(workDir, request.scriptPath))) {
        staged = await stageFolder(workDir);
        workDir = staged.path;
        log.debug({ workDir }, "script folder not readable by the container user; staged a readable view");
      }
      await writeFile(resultPath, "");
      await chmod(resultPath, 0o666);
      let mark = performance.now();
      try {
        container = await docker.createContainer(
          buildCreateOptions(limits, {
            runId,
            workDir,
            scriptName: basename(request.scriptPath),
            args: request.args ?? [],
            resultFile: resultPath,
            timeoutMs: request.timeoutMs,
            env: request.env ?? {},
            ownerPid: process.pid,
            ownerHost: hostname(),
            now: Date.now(),
          }, this.hostConfig),
        );
      } catch (error) {
        throw toExecutionError(error, "create a container", limits.image);
      }
      timings.createMs = performance.now() - mark;
      const live = container;
      const clog = log.child({ containerId: live.id.slice(0, 12) });
      const cancelledBeforeStart = (): SandboxOutcome => {
        settleBy = performance.now() + SETTLE_AFTER_KILL_MS;
        return { ...base, exitCode: null, timedOut: false, cancelled: true, resultFile: null, containerId: live.id, timings, durationMs: performance.now() - started };
      };
      if (cancelRequested) return cancelledBeforeStart();

      let stream: NodeJS.ReadableStream & { destroy?: () => void };
      try {
        stream = (await live.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      } catch (error) {
        throw toExecutionError(error, "attach to the container", limits.image);
      }
      const demuxer = new StreamDemuxer(
        (chunk) => stdout.write(chunk),
        (chunk) => stderr.write(chunk),
      );
      stream.on("data", (chunk: Buffer) => demuxer.write(chunk));
      const streamEnded = new Promise<void>((resolve) => {
        stream.once("end", resolve);
        stream.once("close", resolve);
        stream.once("error", () => resolve());
      });

      if (cancelRequested) {
        stream.destroy?.();
        return cancelledBeforeStart();
      }
      mark = performance.now();
      try {
        await live.start();
      } catch (error) {
        throw toExecutionError(error, "start the container", limits.image);
      }
      timings.startMs = performance.now() - mark;
      mark = performance.now();

      let waitError: unknown;
      const waited = (live.wait() as Promise<{ StatusCode: number }>).then(
        (response) => response.StatusCode,
        (error: unknown) => {
          waitError = error;
          return null;
        },
      );
      let timedOut = false;
      let cancelled = false;
      let timer: NodeJS.Timeout | undefined;
      const interrupted = new Promise<"deadline" | "abort">((resolve) => {
        timer = setTimeout(() => resolve("deadline"), request.timeoutMs);
        onCancelWhileRunning = () => resolve("abort");
        if (cancelRequested) resolve("abort");
      });
      let exitCode: number | null;
      try {
        const first = await Promise.race([waited.then((exit) => ({ exit })), interrupted]);
        if (typeof first === "object") {
          exitCode = first.exit;
        } else {
          if (first === "deadline") timedOut = true;
          else cancelled = true;
          clog.debug({ reason: first }, "killing the container");
          // Kill outright and give the engine a bounded moment to confirm; a slow runtime
          // (gVisor with thousands of tasks takes seconds) must not delay the result.
          settleBy = performance.now() + SETTLE_AFTER_KILL_MS;
          killed = killContainer(live).catch((error: unknown) => {
            clog.warn({ err: messageOf(error) }, "kill failed; the forced remove follows");
          });
          exitCode = await withDeadline(waited, remainingMs(settleBy), null);
        }
        if (waitError !== undefined && settleBy === undefined) throw toExecutionError(waitError, "wait for the container");
      } finally {
        clearTimeout(timer);
      }
      timings.runMs = performance.now() - mark;
      mark = performance.now();
      await withDeadline(streamEnded, settleBy !== undefined ? remainingMs(settleBy) : STREAM_END_MS, undefined);
      stream.destroy?.();
      timings.logsMs = performance.now() - mark;

      const notes: string[] = [];
      let oomKilled = false;
      if (settleBy === undefined) {
        // `docker rm -f` marks the container "removing" before it kills it: judgeOom tells that apart.
        const verdict = await judgeOom(live, { exitCode, timedOut, cancelled }, clog);
        oomKilled = verdict.oomKilled;
        if (verdict.note !== undefined) notes.push(verdict.note);
      }
      const resultFile = await readResultFile(resultPath, maxOutputBytes);
      if (resultFile.note !== undefined) notes.push(resultFile.note);
      return {
        ...base,
        stdout: stdout.result(),
        stderr: stderr.result(),
        exitCode,
        timedOut,
        cancelled,
        oomKilled,
        durationMs: performance.now() - started,
        resultFile: resultFile.text,
        notes,
        containerId: live.id,
        timings,
      };
    } finally {
      request.signal?.removeEventListener("abort", onAbort);
      if (container !== undefined) {
        const doomed = container;
        const mark = performance.now();
        // Remove after the kill settled (a remove racing a kill in progress can fail); wait for
        // it within the time left, and let it finish in the background beyond that (close()
        // waits for it). removeContainer never throws: a cleanup error must not hide the first.
        const removal = (killed ?? Promise.resolve()).then(() => removeContainer(doomed, log)).then(() => {
          timings.removeMs = performance.now() - mark;
        });
        this.track(removal);
        await withDeadline(removal, settleBy !== undefined ? remainingMs(settleBy) : REMOVE_WAIT_MS, undefined);
      }
      await rm(resultDir, { recursive: true, force: true }).catch(() => undefined);
      await staged?.dispose().catch(() => undefined);
    }
  }

  /** Keeps background work (a removal, a run answered early) in view until it ends; it never rejects. */
  private track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** Drains the warm pool (idle and warming containers are removed), then waits for the removals and runs still going on in the background. Idempotent. */
  async close(): Promise<void> {
    await this.pool?.close();
    while (this.background.size > 0) await Promise.all([...this.background]);
  }
}

/** The answer to a cancel the engine was too slow to carry out in time. */
function abandonedOutcome(image: ImageFacts, durationMs: number): SandboxOutcome {
  const empty = new HeadTailCapture(16).result();
  return {
    stdout: empty,
    stderr: empty,
    exitCode: null,
    timedOut: false,
    oomKilled: false,
    cancelled: true,
    durationMs,
    resultFile: null,
    notes: [`the engine had not carried out the cancel after ${CANCEL_ANSWER_MS} ms; the container is killed and removed in the background`],
    imageId: image.id,
    versions: image.versions,
  };
}

function remainingMs(until: number): number {
  return Math.max(0, until - performance.now());
}

export function parseVersionsLabel(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    );
  } catch {
    return {};
  }
}
