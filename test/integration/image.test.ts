import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExperimentDefaults, LABELS } from "../../src/config.js";
import { imageStatus } from "../../src/sandbox/docker/image-builder.js";
import { docker } from "../support/env.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

describe("the runtime image", () => {
  let container: StartedTestContainer;

  beforeAll(async () => {
    container = await new GenericContainer(new ExperimentDefaults().image)
      .withCommand(["sleep", "600"])
      .withNetworkMode("none")
      .withLabels({ [LABELS.project]: "1", [LABELS.ownerPid]: String(process.pid), [LABELS.deadline]: String(Date.now() + 600_000) })
      .start();
  });
  afterAll(async () => {
    await container?.stop({ remove: true, timeout: 0 });
  });

  it("runs as a non-root user in /work", async () => {
    const id = await container.exec(["id", "-u"]);
    expect(id.output.trim()).toBe("10001");
    const cwd = await container.exec(["pwd"]);
    expect(cwd.output.trim()).toBe("/work");
  });

  it("has Python 3 with numpy, scipy, pandas, scikit-learn and joblib", async () => {
    const result = await container.exec(["python3", "/opt/sandbox/versions.py"]);
    expect(result.exitCode).toBe(0);
    const versions = JSON.parse(result.output.trim()) as Record<string, string>;
    expect(Object.keys(versions).sort()).toEqual(["joblib", "numpy", "pandas", "python", "scipy", "sklearn"]);
    expect(versions.python).toMatch(/^3\./);
  });

  it("ships no compiler", async () => {
    const result = await container.exec(["sh", "-c", "command -v gcc cc g++ || echo none"]);
    expect(result.output.trim()).toBe("none");
  });

  it("is labelled with its definition hash and library versions, and is up to date", async () => {
    const status = await imageStatus({ docker });
    expect(status).toMatchObject({ present: true, upToDate: true });
    expect(status.versions.sklearn).toMatch(/^\d+\.\d+/);
  });
});
