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
    // Only for setpriv to switch to the script's user; the script itself has no capabilities.
    CapAdd: ["SETUID", "SETGID"],
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
export function buildCreateOptions(limits: DockerLimits, run: ContainerRun): ContainerCreateOptions {
  const containerDeadlineSeconds = Math.ceil(run.timeoutMs / 1000) + CONTAINER_DEADLINE_SLACK_SECONDS;
  const deadlineMs = run.now + containerDeadlineSeconds * 1000;
  const hostConfig = hardenedHostConfig(limits);
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
      Mounts: [
        { Type: "bind", Source: run.workDir, Target: CONTAINER_WORKDIR, ReadOnly: true },
        { Type: "bind", Source: run.resultFile, Target: CONTAINER_RESULT_PATH, ReadOnly: false },
      ],
    },
  };
}
