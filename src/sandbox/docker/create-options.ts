import type { ContainerCreateOptions } from "dockerode";
import { CONTAINER_DEADLINE_SLACK_SECONDS, LABELS } from "../../config.js";
import { SCRIPT_ENV_DEFAULTS } from "../subprocess/environment.js";

/** Where things live inside the container. */
export const CONTAINER_WORKDIR = "/work";
export const CONTAINER_RESULT_PATH = "/sandbox/result.json";
/** The script's user and group (the image's "sandbox" user). */
export const CONTAINER_USER = "10001:10001";
/**
 * The container starts as root only to run the deadline enforcer (tini and timeout(1)); the
 * script is started through setpriv as CONTAINER_USER with no capabilities. A script cannot
 * signal, stop or ptrace processes of another user, so it cannot disarm its own deadline.
 */
export const ENFORCER_USER = "0:0";
/** The warm-pool worker shipped in the image (images/python-sklearn/sandbox/pool_worker.py). */
export const POOL_WORKER_PATH = "/opt/sandbox/pool_worker.py";

/** Hardening and limits of docker isolation; every field overridable (README lists defaults). */
export interface DockerLimits {
  image: string;
  memoryBytes: number;
  cpus: number;
  pidsLimit: number;
  tmpfsBytes: number;
  nofileLimit: number;
  fileSizeBytes: number;
  network: string;
  readOnlyRootfs: boolean;
  runtime?: string | undefined;
  /** "uid:gid" the script runs as. */
  user: string;
}

export interface ContainerRun {
  runId: string;
  /** Host folder of the script, mounted read-only at /work. */
  workDir: string;
  scriptName: string;
  args: string[];
  /** Host file bind-mounted writable as the result file. */
  resultFile: string;
  timeoutMs: number;
  env: Record<string, string>;
  ownerPid: number;
  ownerHost: string;
  now: number;
}

/** Thread caps for BLAS, OpenMP and joblib, so n_jobs=-1 does not oversubscribe the CPU limit. */
export function threadEnvironment(cpus: number): Record<string, string> {
  const threads = String(Math.max(1, Math.ceil(cpus)));
  return {
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
    MKL_NUM_THREADS: threads,
    NUMEXPR_NUM_THREADS: threads,
    LOKY_MAX_CPU_COUNT: threads,
  };
}

/** The explicit environment of a container: nothing is inherited from the runner. */
export function containerEnvironment(limits: DockerLimits, extra: Record<string, string>): string[] {
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: "/tmp",
    LANG: "C.UTF-8",
    ...SCRIPT_ENV_DEFAULTS,
    MPLCONFIGDIR: "/tmp/matplotlib",
    JOBLIB_TEMP_FOLDER: "/tmp",
    TMPDIR: "/tmp",
    ...threadEnvironment(limits.cpus),
    EXPERIMENT_RESULT_PATH: CONTAINER_RESULT_PATH,
    ...extra,
  };
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}

export function containerLabels(run: Pick<ContainerRun, "runId" | "ownerPid" | "ownerHost">, deadlineMs: number): Record<string, string> {
  return {
    [LABELS.project]: "1",
    [LABELS.runId]: run.runId,
    [LABELS.ownerPid]: String(run.ownerPid),
    [LABELS.ownerHost]: run.ownerHost,
    [LABELS.deadline]: String(deadlineMs),
  };
}

/** Host threads gVisor's sentry and gofer need on top of the script's processes. */
export const RUNSC_EXTRA_PIDS = 512;

/** The argv prefix that drops from the enforcer (root) to the script's user, with no capabilities. */
export function dropPrivileges(user: string): string[] {
  const [uid, gid] = user.split(":");
  return ["setpriv", `--reuid=${uid}`, `--regid=${gid ?? uid}`, "--clear-groups", "--inh-caps=-all", "--"];
}

/** All a container sees of the host: the script's folder (read-only) and one result file. */
export function containerMounts(workDir: string, resultFile: string): NonNullable<NonNullable<ContainerCreateOptions["HostConfig"]>["Mounts"]> {
  return [
    { Type: "bind", Source: workDir, Target: CONTAINER_WORKDIR, ReadOnly: true },
    { Type: "bind", Source: resultFile, Target: CONTAINER_RESULT_PATH, ReadOnly: false },
  ];
}

