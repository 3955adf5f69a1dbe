import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ExperimentResultSchema } from "../../src/schemas.js";
import { PENGUINS, REPO_ROOT, SCRIPTS } from "../support/env.js";

const CLI = join(REPO_ROOT, "dist/cli/main.js");

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("node", [CLI, ...args], { cwd: REPO_ROOT, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the experiment-sandbox CLI", () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`make build\` first`);
  });

  it("run --json prints exactly one ExperimentResult with the script's metrics", async () => {
    const { code, stdout } = await cli(["run", `${SCRIPTS}example_success.py`, "--json"]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const result = ExperimentResultSchema.parse(JSON.parse(lines[0]!));
    expect(result.metrics).toEqual({ accuracy: 0.95, f1: 0.94 });
    expect(result).toMatchObject({ success: true, isolation: "docker", experimentName: "example_success" });
  });

  it("prints a table for people and exits 1 with the error said plainly", async () => {
    const ok = await cli(["run", `${SCRIPTS}example_success.py`]);
    expect(ok.stdout).toMatch(/^OK {6}example_success \(script, docker, /);
    expect(ok.stdout).toMatch(/accuracy\s+0\.9500/);
    const failed = await cli(["run", `${SCRIPTS}exit_3.py`, "--timeout", "30"]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("Script exited with code 3: ValueError: the data went missing");
  });

  it("exits 2 for usage errors and broken machinery, saying what to do", async () => {
    const usage = await cli(["run"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("run takes exactly one script path");
    const badFlag = await cli(["run", `${SCRIPTS}example_success.py`, "--isolation", "vm"]);
    expect(badFlag.code).toBe(2);
    const missing = await cli(["run", "/nonexistent/script.py"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("[SCRIPT_NOT_FOUND]");
    const image = await cli(["run", `${SCRIPTS}example_success.py`, "--image", "experiment-sandbox/nope:0"]);
    expect(image.code).toBe(2);
    expect(image.stderr).toContain("run `make image`");
    const model = await cli(["experiment", "--data", PENGUINS, "--target", "species", "--task", "classification", "--model", "Prophet"]);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain("Unknown modelType 'Prophet' for classification");
  });

  it("experiment generates and runs a spec on the bundled data", async () => {
    const out = await mkdtemp(join(tmpdir(), "cli-experiment-"));
    const { code, stdout } = await cli([
      "experiment", "--data", PENGUINS, "--target", "species", "--task", "classification",
      "--model", "RandomForestClassifier", "--params", '{"n_estimators": 50}', "--scaling", "none", "--out", out, "--json",
    ]);
    expect(code).toBe(0);
    const result = ExperimentResultSchema.parse(JSON.parse(stdout));
    expect(result).toMatchObject({ success: true, modelType: "RandomForestClassifier", modelParams: { n_estimators: 50 } });
    expect(result.preprocessing.scaling).toBe("none");
    expect(result.metrics.accuracy).toBeGreaterThan(0.9);
  });

  it("doctor and image status report a ready engine and image", async () => {
    const doctor = await cli(["doctor", "--json"]);
    expect(doctor.code).toBe(0);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ ok: true });
    const status = await cli(["image", "status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ present: true });
  });
});
