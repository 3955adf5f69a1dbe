import type { CapturedOutput } from "./output-capture.js";

/**
 * The port between the runner and an isolation backend: "run this script with these limits,
 * give me back what happened". Backends never throw for what a script does; they throw
 * ExperimentExecutionError only when their own machinery is broken.
 */
export interface SandboxRunRequest {
  /** Absolute path of the script on the host. */
  scriptPath: string;
  /** Hard deadline for the run, from start. */
  timeoutMs: number;
  /** Extra environment for the script (on top of the backend's minimal one). */
  env?: Record<string, string>;
  /** Arguments after the script path (sys.argv[1:]). */
  args?: string[];
  signal?: AbortSignal;
}

export interface SandboxOutcome {
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  /** Exit code; 128+N when killed by signal N (as a shell and Docker report it). Null if unknown. */
  exitCode: number | null;
  /** The deadline passed and we killed the run. */
  timedOut: boolean;
  /** The kernel's OOM killer ended the run. */
  oomKilled: boolean;
  /** The caller's AbortSignal ended the run. */
  cancelled: boolean;
  durationMs: number;
  /** What the script wrote to EXPERIMENT_RESULT_PATH, if anything (bounded). */
  resultFile: string | null;
  /** Notes from the backend, e.g. an unreadable result file. */
  notes: string[];
  /** Backend facts for provenance. */
  imageId?: string;
  containerId?: string;
  /** Library versions the backend knows about (e.g. from image labels). */
  versions?: Record<string, string>;
  /** Phase durations for benchmarks: createMs, startMs, runMs, logsMs, removeMs (cold docker);
   * acquireMs, stageMs, runMs, logsMs, removeMs (warm pool). */
  timings?: Record<string, number>;
  /** The run used a warm-pool container. */
  pooled?: boolean;
}

export interface SandboxLimits {
  memoryBytes: number;
}

export interface Sandbox {
  readonly isolation: "docker" | "subprocess";
  /** Facts shown in messages, e.g. the memory limit in an OOM message. */
  readonly limits: SandboxLimits | null;
  run(request: SandboxRunRequest): Promise<SandboxOutcome>;
  /** Optional: get ready ahead of the first run (check the image, fill a warm pool). */
  warmUp?(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}
