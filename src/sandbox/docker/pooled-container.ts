import { randomUUID } from "node:crypto";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import type { ContainerCreateOptions } from "dockerode";
import type Dockerode from "dockerode";
import type { Logger } from "../../logger.js";
import type { HeadTailCapture } from "../output-capture.js";
import { makeRunTempDir } from "../temp-dirs.js";
import { awaitExit, judgeOom, removeContainer, SETTLE_AFTER_KILL_MS, STREAM_END_MS, streamEnd, waitForExit, withDeadline, type ExitFacts } from "./container-exit.js";
import { buildPoolCreateOptions, CONTAINER_WORKDIR, POOL_WORKER_PATH, poolRunDeadlineSeconds, type DockerLimits } from "./create-options.js";
import { StreamDemuxer } from "./demux.js";
import { toExecutionError } from "./engine-errors.js";
import { stageInto, type StagingBudget } from "./staging.js";

/** Marker lines of pool_worker.py: only the worker writes them, each before any script code runs. */
export const READY_LINE = Buffer.from("experiment-sandbox: pool worker ready\n");
export const STARTED_LINE = Buffer.from("experiment-sandbox: pool worker started\n");

/** A folder over this runs cold instead (copies happen only across file systems or for private files). */
export const POOL_STAGING_BUDGET: StagingBudget = { maxEntries: 10_000, maxCopyBytes: 256 * 1024 * 1024 };

/** Bytes of the worker's own output kept to explain a worker that never became ready. */
const PREAMBLE_BYTES = 16 * 1024;

export interface PooledContainerOptions {
  docker: Dockerode;
  limits: DockerLimits;
  hostConfig: NonNullable<ContainerCreateOptions["HostConfig"]>;
  env: Record<string, string>;
  idleMs: number;
  maxRunMs: number;
  /** How long the worker may take to import the stack and say it is ready. */
  readyTimeoutMs: number;
  /** Default POOL_STAGING_BUDGET. */
  stagingBudget?: StagingBudget;
  logger: Logger;
}

export interface PooledRunRequest {
  scriptPath: string;
  args: string[];
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  stdout: HeadTailCapture;
  stderr: HeadTailCapture;
}

export interface PooledRunFacts extends ExitFacts {
  oomKilled: boolean;
  /** Why the OOM verdict was inferred, when it was. */
  notes: string[];
  /** The worker took the request and forked the script (false: nothing ran; run it elsewhere). */
  started: boolean;
  timings: Record<string, number>;
}

type Phase = "booting" | "idle" | "taken" | "dead";

/**
 * One single-use warm container: created and started ahead of time, its worker waiting with the
 * stack imported. `execute` stages one script folder into it, hands the worker the script, and
 * waits for the exit exactly like a cold run; then the container is destroyed.
 */
export class PooledContainer {
  readonly id: string;
  readonly readyAt: number;
  private phase: Phase = "idle";
  private startedSeen = false;
  private startedProbe = Buffer.alloc(0);
  private sinks: { stdout: HeadTailCapture; stderr: HeadTailCapture } | null = null;
  private readonly deathCallbacks: (() => void)[] = [];
  private destroyed: Promise<void> | undefined;

  private constructor(
    private readonly container: Dockerode.Container,
    private readonly socket: Socket,
    private readonly streamEnded: Promise<void>,
    private readonly root: string,
    private readonly options: PooledContainerOptions,
    private readonly log: Logger,
  ) {
    this.id = container.id;
    this.readyAt = Date.now();
  }

