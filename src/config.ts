/**
 * Every default in one place. Precedence everywhere: per call, then runner options,
 * then the environment variable, then the DEFAULT_* constant below.
 * The README lists each of them.
 */
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_ISOLATION = "docker" as const;
export const DEFAULT_PYTHON_EXECUTABLE = "python";
export const IMAGE_REPOSITORY = "experiment-sandbox/python-sklearn";
export const IMAGE_TAG = "1";
export const DEFAULT_IMAGE = `${IMAGE_REPOSITORY}:${IMAGE_TAG}`;
export const DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_CPUS = 1;
export const DEFAULT_PIDS_LIMIT = 256;
export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_TMPFS_BYTES = 128 * 1024 * 1024;
export const DEFAULT_NOFILE_LIMIT = 1024;
export const DEFAULT_FILE_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 500;
export const DEFAULT_NETWORK = "none";
/** Seconds the container's own deadline (timeout(1) inside it) adds to the runner's deadline. */
export const CONTAINER_DEADLINE_SLACK_SECONDS = 5;
/** Labels on every container we create; `cleanup` finds leftovers by them. */
export const LABEL_PREFIX = "experiment-sandbox";
export const LABELS = {
  project: LABEL_PREFIX,
  runId: `${LABEL_PREFIX}.run-id`,
  ownerPid: `${LABEL_PREFIX}.owner-pid`,
  ownerHost: `${LABEL_PREFIX}.owner-host`,
  deadline: `${LABEL_PREFIX}.deadline`,
  pool: `${LABEL_PREFIX}.pool`,
  definitionHash: `${LABEL_PREFIX}.definition-hash`,
  versions: `${LABEL_PREFIX}.versions`,
} as const;

export type Isolation = "docker" | "subprocess";

function numberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Defaults as the environment sets them (read once, at construction). */
export class ExperimentDefaults {
  readonly experimentTimeout: number;
  readonly isolation: Isolation;
  readonly pythonExecutable: string;
  readonly image: string;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly maxOutputBytes: number;
  readonly runtime: string | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.experimentTimeout = numberFromEnv(env, "EXPERIMENT_TIMEOUT") ?? DEFAULT_TIMEOUT_SECONDS;
    const isolation = env.EXPERIMENT_ISOLATION;
    if (isolation !== undefined && isolation !== "" && isolation !== "docker" && isolation !== "subprocess") {
      throw new RangeError(`EXPERIMENT_ISOLATION must be "docker" or "subprocess", got ${JSON.stringify(isolation)}`);
    }
    this.isolation = isolation === "subprocess" ? "subprocess" : DEFAULT_ISOLATION;
    this.pythonExecutable = env.EXPERIMENT_PYTHON || DEFAULT_PYTHON_EXECUTABLE;
    this.image = env.EXPERIMENT_SANDBOX_IMAGE || DEFAULT_IMAGE;
    const memoryMb = numberFromEnv(env, "EXPERIMENT_MEMORY_MB");
    this.memoryBytes = memoryMb !== undefined ? Math.round(memoryMb * 1024 * 1024) : DEFAULT_MEMORY_BYTES;
    this.cpus = numberFromEnv(env, "EXPERIMENT_CPUS") ?? DEFAULT_CPUS;
    this.maxOutputBytes = numberFromEnv(env, "EXPERIMENT_MAX_OUTPUT_BYTES") ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.runtime = env.EXPERIMENT_RUNTIME || undefined;
  }
}
