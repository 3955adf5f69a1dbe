import { dirname } from "node:path";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { HeadTailCapture } from "../output-capture.js";
import { readResultFile } from "../result-file.js";
import type { SandboxOutcome, SandboxRunRequest } from "../sandbox.js";
import type { PooledContainer, PooledRunFacts } from "./pooled-container.js";
import { SETTLE_AFTER_KILL_MS, withDeadline } from "./container-exit.js";
import { checkScriptFolder, StagingTooLarge } from "./staging.js";
import type { WarmPool } from "./warm-pool.js";

export interface DockerPoolOptions {
  /** Warm containers kept ready. */
  size: number;
  /** A warm container not used within this time is replaced (its worker exits on its own then). */
  maxIdleMs: number;
  /** Longest run the pool takes (the containers' deadline labels cover it); a longer one runs cold. */
  maxRunMs: number;
  /** The environment the pool's containers are made with; a run asking for another runs cold. */
  env: Record<string, string>;
  /** How long a worker may take to import the stack (default 120 s). */
  readyTimeoutMs?: number;
}

export interface PooledAttempt {
  /** Null: run it cold (nothing of the script ran in the pool). */
  outcome: SandboxOutcome | null;
  /** For the cold run's outcome, e.g. why the pool could not serve. */
  notes: string[];
}

/**
 * One run in a warm container: take it from the pool, stage the script folder, hand the
 * script to the worker, wait for the exit with the deadline (kill at it), read the result
 * file, destroy the container. Gives no outcome, and leaves the run to a cold container, when
 * the pool has none coming, the run is not one the pool's containers were made for (longer
 * deadline, other environment), the folder is too big to stage, or the worker did not start it.
 */
export async function runPooled(
  pool: WarmPool<PooledContainer>,
  poolOptions: DockerPoolOptions,
  request: SandboxRunRequest,
  image: { id: string; versions: Record<string, string> },
  sandbox: {
    logger: Logger;
    maxOutputBytes: number;
    /** Keeps work that goes on after the result (a slow removal) in view of close(). */
    track: (work: Promise<void>) => void;
  },
): Promise<PooledAttempt> {
  const notes: string[] = [];
  if (request.timeoutMs > poolOptions.maxRunMs || !sameEnv(request.env ?? {}, poolOptions.env)) return { outcome: null, notes };
  // The same refusals as a cold run (/, a home folder, a shared temp folder): UNSAFE_SCRIPT_FOLDER.
  await checkScriptFolder(dirname(request.scriptPath));
  const started = performance.now();
  const container = await pool.acquire(request.signal);
  const acquireMs = performance.now() - started;
  const base = { oomKilled: false, imageId: image.id, versions: image.versions, pooled: true };
  if (container === null) {
    if (request.signal?.aborted === true) {
      const empty = { text: "", totalBytes: 0, truncated: false };
      const outcome = { ...base, stdout: empty, stderr: empty, exitCode: null, timedOut: false, cancelled: true, durationMs: acquireMs, resultFile: null, notes };
      return { outcome, notes };
    }
    if (pool.lastError !== undefined) notes.push(`warm pool unavailable (${messageOf(pool.lastError)}); this run used a cold container`);
    return { outcome: null, notes };
  }
  const log = sandbox.logger.child({ isolation: "docker", containerId: container.id.slice(0, 12), pool: true });
  const stdout = new HeadTailCapture(sandbox.maxOutputBytes);
  const stderr = new HeadTailCapture(sandbox.maxOutputBytes);
  let facts: PooledRunFacts | undefined;
  let timings: Record<string, number> | undefined;
  try {
    try {
      facts = await container.execute({ scriptPath: request.scriptPath, args: request.args ?? [], timeoutMs: request.timeoutMs, signal: request.signal, stdout, stderr });
    } catch (error) {
      if (!(error instanceof StagingTooLarge)) throw error;
      log.debug({ reason: error.message }, "script folder over the staging budget; running it cold");
      return { outcome: null, notes };
    }
    if (!facts.started && !facts.timedOut && !facts.cancelled) {
      log.warn({ exitCode: facts.exitCode, stderr: stderr.result().text.slice(-500) }, "the pool worker did not start the script; running it cold");
      return { outcome: null, notes };
    }
    const resultFile = await readResultFile(container.resultPath, sandbox.maxOutputBytes);
    timings = { acquireMs, ...facts.timings };
    log.debug({ exitCode: facts.exitCode, timedOut: facts.timedOut, oomKilled: facts.oomKilled }, "ran in a warm container");
    const outcome: SandboxOutcome = {
      ...base,
      stdout: stdout.result(),
      stderr: stderr.result(),
      exitCode: facts.exitCode,
      timedOut: facts.timedOut,
      cancelled: facts.cancelled,
      oomKilled: facts.oomKilled,
      durationMs: performance.now() - started,
      resultFile: resultFile.text,
      notes: [...facts.notes, ...(resultFile.note !== undefined ? [resultFile.note] : [])],
      containerId: container.id,
      timings,
    };
    return { outcome, notes };
  } finally {
    const mark = performance.now();
    const removal = container.destroy().then(() => {
      if (timings !== undefined) timings.removeMs = performance.now() - mark;
    });
    sandbox.track(removal);
    // After a kill the result goes back within the settle time, as a cold run's does.
    if (facts !== undefined && (facts.timedOut || facts.cancelled)) await withDeadline(removal, SETTLE_AFTER_KILL_MS, undefined);
    else await removal;
  }
}

function sameEnv(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
