import { afterAll, describe, expect, it } from "vitest";
import { ExperimentRunner } from "../../src/execution/experiment-runner.js";
import { findResultPayload } from "../../src/execution/result-parser.js";
import { SCRIPTS } from "../support/env.js";

describe("the container's own deadline", () => {
  const runner = new ExperimentRunner({ isolation: "docker", timeout: 20 });
  afterAll(() => runner.close());

  it("cannot be stopped or traced by the script, which runs as 10001 with no capabilities", async () => {
    const spec = { experimentName: "disarm", hypothesis: "", modelType: "script" };
    const result = await runner.run({ scriptPath: `${SCRIPTS}disarm_deadline.py`, spec });
    expect(result.errorMessage).toBeNull();
    expect(result.metrics).toEqual({ uid: 10001, gid: 10001, cap_eff: 0 });
    const parsed = findResultPayload(result.stdoutTail, null);
    expect(parsed.kind === "found" ? parsed.payload.attempts : null).toEqual({
      stop_parent: "denied",
      ptrace_parent: "denied",
      stop_pid1: "denied",
      ptrace_pid1: "denied",
    });
  });
});
