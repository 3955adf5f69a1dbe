import { afterAll, describe, expect, it } from "vitest";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import { ExperimentExecutionError } from "../../src/errors.js";
import { ExperimentResultSchema } from "../../src/schemas.js";
import { containersOfThisProcess, SCRIPTS, testPython } from "../support/env.js";

const spec = { experimentName: "contract", hypothesis: "the contract holds", modelType: "script" };

describe.each(["docker", "subprocess"] as const)("the result contract in %s isolation", (isolation) => {
  const runner = new ExperimentRunner({ isolation, timeout: 30, pythonExecutable: testPython() });
  afterAll(() => runner.close());

  it("reports exactly the metrics the script printed", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec, iteration: 1 });
    expect(ExperimentResultSchema.parse(result)).toBeTruthy();
    expect(result).toMatchObject({ success: true, errorMessage: null, metrics: { accuracy: 0.95, f1: 0.94 }, isolation, exitCode: 0, iteration: 1 });
    expect(result.getPrimaryMetric("accuracy")).toBe(0.95);
  });

  it("says `Script exited with code N: <exception line>`", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}exit_3.py`, spec });
    expect(result).toMatchObject({ success: false, exitCode: 3, errorMessage: "Script exited with code 3: ValueError: the data went missing" });
    expect(result.stdoutTail).toContain("starting");
  });

  it("says `Script exited with code 1` for an uncaught exception", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}raises.py`, spec });
    expect(result.errorMessage).toBe("Script exited with code 1: RuntimeError: boom: uncaught");
    expect(result.stderrTail).toContain("Traceback");
  });

  it("says `Failed to parse JSON output: <reason>`", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}invalid_json.py`, spec });
    expect(result.success).toBe(false);
    expect(result.errorMessage).toMatch(/^Failed to parse JSON output: the last JSON-like line on stdout is invalid/);
  });

  it("lets the script's own error win over its exit code", async () => {
    const result = await runner.run({ scriptPath: `${SCRIPTS}reported_failure.py`, spec });
    expect(result).toMatchObject({ success: false, exitCode: 1, errorMessage: "Model did not converge" });
  });

  it("says `Experiment timed out after N seconds` and kills the run", async () => {
    const started = Date.now();
    const result = await runner.run({ scriptPath: `${SCRIPTS}sleep_forever.py`, spec, timeout: 1.5 });
    expect(result).toMatchObject({ success: false, timedOut: true, errorMessage: "Experiment timed out after 1.5 seconds" });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("returns stdout, stderr and returncode from runScriptDirectly", async () => {
    const direct = await runner.runScriptDirectly(`${SCRIPTS}exit_3.py`);
    expect(direct.returncode).toBe(3);
    expect(direct.stdout).toBe("starting\n");
    expect(direct.stderr).toContain("ValueError: the data went missing");
    expect(direct.timedOut).toBe(false);
  });

  it("throws SCRIPT_NOT_FOUND for a missing script and INVALID_SPEC for a bad spec", async () => {
    await expect(runner.run({ scriptPath: `${SCRIPTS}does_not_exist.py`, spec })).rejects.toMatchObject({ code: "SCRIPT_NOT_FOUND" });
    await expect(runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec: { ...spec, experimentName: "../x" } })).rejects.toBeInstanceOf(
      ExperimentExecutionError,
    );
  });

  it("leaves no container behind", async () => {
    expect(await containersOfThisProcess()).toEqual([]);
  });
});

describe("broken machinery", () => {
  it("says which image is missing and what to run", async () => {
    const runner = new ExperimentRunner({ isolation: "docker", image: "experiment-sandbox/no-such-image:0" });
    await expect(runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec })).rejects.toMatchObject({
      code: "IMAGE_MISSING",
      message: expect.stringContaining("run `make image`"),
    });
  });

  it("says the engine is unreachable and how to start one", async () => {
    const Dockerode = (await import("dockerode")).default;
    const runner = new ExperimentRunner({ isolation: "docker" }, { docker: new Dockerode({ socketPath: "/nonexistent/docker.sock" }) });
    await expect(runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec })).rejects.toMatchObject({
      code: "ENGINE_UNREACHABLE",
      message: expect.stringContaining("DOCKER_HOST"),
    });
  });

  it("says the Python executable is missing in subprocess isolation", async () => {
    const runner = new ExperimentRunner({ isolation: "subprocess", pythonExecutable: "/nonexistent/python" });
    await expect(runner.run({ scriptPath: `${SCRIPTS}example_success.py`, spec })).rejects.toMatchObject({ code: "PYTHON_NOT_FOUND" });
  });
});
