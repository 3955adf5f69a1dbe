import type Dockerode from "dockerode";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { isGoneOrBusy, statusOf, toExecutionError } from "./engine-errors.js";
import { judgeOomKill, type OomVerdict } from "./oom-verdict.js";

/** How long to wait for the engine to confirm a kill (as a cold run: the result comes soon after the deadline), and for the output stream to end. */
export const KILL_CONFIRM_MS = 1200;
export const STREAM_END_MS = 2000;
/** After the runner killed a container: the time left for its output stream and its removal before the result goes back anyway (the rest goes on in the background). */
export const SETTLE_AFTER_KILL_MS = 300;

export interface ExitFacts {
  /** Exit code; 128+N when killed by signal N. Null if unknown. */
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
}

/** The engine's wait, started now: resolves with the exit code, or null with the error kept. */
export function waitForExit(container: Dockerode.Container): { exit: Promise<number | null>; error: () => unknown } {
  let waitError: unknown;
  const exit = (container.wait() as Promise<{ StatusCode: number }>).then(
    (response) => response.StatusCode,
    (error: unknown) => {
      waitError = error;
      return null;
    },
  );
  return { exit, error: () => waitError };
}

/**
 * Waits for a running container to exit; at the deadline or on abort, kills it and waits for
 * the engine to confirm. Shared by cold and pooled runs, so both end a run the same way.
 */
export async function awaitExit(
  container: Dockerode.Container,
  waited: { exit: Promise<number | null>; error: () => unknown },
  timeoutMs: number,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<ExitFacts> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<"deadline" | "abort">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), timeoutMs);
    onAbort = () => resolve("abort");
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) resolve("abort");
  });
  try {
    const first = await Promise.race([waited.exit.then((exit) => ({ exit })), interrupted]);
    let facts: ExitFacts;
    if (typeof first === "object") {
      facts = { exitCode: first.exit, timedOut: false, cancelled: false };
    } else {
      log.debug({ reason: first }, "killing the container");
      await killContainer(container);
      facts = { exitCode: await withDeadline(waited.exit, KILL_CONFIRM_MS, null), timedOut: first === "deadline", cancelled: first === "abort" };
    }
    const waitError = waited.error();
    if (waitError !== undefined) throw toExecutionError(waitError, "wait for the container");
    return facts;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Whether the kernel's OOM killer ended the container, judged as for a cold run (oom-verdict.ts);
 * the engine is asked only when the exit says it may have been.
 */
export async function judgeOom(container: Dockerode.Container, facts: ExitFacts, log: Logger): Promise<OomVerdict> {
  if (facts.exitCode === 0 || facts.timedOut || facts.cancelled) return { oomKilled: false };
  let engineOomKilled: boolean | undefined;
  let containerGone = false;
  try {
    const state = (await container.inspect()).State;
    engineOomKilled = state.OOMKilled === true;
    containerGone = state.Status === "removing" || state.Dead === true;
  } catch (error) {
    containerGone = statusOf(error) === 404;
    log.debug({ err: messageOf(error) }, "inspect after exit failed");
  }
  return judgeOomKill({ exitCode: facts.exitCode, engineOomKilled, containerGone, killedByRunner: false });
}

/** Kill outright; a container already gone or stopped is success. */
export async function killContainer(container: Dockerode.Container): Promise<void> {
  try {
    await container.kill({ signal: "SIGKILL" });
  } catch (error) {
    if (!isGoneOrBusy(error)) throw toExecutionError(error, "kill the container");
  }
}

/** Force-remove; "already gone" and "removal in progress" are success; other errors are logged. */
export async function removeContainer(container: Dockerode.Container, log: Logger): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (!isGoneOrBusy(error)) log.warn({ containerId: container.id, err: messageOf(error) }, "could not remove container");
  }
}

export function withDeadline<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise that resolves when a stream ends, closes or fails. */
export function streamEnd(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}