  /** Creates, attaches and starts a pooled container; resolves once its worker is ready. */
  static async launch(options: PooledContainerOptions, signal?: AbortSignal): Promise<PooledContainer> {
    const { docker, limits } = options;
    const runId = randomUUID();
    // Named after this process, so a sweep removes it if the runner dies (temp-dirs.ts).
    const root = await makeRunTempDir("pool");
    const stagingDir = join(root, "work");
    const resultFile = join(root, "result.json");
    let container: Dockerode.Container | undefined;
    let socket: Socket | undefined;
    try {
      await mkdir(stagingDir, { mode: 0o755 });
      await chmod(stagingDir, 0o755);
      await writeFile(resultFile, "");
      await chmod(resultFile, 0o666);
      const createOptions = buildPoolCreateOptions(
        limits,
        { runId, stagingDir, resultFile, idleMs: options.idleMs, maxRunMs: options.maxRunMs, env: options.env, ownerPid: process.pid, ownerHost: hostname(), now: Date.now() },
        options.hostConfig,
      );
      try {
        container = await docker.createContainer(createOptions);
      } catch (error) {
        throw toExecutionError(error, "create a pool container", limits.image);
      }
      const log = options.logger.child({ runId, containerId: container.id.slice(0, 12), pool: true });
      signal?.throwIfAborted();
      socket = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Socket;
      socket.on("error", (error: Error) => log.debug({ err: error.message }, "pool container stream error"));
      const ended = streamEnd(socket);
      const boot = new BootWatcher();
      // Output goes to the boot watcher until READY, then to the pooled container.
      let route = { stdout: (chunk: Buffer) => boot.stdout(chunk), stderr: (chunk: Buffer) => boot.stderr(chunk) };
      const demuxer = new StreamDemuxer(
        (chunk) => route.stdout(chunk),
        (chunk) => route.stderr(chunk),
      );
      socket.on("data", (chunk: Buffer) => demuxer.write(chunk));
      try {
        await container.start();
      } catch (error) {
        throw toExecutionError(error, "start a pool container", limits.image);
      }
      signal?.throwIfAborted();
      await boot.ready(ended, options.readyTimeoutMs, signal);
      const pooled = new PooledContainer(container, socket, ended, root, options, log);
      route = { stdout: (chunk) => pooled.onStdout(chunk), stderr: (chunk) => pooled.onStderr(chunk) };
      socket.unref();
      void ended.then(() => pooled.onStreamEnd());
      log.debug("pool container ready");
      return pooled;
    } catch (error) {
      socket?.destroy();
      if (container !== undefined) await removeContainer(container, options.logger);
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Still running and waiting for its script. */
  get alive(): boolean {
    return this.phase === "idle";
  }

  /** Called once if the container dies while it waits (worker gone, container removed from outside). */
  onDeath(callback: () => void): void {
    this.deathCallbacks.push(callback);
  }

  /** Host path of the result file the script sees as EXPERIMENT_RESULT_PATH. */
  get resultPath(): string {
    return join(this.root, "result.json");
  }

  /**
   * Runs one script: stages its folder at /work, hands the worker the script, waits with the
   * deadline (killing the container at it), and says how it ended. Throws StagingTooLarge
   * (before anything ran) when the folder is too big to stage; the caller then runs it cold.
   */
  async execute(request: PooledRunRequest): Promise<PooledRunFacts> {
    if (this.phase !== "idle") throw new Error(`pool container ${this.id.slice(0, 12)} is ${this.phase}, not idle`);
    this.phase = "taken";
    this.socket.ref();
    const timings: Record<string, number> = {};
    let mark = performance.now();
    await stageInto(dirname(request.scriptPath), join(this.root, "work"), this.options.stagingBudget ?? POOL_STAGING_BUDGET);
    timings.stageMs = performance.now() - mark;

    this.sinks = { stdout: request.stdout, stderr: request.stderr };
    const waited = waitForExit(this.container);
    const line = JSON.stringify({
      script: `${CONTAINER_WORKDIR}/${basename(request.scriptPath)}`,
      args: request.args,
      cwd: CONTAINER_WORKDIR,
      timeoutSeconds: poolRunDeadlineSeconds(request.timeoutMs),
    });
    mark = performance.now();
    this.socket.write(`${line}\n`);
    const exit = await awaitExit(this.container, waited, request.timeoutMs, request.signal, this.log);
    timings.runMs = performance.now() - mark;
    mark = performance.now();
    await withDeadline(this.streamEnded, exit.timedOut || exit.cancelled ? SETTLE_AFTER_KILL_MS : STREAM_END_MS, undefined);
    timings.logsMs = performance.now() - mark;
    const verdict = await judgeOom(this.container, exit, this.log);
    return { ...exit, oomKilled: verdict.oomKilled, notes: verdict.note !== undefined ? [verdict.note] : [], started: this.startedSeen, timings };
  }

  /** Removes the container and its staging folder. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.phase = "dead";
      this.socket.destroy();
      await removeContainer(this.container, this.log);
      await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
    })();
    return this.destroyed;
  }

  private onStdout(chunk: Buffer): void {
    if (this.sinks === null) return; // the worker prints nothing between READY and its request
    if (this.startedSeen) {
      this.sinks.stdout.write(chunk);
      return;
    }
    // The worker's STARTED line comes first on stdout, before the script exists: strip it.
    this.startedProbe = Buffer.concat([this.startedProbe, chunk]);
    const probe = this.startedProbe;
    const prefix = Math.min(probe.length, STARTED_LINE.length);
    if (!probe.subarray(0, prefix).equals(STARTED_LINE.subarray(0, prefix))) {
      this.startedProbe = Buffer.alloc(0);
      this.sinks.stdout.write(probe); // not the worker's marker: keep every byte
      return;
    }
    if (probe.length < STARTED_LINE.length) return;
    this.startedSeen = true;
    this.startedProbe = Buffer.alloc(0);
    if (probe.length > STARTED_LINE.length) this.sinks.stdout.write(probe.subarray(STARTED_LINE.length));
  }

  private onStderr(chunk: Buffer): void {
    this.sinks?.stderr.write(chunk);
  }

  private onStreamEnd(): void {
    const wasWaiting = this.phase === "idle";
    if (this.phase !== "taken") this.phase = "dead";
    if (!wasWaiting) return;
    this.log.debug("pool container ended while it waited");
    for (const callback of this.deathCallbacks.splice(0)) callback();
  }
}

/** Watches a booting worker's output for READY; keeps a bounded preamble to explain a failure. */
class BootWatcher {
  private seen = Buffer.alloc(0);
  private preamble = "";
  private resolve: (() => void) | undefined;
  private isReady = false;

  stdout(chunk: Buffer): void {
    if (this.isReady) return;
    this.seen = Buffer.concat([this.seen, chunk]).subarray(-PREAMBLE_BYTES);
    if (this.seen.includes(READY_LINE)) {
      this.isReady = true;
      this.resolve?.();
    }
  }

  stderr(chunk: Buffer): void {
    if (this.isReady || this.preamble.length >= PREAMBLE_BYTES) return;
    this.preamble += chunk.toString("utf8").slice(0, PREAMBLE_BYTES - this.preamble.length);
  }

  async ready(ended: Promise<void>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.isReady) return;
    const ready = new Promise<"ready">((resolve) => {
      this.resolve = () => resolve("ready");
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    const outcome = await withDeadline(Promise.race([ready, ended.then(() => "ended" as const), aborted]), timeoutMs, "timeout" as const);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    if (outcome === "aborted") signal!.throwIfAborted();
    if (outcome === "ready" || this.isReady) return;
    const said = this.preamble.trim() === "" ? "" : `: ${this.preamble.trim().slice(-2000)}`;
    throw new Error(
      outcome === "ended"
        ? `the pool worker exited before it was ready (is ${POOL_WORKER_PATH} in the image? run \`make image\`)${said}`
        : `the pool worker was not ready within ${timeoutMs} ms${said}`,
    );
  }
}
