import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveRunnerOptions } from "../../src/execution/runner-options.js";
import { DockerSandbox, killContainer, removeContainer } from "../../src/sandbox/docker/docker-sandbox.js";
import type Dockerode from "dockerode";
import { engineError, FakeEngine, type FakeBehaviour } from "../support/fake-engine.js";

let scriptPath: string;
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "races-"));
  scriptPath = join(dir, "script.py");
  await writeFile(scriptPath, "print('hi')\n", { mode: 0o644 });
});

function sandboxOn(engine: FakeEngine, lines?: string[]): DockerSandbox {
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines?.push(line) });
  return new DockerSandbox({ docker: engine.asDocker(), limits: resolveRunnerOptions({}).docker, maxOutputBytes: 1 << 20, logger, sweepOnStart: false });
}

describe("DockerSandbox against a fake engine", () => {
  it("does not lose a cancel that comes while the container is being created", async () => {
    const controller = new AbortController();
    const engine = new FakeEngine({
      beforeCreate: async () => controller.abort(),
      exitAfterMs: "never",
    });
    const sandbox = sandboxOn(engine);
    const started = performance.now();
    const outcome = await sandbox.run({ scriptPath, timeoutMs: 30_000, signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(outcome).toMatchObject({ cancelled: true, timedOut: false });
    expect(engine.calls).toEqual(["create", "remove"]);
  });

  it("answers a cancel in time when the engine is slow to create, and removes the container later", async () => {
    const controller = new AbortController();
    const engine = new FakeEngine({ beforeCreate: () => new Promise((resolve) => setTimeout(resolve, 2500)), exitAfterMs: "never" });
    const sandbox = sandboxOn(engine);
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const outcome = await sandbox.run({ scriptPath, timeoutMs: 30_000, signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.notes.join(" ")).toContain("in the background");
    await sandbox.close();
    expect(engine.calls).toEqual(["create", "remove"]);
    expect(engine.removed).toHaveLength(1);
  });

  it("returns soon after the deadline when the engine takes long to carry out the kill, and close() waits for the removal", async () => {
    const engine = new FakeEngine({ exitAfterMs: "never", killTakesMs: 2500 });
    const sandbox = sandboxOn(engine);
    const started = performance.now();
    const outcome = await sandbox.run({ scriptPath, timeoutMs: 300 });
    const toResult = performance.now() - started - 300;
    expect(outcome.timedOut).toBe(true);
    expect(toResult).toBeLessThan(2000);
    expect(engine.removed).toHaveLength(0);
    await sandbox.close();
    expect(engine.removed).toHaveLength(1);
    expect(engine.calls.indexOf("remove")).toBeGreaterThan(engine.calls.indexOf("kill"));
  });

  it("treats kill and remove of a container already gone as success", async () => {
    const lines: string[] = [];
    const engine = new FakeEngine({
      exitAfterMs: "never",
      kill: async () => {
        throw engineError(409, "Container abc is not running");
      },
      remove: async () => {
        throw engineError(404, "No such container: abc");
      },
    });
    const outcome = await sandboxOn(engine, lines).run({ scriptPath, timeoutMs: 100 });
    expect(outcome.timedOut).toBe(true);
    expect(lines.filter((line) => /"level":(40|50)/.test(line))).toEqual([]);
  });

  it("keeps the first error when the cleanup fails too", async () => {
    const lines: string[] = [];
    const behaviour: FakeBehaviour = {
      start: async () => {
        throw engineError(500, "OCI runtime create failed: the first error");
      },
      remove: async () => {
        throw engineError(500, "the cleanup error");
      },
    };
    const engine = new FakeEngine(behaviour);
    await expect(sandboxOn(engine, lines).run({ scriptPath, timeoutMs: 1000 })).rejects.toMatchObject({
      code: "ENGINE_ERROR",
      message: expect.stringContaining("the first error"),
    });
    expect(lines.some((line) => line.includes("the cleanup error"))).toBe(true);
  });

  it("says OOM from the engine's flag when the script survived its child's kill", async () => {
    const engine = new FakeEngine({ exitAfterMs: { ms: 10, code: 1 }, oomKilled: true });
    const outcome = await sandboxOn(engine).run({ scriptPath, timeoutMs: 1000 });
    expect(outcome).toMatchObject({ oomKilled: true, exitCode: 1 });
  });

  it("infers OOM from an exit 137 it did not cause, and notes the inference", async () => {
    const engine = new FakeEngine({ exitAfterMs: { ms: 10, code: 137 }, oomKilled: false });
    const outcome = await sandboxOn(engine).run({ scriptPath, timeoutMs: 1000 });
    expect(outcome).toMatchObject({ oomKilled: true, exitCode: 137, timedOut: false });
    expect(outcome.notes.join(" ")).toContain("exit 137");
  });
});

describe("killContainer and removeContainer", () => {
  const logger = pino({ level: "silent" });
  const fake = (error: unknown): Dockerode.Container =>
    ({ id: "abc", kill: async () => Promise.reject(error), remove: async () => Promise.reject(error) }) as unknown as Dockerode.Container;

  it("succeed on 404, 409 and 304", async () => {
    for (const status of [404, 409, 304]) {
      await expect(killContainer(fake(engineError(status, "gone")))).resolves.toBeUndefined();
      await expect(removeContainer(fake(engineError(status, "gone")), logger)).resolves.toBeUndefined();
    }
  });

  it("kill throws other engine errors; remove only logs them", async () => {
    await expect(killContainer(fake(engineError(500, "boom")))).rejects.toMatchObject({ code: "ENGINE_ERROR" });
    await expect(removeContainer(fake(engineError(500, "boom")), logger)).resolves.toBeUndefined();
  });
});
