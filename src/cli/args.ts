import { parseArgs, type ParseArgsConfig } from "node:util";
import { readFile } from "node:fs/promises";
import { ExperimentExecutionError } from "../errors.js";
import type { ExperimentRunnerOptions } from "../execution/runner-options.js";

/** A usage error: exit code 2, message and the command's help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags shared by every command that runs scripts. */
export const RUNNER_FLAGS = {
  isolation: { type: "string" },
  timeout: { type: "string" },
  python: { type: "string" },
  image: { type: "string" },
  "memory-mb": { type: "string" },
  cpus: { type: "string" },
  "pids-limit": { type: "string" },
  "max-output-bytes": { type: "string" },
  runtime: { type: "string" },
  network: { type: "string" },
  pool: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export const RUNNER_FLAGS_HELP = `Runner options:
  --isolation docker|subprocess   default: EXPERIMENT_ISOLATION or docker
  --timeout <seconds>             default: EXPERIMENT_TIMEOUT or 300
  --python <path>                 subprocess isolation; default: EXPERIMENT_PYTHON or python
  --image <name>                  default: EXPERIMENT_SANDBOX_IMAGE or experiment-sandbox/python-sklearn:1
  --memory-mb <n>                 default: EXPERIMENT_MEMORY_MB or 1024
  --cpus <n>                      default: EXPERIMENT_CPUS or 1
  --pids-limit <n>                default: 256
  --max-output-bytes <n>          per stream; default: EXPERIMENT_MAX_OUTPUT_BYTES or 8388608
  --runtime <name>                e.g. runsc (gVisor); default: EXPERIMENT_RUNTIME or the engine's
  --network <mode>                default: none
  --pool <n>                      docker: keep n warm containers ready (stack imported, one run
                                  each); pays off when one process runs many scripts; default 0 (off)
  --json                          print exactly one JSON document on stdout`;

type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>>;

export function parse<T extends Options>(argv: string[], options: T, allowPositionals = true): Parsed<T> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const option = /'(-[^']*)'/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${option} (see --help)`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /ambiguous/.test(message)) {
      throw new UsageError(`${option.split(" ")[0]} needs a value; a value starting with '-' is not allowed here (see --help)`);
    }
    throw new UsageError(`${message} (see --help)`);
  }
}

export function numberFlag(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(number) || number <= 0) {
    throw new UsageError(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return number;
}

export function runnerOptionsFromFlags(values: Record<string, unknown>): ExperimentRunnerOptions {
  const options: ExperimentRunnerOptions = {};
  const isolation = values.isolation;
  if (isolation !== undefined) {
    if (isolation !== "docker" && isolation !== "subprocess") throw new UsageError(`--isolation must be docker or subprocess, got ${JSON.stringify(isolation)}`);
    options.isolation = isolation;
  }
  const timeout = numberFlag(values.timeout, "timeout");
  if (timeout !== undefined) options.timeout = timeout;
  if (typeof values.python === "string") options.pythonExecutable = values.python;
  if (typeof values.image === "string") options.image = values.image;
  const memoryMb = numberFlag(values["memory-mb"], "memory-mb");
  if (memoryMb !== undefined) options.memoryBytes = Math.round(memoryMb * 1024 * 1024);
  const cpus = numberFlag(values.cpus, "cpus");
  if (cpus !== undefined) options.cpus = cpus;
  const pids = numberFlag(values["pids-limit"], "pids-limit");
  if (pids !== undefined) options.pidsLimit = Math.round(pids);
  const maxOutput = numberFlag(values["max-output-bytes"], "max-output-bytes");
  if (maxOutput !== undefined) options.maxOutputBytes = Math.round(maxOutput);
  if (typeof values.runtime === "string") options.runtime = values.runtime;
  if (typeof values.network === "string") options.network = values.network;
  if (values.pool !== undefined) {
    const size = Number(values.pool);
    if (typeof values.pool !== "string" || values.pool.trim() === "" || !Number.isInteger(size) || size < 0) {
      throw new UsageError(`--pool must be a whole number of containers (0 for none), got ${JSON.stringify(values.pool)}`);
    }
    options.pool = { size };
  }
  return options;
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

export function parseJsonFlag(value: string, name: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new UsageError(`--${name} is not valid JSON: ${(error as Error).message}`);
  }
}

export { ExperimentExecutionError };
