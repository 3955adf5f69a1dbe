import { z } from "zod";
import {
  DEFAULT_FILE_SIZE_BYTES,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_NETWORK,
  DEFAULT_NOFILE_LIMIT,
  DEFAULT_PIDS_LIMIT,
  DEFAULT_TMPFS_BYTES,
  ExperimentDefaults,
} from "../config.js";
import { ExperimentExecutionError } from "../errors.js";
import { formatZodError, IsolationSchema } from "../schemas.js";
import { CONTAINER_USER, type DockerLimits } from "../sandbox/docker/create-options.js";

const positive = z.number().positive().finite();
/** A warm container holds the imported stack (about 130 MB): a pool is a few of them, not many. */
export const MAX_POOL_SIZE = 16;
export const DEFAULT_POOL_MAX_IDLE_SECONDS = 300;
const positiveInt = z.number().int().positive();

/** Options of `new ExperimentRunner(...)`, validated once here. Unknown keys are rejected. */
export const ExperimentRunnerOptionsSchema = z.strictObject({
  /** Seconds; default EXPERIMENT_TIMEOUT or 300. */
  timeout: positive.optional(),
  /** Subprocess isolation only; default EXPERIMENT_PYTHON or "python". */
  pythonExecutable: z.string().min(1).optional(),
  /** Default EXPERIMENT_ISOLATION or "docker". */
  isolation: IsolationSchema.optional(),
  /** Docker isolation: the runtime image; default EXPERIMENT_SANDBOX_IMAGE or experiment-sandbox/python-sklearn:1. */
  image: z.string().min(1).optional(),
  memoryBytes: positiveInt.min(6 * 1024 * 1024).optional(),
  cpus: positive.optional(),
  pidsLimit: positiveInt.optional(),
  maxOutputBytes: positiveInt.min(1024).optional(),
  tmpfsBytes: positiveInt.optional(),
  nofileLimit: positiveInt.optional(),
  fileSizeBytes: positiveInt.optional(),
  /** Docker network mode; "none" unless you really need another. */
  network: z.string().min(1).optional(),
  readOnlyRootfs: z.boolean().optional(),
  /** Container runtime, e.g. "runsc" for gVisor; default EXPERIMENT_RUNTIME or the engine's default. */
  runtime: z.string().min(1).optional(),
  /** Subprocess isolation: SIGTERM, then SIGKILL after this many ms. */
  killGraceMs: z.number().int().nonnegative().optional(),
  /** Extra environment variables for every script. */
  env: z.record(z.string(), z.string()).optional(),
  /** Remove leftovers of dead runners before the first docker run. */
  sweepOnStart: z.boolean().optional(),
  /**
   * Docker isolation, opt-in: keep `size` single-use containers started ahead of time with the
   * stack imported; a run takes one and it is destroyed after that run. Default: no pool.
   */
  pool: z
    .strictObject({
      /** Warm containers kept ready; 0 turns the pool off. */
      size: z.number().int().nonnegative().max(MAX_POOL_SIZE),
      /** Seconds a warm container waits for a script before it is replaced; default 300. */
      maxIdleSeconds: positive.min(5).optional(),
    })
    .optional(),
});
export type ExperimentRunnerOptions = z.input<typeof ExperimentRunnerOptionsSchema>;

export interface ResolvedRunnerOptions {
  timeoutSeconds: number;
  pythonExecutable: string;
  isolation: "docker" | "subprocess";
  maxOutputBytes: number;
  killGraceMs: number;
  env: Record<string, string>;
  sweepOnStart: boolean;
  docker: DockerLimits;
  /** The warm pool, or null when off. */
  pool: { size: number; maxIdleMs: number } | null;
}

/** Options, then environment, then DEFAULT_* constants. Throws INVALID_OPTIONS with every problem named. */
export function resolveRunnerOptions(input: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedRunnerOptions {
  const parsed = ExperimentRunnerOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new ExperimentExecutionError("INVALID_OPTIONS", `Invalid ExperimentRunner options: ${formatZodError(parsed.error)}`);
  }
  let defaults: ExperimentDefaults;
  try {
    defaults = new ExperimentDefaults(env);
  } catch (error) {
    throw new ExperimentExecutionError("INVALID_OPTIONS", (error as Error).message, { cause: error });
  }
  const options = parsed.data;
  const isolation = options.isolation ?? defaults.isolation;
  const poolSize = options.pool?.size ?? 0;
  if (poolSize > 0 && isolation !== "docker") {
    throw new ExperimentExecutionError("INVALID_OPTIONS", `Invalid ExperimentRunner options: pool: a warm pool needs docker isolation, not ${isolation}`);
  }
  return {
    timeoutSeconds: options.timeout ?? defaults.experimentTimeout,
    pythonExecutable: options.pythonExecutable ?? defaults.pythonExecutable,
    isolation,
    maxOutputBytes: options.maxOutputBytes ?? defaults.maxOutputBytes,
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    env: options.env ?? {},
    sweepOnStart: options.sweepOnStart ?? true,
    docker: {
      image: options.image ?? defaults.image,
      memoryBytes: options.memoryBytes ?? defaults.memoryBytes,
      cpus: options.cpus ?? defaults.cpus,
      pidsLimit: options.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      tmpfsBytes: options.tmpfsBytes ?? DEFAULT_TMPFS_BYTES,
      nofileLimit: options.nofileLimit ?? DEFAULT_NOFILE_LIMIT,
      fileSizeBytes: options.fileSizeBytes ?? DEFAULT_FILE_SIZE_BYTES,
      network: options.network ?? DEFAULT_NETWORK,
      readOnlyRootfs: options.readOnlyRootfs ?? true,
      runtime: options.runtime ?? defaults.runtime,
      user: CONTAINER_USER,
    },
    pool: poolSize > 0 ? { size: poolSize, maxIdleMs: (options.pool?.maxIdleSeconds ?? DEFAULT_POOL_MAX_IDLE_SECONDS) * 1000 } : null,
  };
}
