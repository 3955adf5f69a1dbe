import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { ExperimentExecutionError, messageOf } from "../errors.js";
import { checkSpecForTask } from "../execution/code-generator.js";
import { ExperimentSpecSchema, formatZodError, TaskTypeSchema, type ExperimentSpec, type TaskType } from "../schemas.js";

/**
 * A batch manifest: experiment specs with their data, target and task, to be generated
 * with CodeGenerator and then run. Validated once, here; paths are relative to the manifest.
 *
 * {
 *   "defaults": { "data": "penguins.csv", "target": "species", "task": "classification", "timeout": 120 },
 *   "experiments": [
 *     { "experimentName": "logreg", "modelType": "LogisticRegression", "modelParams": { "C": 0.5 } },
 *     { "modelType": "RandomForestRegressor", "data": "mpg.csv", "target": "mpg", "task": "regression" }
 *   ]
 * }
 */

const shared = {
  /** The CSV, relative to the manifest file. */
  data: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  task: TaskTypeSchema.optional(),
  /** Seconds, for this run (over --timeout and the runner's default). */
  timeout: z.number().positive().finite().optional(),
  seed: z.number().int().nonnegative().optional(),
  testSize: z.number().gt(0).lt(1).optional(),
  cvFolds: z.number().int().min(2).max(20).optional(),
};

export const ManifestDefaultsSchema = z.strictObject(shared);

export const ManifestEntrySchema = z.strictObject({
  ...ExperimentSpecSchema.shape,
  /** Default: `<modelType>-<position>`. */
  experimentName: ExperimentSpecSchema.shape.experimentName.optional(),
  hypothesis: z.string().default(""),
  iteration: z.number().int().nonnegative().optional(),
  ...shared,
});

export const ManifestSchema = z.strictObject({
  version: z.literal(1).optional(),
  defaults: ManifestDefaultsSchema.optional(),
  experiments: z.array(ManifestEntrySchema).min(1, "must list at least one experiment"),
});
export type ManifestInput = z.input<typeof ManifestSchema>;

/** One experiment of a manifest, resolved: everything CodeGenerator and the runner need. */
export interface ManifestExperiment {
  spec: ExperimentSpec;
  /** Absolute path of the CSV. */
  dataPath: string;
  targetColumn: string;
  taskType: TaskType;
  /** Seconds; undefined means the runner's. */
  timeout: number | undefined;
  iteration: number;
  seed: number | undefined;
  testSize: number | undefined;
  cvFolds: number | undefined;
}

export interface Manifest {
  /** Absolute path of the manifest file. */
  path: string;
  experiments: ManifestExperiment[];
}

function invalid(path: string, problems: string): ExperimentExecutionError {
  return new ExperimentExecutionError("INVALID_SPEC", `Invalid manifest ${path}: ${problems}`);
}

/** Validates a parsed manifest and resolves its entries (pure: no file is read). */
export function parseManifest(raw: unknown, manifestPath: string): Manifest {
  const path = resolve(manifestPath);
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) throw invalid(path, formatZodError(parsed.error));
  const defaults = parsed.data.defaults ?? {};
  const base = dirname(path);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const experiments: ManifestExperiment[] = [];
  parsed.data.experiments.forEach((entry, position) => {
    const where = `experiments.${position}`;
    const { data, target, task, timeout, seed, testSize, cvFolds, iteration, ...specFields } = entry;
    const dataPath = data ?? defaults.data;
    const targetColumn = target ?? defaults.target;
    const taskType = task ?? defaults.task;
    for (const [name, value] of [["data", dataPath], ["target", targetColumn], ["task", taskType]] as const) {
      if (value === undefined) problems.push(`${where}.${name}: required (on the experiment or in defaults)`);
    }
    const spec = ExperimentSpecSchema.safeParse({ ...specFields, experimentName: specFields.experimentName ?? `${specFields.modelType}-${position + 1}` });
    if (!spec.success) {
      problems.push(`${where}: ${formatZodError(spec.error)}`);
      return;
    }
    const name = spec.data.experimentName;
    const first = seen.get(name);
    if (first !== undefined) problems.push(`${where}.experimentName: "${name}" is also experiments.${first}'s name; names must be unique`);
    else seen.set(name, position);
    if (taskType !== undefined) {
      try {
        checkSpecForTask(spec.data, taskType);
      } catch (error) {
        problems.push(`${where}.modelType: ${messageOf(error)}`);
      }
    }
    if (dataPath === undefined || targetColumn === undefined || taskType === undefined) return;
    experiments.push({
      spec: spec.data,
      dataPath: resolve(base, dataPath),
      targetColumn,
      taskType,
      timeout: timeout ?? defaults.timeout,
      iteration: iteration ?? 0,
      seed: seed ?? defaults.seed,
      testSize: testSize ?? defaults.testSize,
      cvFolds: cvFolds ?? defaults.cvFolds,
    });
  });
  if (problems.length > 0) throw invalid(path, problems.join("; "));
  return { path, experiments };
}

/** Reads, parses and validates a manifest file. */
export async function loadManifest(manifestPath: string): Promise<Manifest> {
  const path = resolve(manifestPath);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ExperimentExecutionError("INVALID_SPEC", `Cannot read manifest ${path}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`, {
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text) as unknown;
  } catch (error) {
    throw invalid(path, `not valid JSON: ${messageOf(error)}`);
  }
  return parseManifest(raw, path);
}
