/**
 * A runner in a process of its own, for the hostile suite: runs one script and prints one JSON
 * line with the result's key fields and the process's peak RSS (sampled every 10 ms).
 * Usage: node --import tsx test/support/runner-child.ts '{"scriptPath": ..., "options": {...}}'
 */
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import type { ExperimentRunnerOptions } from "../../src/execution/runner-options.js";

interface ChildRequest {
  scriptPath: string;
  options: ExperimentRunnerOptions;
  /** Run this script first (warms the runner up, so the baseline RSS is the steady state). */
  warmUpScript?: string;
}

const request = JSON.parse(process.argv[2] ?? "{}") as ChildRequest;
const spec = { experimentName: "child", hypothesis: "", modelType: "script" };
const runner = new ExperimentRunner(request.options);
try {
  if (request.warmUpScript !== undefined) await runner.run({ scriptPath: request.warmUpScript, spec });
  const baselineRssBytes = process.memoryUsage().rss;
  let peakRssBytes = baselineRssBytes;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }, 10);
  process.stdout.write(`${JSON.stringify({ event: "running", pid: process.pid })}\n`);
  const started = performance.now();
  const result = await runner.run({ scriptPath: request.scriptPath, spec });
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  const { success, errorMessage, outputTruncated, metrics, timedOut } = result;
  process.stdout.write(
    `${JSON.stringify({ event: "done", wallMs, baselineRssBytes, peakRssBytes, success, errorMessage, outputTruncated, metrics, timedOut, warnings: result.warnings })}\n`,
  );
} finally {
  await runner.close();
}