/** HostConfig shared by cold and pooled containers: every limit and hardening. */
export function hardenedHostConfig(limits: DockerLimits): NonNullable<ContainerCreateOptions["HostConfig"]> {
  return {
    NetworkMode: limits.network,
    ReadonlyRootfs: limits.readOnlyRootfs,
    Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${limits.tmpfsBytes}` },
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    NanoCpus: Math.round(limits.cpus * 1e9),
    // gVisor's own host threads count against the pids cgroup: give it room above the script's limit.
    PidsLimit: limits.pidsLimit + (limits.runtime === "runsc" ? RUNSC_EXTRA_PIDS : 0),
    CapDrop: ["ALL"],
    // For the root enforcer only: setpriv switches to the script's user (SETUID, SETGID) and
    // timeout(1) or the pool worker can signal that user's processes (KILL). The script itself
    // runs with no capabilities at all.
    CapAdd: ["SETUID", "SETGID", "KILL"],
    SecurityOpt: ["no-new-privileges"],
    Init: true,
    IpcMode: "private",
    Ulimits: [
      { Name: "nofile", Soft: limits.nofileLimit, Hard: limits.nofileLimit },
      { Name: "fsize", Soft: limits.fileSizeBytes, Hard: limits.fileSizeBytes },
    ],
    LogConfig: { Type: "none", Config: {} },
    ...(limits.runtime !== undefined ? { Runtime: limits.runtime } : {}),
  };
}

/**
 * Create options of a one-shot container (pure). The script runs under timeout(1), so the
 * container ends itself a few seconds after the deadline even if the runner died.
 */
export function buildCreateOptions(
  limits: DockerLimits,
  run: ContainerRun,
  hostConfig: NonNullable<ContainerCreateOptions["HostConfig"]> = hardenedHostConfig(limits),
): ContainerCreateOptions {
  const containerDeadlineSeconds = Math.ceil(run.timeoutMs / 1000) + CONTAINER_DEADLINE_SLACK_SECONDS;
  const deadlineMs = run.now + containerDeadlineSeconds * 1000;
  return {
    Image: limits.image,
    Cmd: [
      "timeout",
      "--signal=KILL",
      String(containerDeadlineSeconds),
      ...dropPrivileges(limits.user),
      "python3",
      `${CONTAINER_WORKDIR}/${run.scriptName}`,
      ...run.args,
    ],
    WorkingDir: CONTAINER_WORKDIR,
    User: ENFORCER_USER,
    Env: containerEnvironment(limits, run.env),
    Labels: containerLabels(run, deadlineMs),
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: limits.network === "none",
    HostConfig: {
      ...hostConfig,
      Mounts: containerMounts(run.workDir, run.resultFile),
    },
  };
}

export interface PoolContainerSpec {
  /** Run id label of the container (one per pooled container). */
  runId: string;
  /** Host folder, empty until a run stages its script folder into it; mounted read-only at /work. */
  stagingDir: string;
  /** Host file bind-mounted writable as the result file. */
  resultFile: string;
  /** The worker waits this long for its script, then exits without running anything. */
  idleMs: number;
  /** The longest run this container accepts (the runner refuses longer ones to the pool). */
  maxRunMs: number;
  env: Record<string, string>;
  ownerPid: number;
  ownerHost: string;
  now: number;
}

/** Seconds a pooled container may live at most: idle wait, then the longest run, plus slack. */
export function poolContainerLifetimeSeconds(spec: Pick<PoolContainerSpec, "idleMs" | "maxRunMs">): number {
  return Math.ceil(spec.idleMs / 1000) + Math.ceil(spec.maxRunMs / 1000) + CONTAINER_DEADLINE_SLACK_SECONDS;
}

/** The deadline a pooled run hands the worker: the run's own, plus the same slack as a cold container's. */
export function poolRunDeadlineSeconds(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 1000) + CONTAINER_DEADLINE_SLACK_SECONDS;
}

/**
 * Create options of a warm-pool container (pure): the same limits, hardening, environment and
 * labels as a cold container (plus the pool label), the pool worker as its command under
 * timeout(1) for its whole lifetime, and stdin open for the one request it will get. Its
 * deadline label covers the idle wait and the longest run, so a sweep never takes a live one.
 * Like a cold container's enforcer, the worker runs as root (with only SETUID, SETGID and KILL) and
 * the script's process drops to the script's user with no capabilities before the script
 * exists, so a script cannot signal or stop the worker that enforces its deadline.
 */
export function buildPoolCreateOptions(
  limits: DockerLimits,
  spec: PoolContainerSpec,
  hostConfig: NonNullable<ContainerCreateOptions["HostConfig"]> = hardenedHostConfig(limits),
): ContainerCreateOptions {
  const lifetimeSeconds = poolContainerLifetimeSeconds(spec);
  return {
    Image: limits.image,
    Cmd: [
      "timeout",
      "--signal=KILL",
      String(lifetimeSeconds),
      "python3",
      POOL_WORKER_PATH,
      "--idle-seconds",
      String(Math.max(1, Math.round(spec.idleMs / 1000))),
      "--user",
      limits.user,
    ],
    WorkingDir: CONTAINER_WORKDIR,
    User: ENFORCER_USER,
    Env: containerEnvironment(limits, spec.env),
    Labels: { ...containerLabels(spec, spec.now + lifetimeSeconds * 1000), [LABELS.pool]: "1" },
    Tty: false,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: limits.network === "none",
    HostConfig: {
      ...hostConfig,
      Mounts: containerMounts(spec.stagingDir, spec.resultFile),
    },
  };
}
