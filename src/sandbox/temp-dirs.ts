import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Host temp folders of runs (result files, staged script folders) carry the owner's pid in
 * their name, so a sweep can remove those of runners that died before their `finally`.
 */
export const TEMP_PREFIX = "experiment-sandbox-";
const TEMP_NAME = /^experiment-sandbox-(?:[a-z]+-)?(\d+)-/;

export function makeRunTempDir(kind: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${kind}-${process.pid}-`));
}

/** True when a process with this pid exists (EPERM: it exists, but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes temp folders of runners that are gone; returns their paths. */
export async function sweepTempDirs(dir: string = tmpdir(), isAlive: (pid: number) => boolean = processAlive): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
    removed.push(join(dir, name));
  }
  return removed;
}
