import { copyFile, link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ExperimentExecutionError } from "../errors.js";
import {
  CLASSIFICATION_MODELS,
  ExperimentSpecSchema,
  formatZodError,
  REGRESSION_MODELS,
  TaskTypeSchema,
  type ExperimentSpec,
  type TaskType,
} from "../schemas.js";

/** The generic experiment script; generated scripts are copies of it plus a JSON config. */
export const TEMPLATE_PATH = fileURLToPath(new URL("../../python/experiment_template.py", import.meta.url));
export const DEFAULT_SEED = 42;
/** Where the generator puts the data file, inside the output folder (mounted read-only in docker). */
export const DATA_SUBDIR = "data";

const GenerateRequestSchema = z.strictObject({
  spec: ExperimentSpecSchema,
  dataPath: z.string().min(1),
  targetColumn: z.string().min(1),
  taskType: TaskTypeSchema,
  outputDir: z.string().min(1),
  seed: z.number().int().nonnegative().default(DEFAULT_SEED),
  testSize: z.number().gt(0).lt(1).default(0.2),
  cvFolds: z.number().int().min(2).max(20).default(5),
});
export type GenerateRequest = z.input<typeof GenerateRequestSchema>;

export function allowedModels(taskType: TaskType): readonly string[] {
  return taskType === "classification" ? CLASSIFICATION_MODELS : REGRESSION_MODELS;
}

/** The config the script reads at run time: the spec travels as data, never as code. */
export interface ScriptConfig {
  experimentName: string;
  modelType: string;
  modelParams: Record<string, unknown>;
  taskType: TaskType;
  targetColumn: string;
  dataFile: string;
  preprocessing: ExperimentSpec["preprocessing"];
  seed: number;
  testSize: number;
  cvFolds: number;
}

/** Checks a spec against the task (pure): the model must be on the task's allowlist. */
export function checkSpecForTask(spec: ExperimentSpec, taskType: TaskType): void {
  const allowed = allowedModels(taskType);
  if (!allowed.includes(spec.modelType)) {
    const other = allowedModels(taskType === "classification" ? "regression" : "classification");
    const hint = other.includes(spec.modelType) ? ` (${spec.modelType} is a ${taskType === "classification" ? "regression" : "classification"} model)` : "";
    throw new ExperimentExecutionError(
      "INVALID_SPEC",
      `Unknown modelType '${spec.modelType}' for ${taskType}${hint}; allowed: ${allowed.join(", ")}`,
    );
  }
  if (spec.preprocessing.targetTransform === "log" && taskType !== "regression") {
    throw new ExperimentExecutionError("INVALID_SPEC", "targetTransform 'log' applies to regression only");
  }
}

export function buildScriptConfig(
  spec: ExperimentSpec,
  request: { targetColumn: string; taskType: TaskType; dataFile: string; seed: number; testSize: number; cvFolds: number },
): ScriptConfig {
  return {
    experimentName: spec.experimentName,
    modelType: spec.modelType,
    modelParams: spec.modelParams,
    taskType: request.taskType,
    targetColumn: request.targetColumn,
    dataFile: request.dataFile,
    preprocessing: spec.preprocessing,
    seed: request.seed,
    testSize: request.testSize,
    cvFolds: request.cvFolds,
  };
}

/**
 * Turns an ExperimentSpec plus a CSV into a runnable scikit-learn script:
 * `<outputDir>/<experimentName>.py` and its `<experimentName>.config.json`, with the CSV
 * placed in `<outputDir>/data/` (hard link when possible, else a copy) so that the script's
 * folder is all a container needs to see.
 */
export class CodeGenerator {
  private template: Promise<string> | undefined;

  constructor(private readonly templatePath: string = TEMPLATE_PATH) {}

  async generate(input: GenerateRequest): Promise<string> {
    const parsed = GenerateRequestSchema.safeParse(input);
    if (!parsed.success) {
      throw new ExperimentExecutionError("INVALID_SPEC", `Invalid generate request: ${formatZodError(parsed.error)}`);
    }
    const request = parsed.data;
    checkSpecForTask(request.spec, request.taskType);
    const dataPath = resolve(request.dataPath);
    try {
      if (!(await stat(dataPath)).isFile()) throw new Error("not a file");
    } catch (error) {
      throw new ExperimentExecutionError("INVALID_SPEC", `Data file not found: ${dataPath}`, { cause: error });
    }
    const outputDir = resolve(request.outputDir);
    await mkdir(join(outputDir, DATA_SUBDIR), { recursive: true });
    const dataFile = `${DATA_SUBDIR}/${basename(dataPath)}`;
    await placeDataFile(dataPath, join(outputDir, dataFile));

    const config = buildScriptConfig(request.spec, { ...request, dataFile });
    const scriptPath = join(outputDir, `${request.spec.experimentName}.py`);
    this.template ??= readFile(this.templatePath, "utf8");
    await writeFile(join(outputDir, `${request.spec.experimentName}.config.json`), `${JSON.stringify(config, null, 2)}\n`);
    await writeFile(scriptPath, await this.template);
    return scriptPath;
  }
}

/** Hard link (no copy, same bytes) when on one file system; a copy otherwise. */
async function placeDataFile(source: string, target: string): Promise<void> {
  if (resolve(source) === resolve(target)) return;
  try {
    const [a, b] = await Promise.all([stat(source), stat(target)]);
    if (a.ino === b.ino && a.dev === b.dev) return;
    await unlink(target);
  } catch {
    // target absent
  }
  try {
    await link(source, target);
  } catch {
    await copyFile(source, target);
  }
}
