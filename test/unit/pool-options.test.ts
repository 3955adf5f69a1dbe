import { mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runnerOptionsFromFlags, UsageError } from "../../src/cli/args.js";
import { LABELS } from "../../src/config.js";
import { resolveRunnerOptions } from "../../src/execution/runner-options.js";
import { judgeLeftover } from "../../src/sandbox/docker/cleanup.js";
import { buildCreateOptions, buildPoolCreateOptions, hardenedHostConfig, POOL_WORKER_PATH } from "../../src/sandbox/docker/create-options.js";
import { stageInto, StagingTooLarge } from "../../src/sandbox/docker/staging.js";

const limits = resolveRunnerOptions({ memoryBytes: 256 * 1024 * 1024, cpus: 2 }, {}).docker;
const spec = {
  runId: "pool-1",
  stagingDir: "/tmp/p/work",
  resultFile: "/tmp/p/result.json",
  idleMs: 300_000,
  maxRunMs: 300_000,
  env: { EXTRA: "1" },
  ownerPid: 4242,
  ownerHost: "host-a",
  now: 1_000_000,
};

describe("buildPoolCreateOptions", () => {
  const options = buildPoolCreateOptions(limits, spec);
  const cold = buildCreateOptions(limits, {
    runId: "run-1", workDir: "/w", scriptName: "x.py", args: [], resultFile: "/r", timeoutMs: 1000, env: { EXTRA: "1" }, ownerPid: 4242, ownerHost: "host-a", now: 1_000_000,
  });

  it("keeps every limit and hardening of a cold container", () => {
    const poolHost = { ...options.HostConfig, Mounts: undefined };
    const coldHost = { ...cold.HostConfig, Mounts: undefined };
    expect(poolHost).toEqual(coldHost);
    expect(poolHost).toEqual({ ...hardenedHostConfig(limits), Mounts: undefined });
    expect(options.User).toBe(cold.User); // the enforcer's; the script drops to limits.user
    expect(options.Env).toEqual(cold.Env);
    expect(options.NetworkDisabled).toBe(true);
    expect(options.WorkingDir).toBe("/work");
  });

  it("mounts the staging folder read-only at /work and the result file writable", () => {
    expect(options.HostConfig?.Mounts).toEqual([
      { Type: "bind", Source: "/tmp/p/work", Target: "/work", ReadOnly: true },
      { Type: "bind", Source: "/tmp/p/result.json", Target: "/sandbox/result.json", ReadOnly: false },
    ]);
  });

  it("runs the worker under its own lifetime deadline, with stdin open for one request", () => {
    expect(options.Cmd).toEqual(["timeout", "--signal=KILL", "605", "python3", POOL_WORKER_PATH, "--idle-seconds", "300", "--user", "10001:10001"]);
    expect(options).toMatchObject({ OpenStdin: true, StdinOnce: true, AttachStdin: true, Tty: false });
  });

  it("is labelled like a cold container, plus the pool label, with a deadline covering idle wait and run", () => {
    expect(options.Labels).toEqual({
      [LABELS.project]: "1",
      [LABELS.runId]: "pool-1",
      [LABELS.ownerPid]: "4242",
      [LABELS.ownerHost]: "host-a",
      [LABELS.deadline]: String(1_000_000 + 605_000),
      [LABELS.pool]: "1",
    });
    const summary = { Id: "c1", Labels: options.Labels };
    expect(judgeLeftover(summary, 1_000_000 + 600_000, "host-a", () => true).remove).toBe(false);
    expect(judgeLeftover(summary, 1_000_000 + 606_000, "host-a", () => true).remove).toBe(true);
    expect(judgeLeftover(summary, 1_000_001, "host-a", () => false).remove).toBe(true);
  });
});

describe("the pool option", () => {
  it("is off by default and resolves seconds to milliseconds", () => {
    expect(resolveRunnerOptions({}, {}).pool).toBeNull();
    expect(resolveRunnerOptions({ pool: { size: 0 } }, {}).pool).toBeNull();
    expect(resolveRunnerOptions({ pool: { size: 2 } }, {}).pool).toEqual({ size: 2, maxIdleMs: 300_000 });
    expect(resolveRunnerOptions({ pool: { size: 1, maxIdleSeconds: 60 } }, {}).pool).toEqual({ size: 1, maxIdleMs: 60_000 });
  });

  it("rejects bad sizes, unknown keys and subprocess isolation", () => {
    for (const pool of [{ size: -1 }, { size: 1.5 }, { size: 100 }, { size: 1, idle: 3 }, {}]) {
      expect(() => resolveRunnerOptions({ pool }, {})).toThrow(/Invalid ExperimentRunner options: pool/);
    }
    expect(() => resolveRunnerOptions({ isolation: "subprocess", pool: { size: 1 } }, {})).toThrow(/needs docker isolation/);
  });

  it("comes from --pool N on the command line", () => {
    expect(runnerOptionsFromFlags({ pool: "3" })).toEqual({ pool: { size: 3 } });
    expect(runnerOptionsFromFlags({ pool: "0" })).toEqual({ pool: { size: 0 } });
    for (const bad of ["", "-1", "two", "1.5"]) expect(() => runnerOptionsFromFlags({ pool: bad })).toThrow(UsageError);
  });
});

describe("stageInto", () => {
  it("links readable files, copies private ones readable, makes folders 0755, leaves symlinks out", async () => {
    const source = await mkdtemp(join(tmpdir(), "stage-src-"));
    const target = await mkdtemp(join(tmpdir(), "stage-dst-"));
    await writeFile(join(source, "exp.py"), "print(1)\n");
    await chmod(join(source, "exp.py"), 0o644);
    await mkdir(join(source, "data"));
    await writeFile(join(source, "data", "secret.csv"), "a,b\n");
    await chmod(join(source, "data", "secret.csv"), 0o600);
    await symlink("/etc/passwd", join(source, "escape"));
    const report = await stageInto(source, target);
    expect(report).toMatchObject({ entries: 4, linked: 1 });
    expect((await readdir(target)).sort()).toEqual(["data", "exp.py"]);
    expect((await stat(join(target, "exp.py"))).ino).toBe((await stat(join(source, "exp.py"))).ino);
    expect((await stat(join(target, "data"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(target, "data", "secret.csv"))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(target, "data", "secret.csv"), "utf8")).toBe("a,b\n");
  });

  it("stops with StagingTooLarge past its budget", async () => {
    const source = await mkdtemp(join(tmpdir(), "stage-src-"));
    for (const name of ["a", "b", "c"]) await writeFile(join(source, name), "x");
    await expect(stageInto(source, await mkdtemp(join(tmpdir(), "stage-dst-")), { maxEntries: 2, maxCopyBytes: 1e9 })).rejects.toBeInstanceOf(StagingTooLarge);
    for (const name of ["a", "b", "c"]) await chmod(join(source, name), 0o600);
    await expect(stageInto(source, await mkdtemp(join(tmpdir(), "stage-dst-")), { maxEntries: 10, maxCopyBytes: 2 })).rejects.toBeInstanceOf(StagingTooLarge);
  });
});
