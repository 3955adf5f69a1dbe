import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchSummary } from "../../src/batch/summary.js";
import { LABELS } from "../../src/config.js";
import { parseExperimentResult } from "../../src/schemas.js";
import { successScript } from "../support/batch-scripts.js";
import { ensureBuiltCli } from "../support/cli-build.js";
import { docker, REPO_ROOT } from "../support/env.js";
import { parseJunit } from "../support/junit-xml.js";

/** Containers of ours whose owner is the CLI child (never anyone else's). */
function containersOf(pid: number) {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [LABELS.project, `${LABELS.ownerPid}=${pid}`] }) });
}

interface Cli {
  child: ChildProcess;
  pid: number;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function startCli(args: string[]): Cli {
  const env = { ...process.env };
  delete env.GITHUB_STEP_SUMMARY;
  const child = spawn(process.execPath, [ensureBuiltCli(), ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, pid: child.pid!, lines, stderr: () => stderr, exited };
}

async function until(what: string, check: () => boolean | Promise<boolean>, cli: Cli, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline || cli.child.exitCode !== null) {
      throw new Error(`gave up waiting for ${what}; stdout:\n${cli.lines.join("\n")}\nstderr:\n${cli.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const finishedLines = (cli: Cli): string[] => cli.lines.filter((line) => /^\[\s*\d+\/\d+\] /.test(line));

async function running(pid: number): Promise<boolean> {
  return (await containersOf(pid)).some((container) => container.State === "running");
}

let dir: string;
let scripts: string;
const pids: number[] = [];

beforeAll(async () => {
  ensureBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "ci-interrupt-"));
  scripts = join(dir, "scripts");
  await mkdir(scripts);
  for (let index = 0; index < 20; index += 1) {
    const name = `exp_${String(index).padStart(2, "0")}`;
    const body = index % 5 === 4 ? "import sys, time\ntime.sleep(1.5)\nsys.exit(3)\n" : successScript({ f1: 0.5 + index / 100 }, 1.5);
    await writeFile(join(scripts, `${name}.py`), body);
  }
});
afterAll(async () => {
  for (const pid of pids) {
    const left = await containersOf(pid);
    if (left.length > 0) console.error(`containers of CLI ${pid} left: ${left.map((c) => c.Id.slice(0, 12)).join(", ")}`);
  }
  await rm(dir, { recursive: true, force: true });
});

describe("experiment-sandbox ci interrupted", () => {
  it("on SIGINT mid-batch: kills running containers, writes partial reports, exits 130", async () => {
    const out = join(dir, "out-int");
    const cli = startCli(["ci", scripts, "--isolation", "docker", "--concurrency", "2", "--timeout", "10", "--out", out]);
    pids.push(cli.pid);
    await until("three finished runs and a running container", async () => finishedLines(cli).length >= 3 && (await running(cli.pid)), cli);
    const finishedBefore = finishedLines(cli).length;
    cli.child.kill("SIGINT");
    const code = await cli.exited;
    const stdout = cli.lines.join("\n");
    expect(code, `${stdout}\n${cli.stderr()}`).toBe(130);
    expect(await containersOf(cli.pid)).toEqual([]);
    expect(stdout).toContain("interrupted by SIGINT");

    // JSONL: every finished run, each a valid result; the runs that were running are cancelled.
    const results = (await readFile(join(out, "results.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => parseExperimentResult(JSON.parse(line)));
    expect(results.length).toBeGreaterThanOrEqual(finishedBefore);
    expect(results.length).toBeLessThan(20);
    expect(results.filter((result) => !result.cancelled).length).toBeGreaterThanOrEqual(finishedBefore);
    expect(results.filter((result) => result.cancelled).length).toBeGreaterThanOrEqual(1);

    // Partial reports: every experiment has a testcase; those that did not finish are skipped.
    const junit = parseJunit(await readFile(join(out, "junit.xml"), "utf8"));
    expect(junit.tests).toBe(20);
    const finished = results.filter((result) => !result.cancelled);
    expect(junit.skipped).toBe(20 - finished.length);
    expect(junit.failures).toBe(finished.filter((result) => !result.success).length);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(summary.interrupted).toBe("SIGINT");
    expect(summary.counts.total).toBe(20);
    expect(summary.counts.notRun).toBe(20 - results.length);
    expect(summary.counts.passed + summary.counts.failed).toBe(finished.length);
    expect(summary.leaderboard.rows.length).toBe(finished.filter((result) => result.success).length);
    expect(await readFile(join(out, "summary.md"), "utf8")).toContain("**Interrupted** by SIGINT");
  });

  it("on SIGTERM: the same, with exit code 143", async () => {
    const out = join(dir, "out-term");
    const cli = startCli(["ci", scripts, "--isolation", "docker", "--concurrency", "2", "--timeout", "10", "--out", out, "--fail-on", "none"]);
    pids.push(cli.pid);
    await until("a running container", () => running(cli.pid), cli);
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(143);
    expect(await containersOf(cli.pid)).toEqual([]);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as BatchSummary;
    expect(summary.interrupted).toBe("SIGTERM");
    expect(parseJunit(await readFile(join(out, "junit.xml"), "utf8")).tests).toBe(20);
  });
});
