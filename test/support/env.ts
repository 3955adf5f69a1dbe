import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Dockerode from "dockerode";
import { LABELS } from "../../src/config.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const SCRIPTS = `${FIXTURES}scripts/`;
export const SHARED_DATA = fileURLToPath(new URL("../../../shared/data/", import.meta.url));
export const PENGUINS = fileURLToPath(new URL("../../data/penguins.csv", import.meta.url));

/** The host Python for subprocess isolation (make test sets EXPERIMENT_TEST_PYTHON). */
export function testPython(): string {
  const fromEnv = process.env.EXPERIMENT_TEST_PYTHON;
  if (fromEnv) return fromEnv;
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

export const docker = new Dockerode();

/** Containers of ours owned by this test process (other runners on the engine are not ours to judge). */
export async function containersOfThisProcess(): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${LABELS.project}`, `${LABELS.ownerPid}=${process.pid}`] }),
  });
}

/** The shared dataset folder when the checkout sits beside shared/, else the bundled copy. */
export function sharedData(name: string): string {
  const path = `${SHARED_DATA}${name}`;
  if (existsSync(path)) return path;
  throw new Error(`${path} not found: tests read ../shared/data beside the checkout`);
}
