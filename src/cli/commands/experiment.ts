import { resolve } from "node:path";
import { CodeGenerator } from "../../execution/code-generator.js";
import { ExperimentRunner } from "../../execution/experiment-runner.js";
import { parse, parseJsonFlag, readJsonFile, RUNNER_FLAGS, RUNNER_FLAGS_HELP, runnerOptionsFromFlags, UsageError } from "../args.js";
import { formatResult } from "../format.js";
import type { CommandIo } from "../io.js";

export const EXPERIMENT_HELP = `Usage: experiment-sandbox experiment --data <csv> --target <col> --task classification|regression
                                  --model <Model> [options]

Generates a scikit-learn experiment script from a spec, runs it, and reports the ExperimentResult.

  --data <csv>                    the data file (required)
  --target <column>               the target column (required)
  --task classification|regression (required)
  --model <Model>                 an allowlisted scikit-learn model, e.g. LogisticRegression (required
                                  unless --spec gives modelType)
  --params <json>                 model parameters as a JSON object, e.g. '{"C": 0.5}'
  --missing-values median|mean|most_frequent|constant|drop   default median
  --scaling standard|minmax|robust|none                      default standard
  --encoding onehot|ordinal                                  default onehot
  --target-transform log|none                                regression only; default none
  --name <name>                   experiment name (default: <model>-<task>)
  --hypothesis <text>             recorded on the result
  --spec <spec.json>              an ExperimentSpec file; the flags above override its fields
  --out <dir>                     where the script is written (default: out/experiments)
  --iteration <n>                 recorded on the result (default 0)

${RUNNER_FLAGS_HELP}`;

export const EXPERIMENT_FLAGS = {
  data: { type: "string" },
  target: { type: "string" },
  task: { type: "string" },
  model: { type: "string" },
  params: { type: "string" },
  "missing-values": { type: "string" },
  scaling: { type: "string" },
  encoding: { type: "string" },
  "target-transform": { type: "string" },
  name: { type: "string" },
  hypothesis: { type: "string" },
  spec: { type: "string" },
  out: { type: "string" },
  iteration: { type: "string" },
} as const;

export async function experimentCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...RUNNER_FLAGS, ...EXPERIMENT_FLAGS });
  if (values.help === true) {
    io.out(EXPERIMENT_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  for (const name of ["data", "target", "task"] as const) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  const task = values.task;
  if (task !== "classification" && task !== "regression") throw new UsageError(`--task must be classification or regression, got ${JSON.stringify(task)}`);
  const base = values.spec !== undefined ? ((await readJsonFile(values.spec, "spec")) as Record<string, unknown>) : {};
  const modelType = values.model ?? (typeof base.modelType === "string" ? base.modelType : undefined);
  if (modelType === undefined) throw new UsageError("--model is required (or a --spec with modelType)");
  const preprocessing: Record<string, unknown> = { ...((base.preprocessing as Record<string, unknown> | undefined) ?? {}) };
  if (values["missing-values"] !== undefined) preprocessing.missingValues = values["missing-values"];
  if (values.scaling !== undefined) preprocessing.scaling = values.scaling;
  if (values.encoding !== undefined) preprocessing.encoding = values.encoding;
  if (values["target-transform"] !== undefined) preprocessing.targetTransform = values["target-transform"];
  const spec = {
    hypothesis: "",
    ...base,
    experimentName: values.name ?? (typeof base.experimentName === "string" ? base.experimentName : `${modelType}-${task}`),
    modelType,
    ...(values.hypothesis !== undefined ? { hypothesis: values.hypothesis } : {}),
    ...(values.params !== undefined ? { modelParams: parseJsonFlag(values.params, "params") } : {}),
    preprocessing,
  };
  const iteration = values.iteration !== undefined ? Number(values.iteration) : 0;
  if (!Number.isInteger(iteration) || iteration < 0) throw new UsageError("--iteration must be a non-negative integer");

  const scriptPath = await new CodeGenerator().generate({
    spec: spec as never,
    dataPath: values.data!,
    targetColumn: values.target!,
    taskType: task,
    outputDir: resolve(values.out ?? "out/experiments"),
  });
  const runner = new ExperimentRunner(runnerOptionsFromFlags(values), { logger: io.logger });
  try {
    const result = await runner.run({ scriptPath, spec: spec as never, iteration, signal: io.signal });
    io.out(values.json === true ? JSON.stringify(result) : formatResult(result));
    return result.success ? 0 : 1;
  } finally {
    await runner.close();
  }
}
