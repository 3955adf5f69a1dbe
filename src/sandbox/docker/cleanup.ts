import { hostname } from "node:os";
import type Dockerode from "dockerode";
import { LABELS } from "../../config.js";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { processAlive } from "../temp-dirs.js";
import { isGoneOrBusy } from "./engine-errors.js";

export interface LeftoverVerdict {
  id: string;
  remove: boolean;
  reason: string;
}

export interface ContainerSummary {
  Id: string;
  Labels?: Record<string, string> | undefined;
}


/**
 * Which of our containers are leftovers (pure but for the liveness probe): past their
 * deadline, or owned by a process on this host that is gone.
 */
export function judgeLeftover(
  container: ContainerSummary,
  now: number,
  host: string = hostname(),
  isAlive: (pid: number) => boolean = processAlive,
): LeftoverVerdict {
  const labels = container.Labels ?? {};
  const deadline = Number(labels[LABELS.deadline]);
  if (Number.isFinite(deadline) && deadline < now) return { id: container.Id, remove: true, reason: "deadline passed" };
  const pid = Number(labels[LABELS.ownerPid]);
  if (labels[LABELS.ownerHost] === host && Number.isInteger(pid) && pid > 0 && !isAlive(pid)) {
    return { id: container.Id, remove: true, reason: `owner process ${pid} is gone` };
  }
  if (!Number.isFinite(deadline) && !Number.isInteger(pid)) return { id: container.Id, remove: true, reason: "no owner or deadline label" };
  return { id: container.Id, remove: false, reason: "owner alive and deadline ahead" };
}

export interface SweepOptions {
  logger?: Logger;
  /** Remove every container of ours, leftover or not. */
  all?: boolean;
  now?: number;
}

/** Removes our leftover containers; returns what it removed. Idempotent. */
export async function sweepLeftovers(docker: Dockerode, options: SweepOptions = {}): Promise<LeftoverVerdict[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [LABELS.project] }),
  });
  const now = options.now ?? Date.now();
  const removed: LeftoverVerdict[] = [];
  for (const summary of containers) {
    const verdict = options.all === true ? { id: summary.Id, remove: true, reason: "all requested" } : judgeLeftover(summary, now);
    if (!verdict.remove) continue;
    try {
      await docker.getContainer(summary.Id).remove({ force: true, v: true });
      removed.push(verdict);
      options.logger?.info({ containerId: summary.Id.slice(0, 12), reason: verdict.reason }, "removed leftover container");
    } catch (error) {
      if (isGoneOrBusy(error)) continue;
      options.logger?.warn({ containerId: summary.Id.slice(0, 12), err: messageOf(error) }, "could not remove leftover container");
    }
  }
  return removed;
}
