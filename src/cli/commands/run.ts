import { basename } from "node:path";
import { ExperimentRunner } from "../../execution/experiment-runner.js";
import { EXPERIMENT_NAME_PATTERN } from "../../schemas.js";
import { parse, readJsonFile, RUNNER_FLAGS, RUNNER_FLAGS_HELP, runnerOptionsFromFlags, UsageError } from "../args.js";
import { formatResult } from "../format.js";
import type { CommandIo } from "../io.js";

export const RUN_HELP = `Usage: experiment-sandbox run <script.py> [options]

Runs a script that prints {"success": true, "metrics": {...}} or {"success": false, "error": "..."}
and reports the ExperimentResult. Exit 0 when it succeeded, 1 when it failed, 2 for usage errors
and broken machinery.

  --name <name>                   experiment name in the result (default: the script's file name)
  --spec <spec.json>              an ExperimentSpec to record on the result

${RUNNER_FLAGS_HELP}`;

/** A safe experiment name from a file name. */
export function nameFromScript(scriptPath: string): string {
  const name = basename(scriptPath).replace(/\.py$/i, "").replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[.-]+/, "");
  return EXPERIMENT_NAME_PATTERN.test(name) ? name : "script";
}

export async function runCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...RUNNER_FLAGS, name: { type: "string" }, spec: { type: "string" } });
  if (values.help === true) {
    io.out(RUN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("run takes exactly one script path");
  const scriptPath = positionals[0]!;
  const fromFile = values.spec !== undefined ? ((await readJsonFile(values.spec, "spec")) as Record<string, unknown>) : {};
  const spec = {
    experimentName: nameFromScript(scriptPath),
    hypothesis: "",
    modelType: "script",
    ...fromFile,
    ...(values.name !== undefined ? { experimentName: values.name } : {}),
  };
  const runner = new ExperimentRunner(runnerOptionsFromFlags(values), { logger: io.logger });
  try {
    const result = await runner.run({ scriptPath, spec, iteration: 0, signal: io.signal });
    io.out(values.json === true ? JSON.stringify(result) : formatResult(result));
    return result.success ? 0 : 1;
  } finally {
    await runner.close();
  }
}
