import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { ExperimentExecutionError } from "../errors.js";
import type { CodeGenerator } from "../execution/code-generator.js";
import type { BatchItem } from "../execution/experiment-runner.js";
import {
  EXPERIMENT_NAME_PATTERN,
  PreprocessingConfigSchema,
  TaskTypeSchema,
  type ExperimentSpecInput,
  type TaskType,
} from "../schemas.js";
import { expandGlob, hasGlobMagic } from "./glob.js";
import { loadManifest, type ManifestExperiment } from "./manifest.js";

/**
 * What a `ci` batch runs, from its command-line targets: a folder (its *.py files), a glob,
 * a single script, or a manifest (.json) of specs to generate. Names are made unique across
 * the batch; manifest experiments are generated into a folder each.
 */
export type PlannedRun =
  | { kind: "script"; scriptPath: string; name: string; spec: ExperimentSpecInput; taskType: TaskType | undefined }
  | { kind: "manifest"; name: string; experiment: ManifestExperiment };

/** A safe experiment name from a script's file name (the rule `run` uses). */
export function nameFromScriptPath(scriptPath: string): string {
  const name = basename(scriptPath).replace(/\.py$/i, "").replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[.-]+/, "");
  return EXPERIMENT_NAME_PATTERN.test(name) ? name : "script";
}

/** Later duplicates get "-2", "-3", ... (pure); every name stays a valid experiment name. */
export function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set(names);
  const used = new Set<string>();
  return names.map((name) => {
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
    for (let n = 2; ; n += 1) {
      const suffix = `-${n}`;
      const candidate = `${name.slice(0, 100 - suffix.length)}${suffix}`;
      if (!used.has(candidate) && !taken.has(candidate)) {
        used.add(candidate);
        return candidate;
      }
    }
  });
}

/** Folder scripts: *.py directly inside, not hidden, not __init__.py, sorted. */
function isBatchScript(name: string): boolean {
  return name.endsWith(".py") && !name.startsWith(".") && name !== "__init__.py";
}

/**
 * The spec of a script from the `<name>.config.json` that CodeGenerator writes beside it, when
 * there is one: model, parameters, preprocessing and task make the reports richer. Lenient: a
 * missing or foreign file just gives a plain spec.
 */
export async function specOfScript(scriptPath: string, name: string): Promise<{ spec: ExperimentSpecInput; taskType: TaskType | undefined }> {
  const plain = { spec: { experimentName: name, hypothesis: "", modelType: "script" }, taskType: undefined };
  let config: Record<string, unknown>;
  try {
    const stem = basename(scriptPath).replace(/\.py$/i, "");
    const value = JSON.parse(await readFile(join(dirname(scriptPath), `${stem}.config.json`), "utf8")) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) return plain;
    config = value as Record<string, unknown>;
  } catch {
    return plain;
  }
  if (typeof config.modelType !== "string" || config.modelType === "") return plain;
  const task = TaskTypeSchema.safeParse(config.taskType);
  const preprocessing = PreprocessingConfigSchema.safeParse(config.preprocessing);
  const params = config.modelParams;
  return {
    spec: {
      experimentName: name,
      hypothesis: "",
      modelType: config.modelType,
      ...(typeof params === "object" && params !== null && !Array.isArray(params) ? { modelParams: params as ExperimentSpecInput["modelParams"] } : {}),
      ...(preprocessing.success ? { preprocessing: preprocessing.data } : {}),
    },
    taskType: task.success ? task.data : undefined,
  };
}

type Found = { kind: "script"; path: string } | { kind: "manifest"; path: string };

async function findTarget(target: string, cwd: string): Promise<Found[]> {
  const path = resolve(cwd, target);
  let info;
  try {
    info = await stat(path);
  } catch {
    if (!hasGlobMagic(target)) {
      throw new ExperimentExecutionError("SCRIPT_NOT_FOUND", `${target}: no such file or folder (give a folder, a glob, a .py script or a .json manifest)`);
    }
    const matches = (await expandGlob(target, cwd)).filter((match) => [".py", ".json"].includes(extname(match)));
    if (matches.length === 0) throw new ExperimentExecutionError("SCRIPT_NOT_FOUND", `${target}: the glob matched no .py script or .json manifest`);
    return matches.map((match) => ({ kind: extname(match) === ".json" ? "manifest" : "script", path: match }));
  }
  if (info.isDirectory()) {
    const names = (await readdir(path)).filter(isBatchScript).sort();
    if (names.length === 0) throw new ExperimentExecutionError("SCRIPT_NOT_FOUND", `${target}: the folder has no .py scripts`);
    return names.map((name) => ({ kind: "script", path: join(path, name) }));
  }
  if (extname(path) === ".json") return [{ kind: "manifest", path }];
  if (extname(path) === ".py") return [{ kind: "script", path }];
  throw new ExperimentExecutionError("SCRIPT_NOT_FOUND", `${target}: not a folder, a .py script or a .json manifest`);
}

/** Reads the targets into a plan (manifests are validated here, before anything runs). */
export async function planBatch(targets: readonly string[], cwd: string = process.cwd()): Promise<PlannedRun[]> {
  const found: Found[] = [];
  for (const target of targets) found.push(...(await findTarget(target, cwd)));
  const drafts: Array<{ name: string; make: (name: string) => Promise<PlannedRun> }> = [];
  const seenScripts = new Set<string>();
  for (const item of found) {
    if (item.kind === "script") {
      if (seenScripts.has(item.path)) continue;
      seenScripts.add(item.path);
      drafts.push({
        name: nameFromScriptPath(item.path),
        make: async (name) => ({ kind: "script", scriptPath: item.path, name, ...(await specOfScript(item.path, name)) }),
      });
    } else {
      const manifest = await loadManifest(item.path);
      for (const experiment of manifest.experiments) {
        drafts.push({ name: experiment.spec.experimentName, make: async (name) => ({ kind: "manifest", name, experiment }) });
      }
    }
  }
  const names = uniqueNames(drafts.map((draft) => draft.name));
  return Promise.all(drafts.map((draft, index) => draft.make(names[index]!)));
}

export interface PreparedBatch {
  items: BatchItem[];
  /** The task of each item, when known (the leaderboard's default metric follows it). */
  tasks: Array<TaskType | undefined>;
}

/** Generates the manifest experiments (each into `<generatedDir>/<name>/`) and gives the runner's items. */
export async function prepareBatch(plan: readonly PlannedRun[], options: { generatedDir: string; generator: CodeGenerator }): Promise<PreparedBatch> {
  const items: BatchItem[] = [];
  const tasks: Array<TaskType | undefined> = [];
  for (const run of plan) {
    if (run.kind === "script") {
      items.push({ scriptPath: run.scriptPath, spec: run.spec });
      tasks.push(run.taskType);
      continue;
    }
    const { experiment } = run;
    const spec = { ...experiment.spec, experimentName: run.name };
    const scriptPath = await options.generator.generate({
      spec,
      dataPath: experiment.dataPath,
      targetColumn: experiment.targetColumn,
      taskType: experiment.taskType,
      outputDir: join(options.generatedDir, run.name),
      ...(experiment.seed !== undefined ? { seed: experiment.seed } : {}),
      ...(experiment.testSize !== undefined ? { testSize: experiment.testSize } : {}),
      ...(experiment.cvFolds !== undefined ? { cvFolds: experiment.cvFolds } : {}),
    });
    items.push({
      scriptPath,
      spec,
      iteration: experiment.iteration,
      ...(experiment.timeout !== undefined ? { timeout: experiment.timeout } : {}),
    });
    tasks.push(experiment.taskType);
  }
  return { items, tasks };
}
