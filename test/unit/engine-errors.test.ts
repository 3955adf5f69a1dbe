import { describe, expect, it } from "vitest";
import { isGoneOrBusy, toExecutionError } from "../../src/sandbox/docker/engine-errors.js";
import { engineError } from "../support/fake-engine.js";

describe("toExecutionError", () => {
  it("names a missing runtime, and only a missing runtime", () => {
    expect(toExecutionError(engineError(400, "Unknown runtime specified runsc"), "create a container").code).toBe("RUNTIME_UNAVAILABLE");
    const oci = toExecutionError(engineError(500, "OCI runtime create failed: mount failed"), "start the container");
    expect(oci.code).toBe("ENGINE_ERROR");
    expect(oci.message).toContain("OCI runtime create failed");
  });

  it("counts 404, 409 and 304 as gone or busy", () => {
    expect([404, 409, 304, 500, 400].map((status) => isGoneOrBusy(engineError(status, "x")))).toEqual([true, true, true, false, false]);
  });
});
