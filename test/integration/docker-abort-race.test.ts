import { join } from "node:path";
import Dockerode from "dockerode";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import { containersOfThisProcess, SCRIPTS } from "../support/env.js";

describe("docker isolation: an abort while the container is being created", () => {
  it("still kills the container at once (a batch's SIGINT can land there)", async () => {
    const controller = new AbortController();
    const real = new Dockerode();
    // The engine client aborts the run's signal just as the container is created.
    const docker = Object.create(real) as Dockerode;
    docker.createContainer = (async (options: Dockerode.ContainerCreateOptions) => {
      const container = await real.createContainer(options);
      controller.abort("SIGINT");
      return container;
    }) as Dockerode["createContainer"];
    const runner = new ExperimentRunner({ isolation: "docker", timeout: 20 }, { docker, logger: pino({ level: "silent" }) });
    try {
      const result = await runner.run({
        scriptPath: join(SCRIPTS, "sleep_forever.py"),
        spec: { experimentName: "abort-race", hypothesis: "", modelType: "script" },
        signal: controller.signal,
      });
      expect(result.cancelled).toBe(true);
      expect(result.timedOut).toBe(false);
      expect(result.executionTime).toBeLessThan(15);
    } finally {
      await runner.close();
    }
    expect(await containersOfThisProcess()).toEqual([]);
  });
});
