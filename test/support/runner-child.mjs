/**
 * A runner in a process of its own, for the hostile suite: the library as shipped (compiled
 * JavaScript, no TypeScript loader in the process, so its RSS is the runner's own), running one
 * script. Prints a JSON line when the run starts and one with the result's key fields and the
 * process's peak RSS (sampled every 10 ms) when it ends.
 * Usage: node test/support/runner-child.mjs <compiled src folder> '{"scriptPath": ..., "options": {...}}'
 */
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [distDir, rawRequest] = process.argv.slice(2);
const { ExperimentRunner } = await import(pathToFileURL(join(distDir, "index.js")).href);
const request = JSON.parse(rawRequest ?? "{}");
const spec = { experimentName: "child", hypothesis: "", modelType: "script" };
const runner = new ExperimentRunner(request.options);
try {
  // A warm-up run first, so the baseline is the runner's steady state.
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
  const { success, errorMessage, outputTruncated, metrics, timedOut, warnings } = result;
  process.stdout.write(
    `${JSON.stringify({ event: "done", wallMs, baselineRssBytes, peakRssBytes, success, errorMessage, outputTruncated, metrics, timedOut, warnings })}\n`,
  );
} finally {
  await runner.close();
}
