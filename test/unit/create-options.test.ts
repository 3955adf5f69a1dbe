import { describe, expect, it } from "vitest";
import { LABELS } from "../../src/config.js";
import { resolveRunnerOptions } from "../../src/execution/runner-options.js";
import { judgeLeftover } from "../../src/sandbox/docker/cleanup.js";
import { buildCreateOptions } from "../../src/sandbox/docker/create-options.js";

const limits = resolveRunnerOptions({ memoryBytes: 256 * 1024 * 1024, cpus: 2 }, {}).docker;
const run = {
  runId: "run-1",
  workDir: "/data/my:odd,folder",
  scriptName: "exp.py",
  args: ["--x"],
  resultFile: "/tmp/r/result.json",
  timeoutMs: 10_500,
  env: { EXTRA: "1" },
  ownerPid: 4242,
  ownerHost: "host-a",
  now: 1_000_000,
};

describe("buildCreateOptions", () => {
  const options = buildCreateOptions(limits, run);

  it("hardens the container by default", () => {
    expect(options.HostConfig).toMatchObject({
      NetworkMode: "none",
      ReadonlyRootfs: true,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      NanoCpus: 2e9,
      PidsLimit: 256,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Init: true,
      LogConfig: { Type: "none" },
    });
    // root only for the deadline enforcer; the script drops to 10001 with no capabilities
    expect(options.User).toBe("0:0");
    expect(options.HostConfig?.CapAdd).toEqual(["SETUID", "SETGID", "KILL"]);
    expect(options.NetworkDisabled).toBe(true);
    expect(options.Tty).toBe(false);
    expect(options.HostConfig?.Tmpfs?.["/tmp"]).toMatch(/size=\d+/);
    expect(options.HostConfig?.Ulimits?.map((limit) => limit.Name)).toEqual(["nofile", "fsize"]);
  });

  it("mounts the script folder read-only (paths with ':' and ',' included) and the result file writable", () => {
    expect(options.HostConfig?.Mounts).toEqual([
      { Type: "bind", Source: "/data/my:odd,folder", Target: "/work", ReadOnly: true },
      { Type: "bind", Source: "/tmp/r/result.json", Target: "/sandbox/result.json", ReadOnly: false },
    ]);
    expect(options.HostConfig?.Binds).toBeUndefined();
  });

  it("runs the script under its own deadline and an explicit environment", () => {
    expect(options.Cmd).toEqual([
      "timeout", "--signal=KILL", "16",
      "setpriv", "--reuid=10001", "--regid=10001", "--clear-groups", "--inh-caps=-all", "--",
      "python3", "/work/exp.py", "--x",
    ]);
    expect(options.Env).toContain("OMP_NUM_THREADS=2");
    expect(options.Env).toContain("LOKY_MAX_CPU_COUNT=2");
    expect(options.Env).toContain("EXPERIMENT_RESULT_PATH=/sandbox/result.json");
    expect(options.Env).toContain("EXTRA=1");
    expect(options.Env?.some((entry) => entry.startsWith("DOCKER_HOST"))).toBe(false);
    expect(options.Labels).toEqual({
      [LABELS.project]: "1",
      [LABELS.runId]: "run-1",
      [LABELS.ownerPid]: "4242",
      [LABELS.ownerHost]: "host-a",
      [LABELS.deadline]: String(1_000_000 + 16_000),
    });
  });

  it("uses a runtime only when asked, with room for gVisor's own threads", () => {
    expect(options.HostConfig?.Runtime).toBeUndefined();
    const runsc = buildCreateOptions({ ...limits, runtime: "runsc" }, run).HostConfig;
    expect(runsc?.Runtime).toBe("runsc");
    expect(runsc?.PidsLimit).toBe(256 + 512);
  });
});

describe("judgeLeftover", () => {
  const labels = (deadline: number, pid = 1) => ({
    [LABELS.project]: "1",
    [LABELS.deadline]: String(deadline),
    [LABELS.ownerPid]: String(pid),
    [LABELS.ownerHost]: "host-a",
  });
  const alive = (pid: number) => pid === 1;

  it("removes what is past its deadline or whose owner is gone, and keeps live runs", () => {
    expect(judgeLeftover({ Id: "a", Labels: labels(10) }, 20, "host-a", alive)).toMatchObject({ remove: true, reason: "deadline passed" });
    expect(judgeLeftover({ Id: "b", Labels: labels(30, 99) }, 20, "host-a", alive)).toMatchObject({ remove: true, reason: "owner process 99 is gone" });
    expect(judgeLeftover({ Id: "c", Labels: labels(30, 1) }, 20, "host-a", alive)).toMatchObject({ remove: false });
    expect(judgeLeftover({ Id: "d", Labels: labels(30, 99) }, 20, "host-b", alive)).toMatchObject({ remove: false });
  });
});
