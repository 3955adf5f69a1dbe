import { z } from "zod";

export const CLASSIFICATION_MODELS = [
  "LogisticRegression",
  "RandomForestClassifier",
  "GradientBoostingClassifier",
  "DecisionTreeClassifier",
  "ExtraTreesClassifier",
  "SVC",
  "KNeighborsClassifier",
  "GaussianNB",
  "AdaBoostClassifier",
] as const;

export const REGRESSION_MODELS = [
  "LinearRegression",
  "Ridge",
  "Lasso",
  "ElasticNet",
  "RandomForestRegressor",
  "GradientBoostingRegressor",
  "DecisionTreeRegressor",
  "ExtraTreesRegressor",
  "SVR",
  "KNeighborsRegressor",
  "AdaBoostRegressor",
] as const;

export const TaskTypeSchema = z.enum(["classification", "regression"]);
export type TaskType = z.infer<typeof TaskTypeSchema>;

export const IsolationSchema = z.enum(["docker", "subprocess"]);

export const PreprocessingConfigSchema = z.strictObject({
  missingValues: z.enum(["median", "mean", "most_frequent", "constant", "drop"]).default("median"),
  scaling: z.enum(["standard", "minmax", "robust", "none"]).default("standard"),
  encoding: z.enum(["onehot", "ordinal"]).default("onehot"),
  targetTransform: z.enum(["log", "none"]).optional(),
});
export type PreprocessingConfigInput = z.input<typeof PreprocessingConfigSchema>;
export type PreprocessingConfig = z.output<typeof PreprocessingConfigSchema>;

/** A JSON value: model parameters are data, never code. */
type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
const JsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, "must be a finite number"),
    z.boolean(),
    z.null(),
    z.array(JsonValueSchema),
    z.record(z.string(), JsonValueSchema),
  ]),
);

/** Safe as a file name on every platform: letters, digits, '.', '_', '-'; no leading dot. */
export const EXPERIMENT_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export const ExperimentSpecSchema = z.strictObject({
  experimentName: z
    .string()
    .regex(
      EXPERIMENT_NAME_PATTERN,
      "must be a safe file name: 1-100 of A-Z a-z 0-9 _ . -, not starting with '.' or '-'",
    ),
  hypothesis: z.string(),
  modelType: z.string().min(1),
  modelParams: z.record(z.string(), JsonValueSchema).default({}),
  preprocessing: PreprocessingConfigSchema.default({
    missingValues: "median",
    scaling: "standard",
    encoding: "onehot",
  }),
  reasoning: z.string().default(""),
});
export type ExperimentSpecInput = z.input<typeof ExperimentSpecSchema>;
export type ExperimentSpec = z.output<typeof ExperimentSpecSchema>;

export const ProvenanceSchema = z.object({
  python: z.string().optional(),
  sklearn: z.string().optional(),
  numpy: z.string().optional(),
  pandas: z.string().optional(),
  imageId: z.string().optional(),
  seed: z.number().optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

export const ExperimentResultSchema = z.object({
  experimentName: z.string(),
  iteration: z.number().int().nonnegative(),
  modelType: z.string(),
  modelParams: z.record(z.string(), z.unknown()),
  preprocessing: PreprocessingConfigSchema,
  metrics: z.record(z.string(), z.number()),
  hypothesis: z.string(),
  reasoning: z.string(),
  /** Wall time of the run, in seconds. */
  executionTime: z.number().nonnegative(),
  success: z.boolean(),
  errorMessage: z.string().nullable(),
  scriptPath: z.string(),
  /** ISO 8601, when the run started. */
  timestamp: z.string(),
  isolation: IsolationSchema,
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  oomKilled: z.boolean(),
  cancelled: z.boolean(),
  stdoutTail: z.string(),
  stderrTail: z.string(),
  outputTruncated: z.object({ stdout: z.boolean(), stderr: z.boolean() }),
  warnings: z.array(z.string()),
  provenance: ProvenanceSchema,
});
export type ExperimentResultData = z.infer<typeof ExperimentResultSchema>;

/** A result record; `getPrimaryMetric` is a non-enumerable method, so JSON.stringify gives the data. */
export interface ExperimentResult extends ExperimentResultData {
  getPrimaryMetric(name: string): number | undefined;
}

export function withResultMethods(data: ExperimentResultData): ExperimentResult {
  const result = { ...data } as ExperimentResult;
  Object.defineProperty(result, "getPrimaryMetric", {
    enumerable: false,
    value(name: string): number | undefined {
      return result.metrics[name];
    },
  });
  return result;
}

/** Validates a record (e.g. read back from JSONL) and gives it its methods. */
export function parseExperimentResult(value: unknown): ExperimentResult {
  return withResultMethods(ExperimentResultSchema.parse(value));
}

export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}
