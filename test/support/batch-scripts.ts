import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SCRIPTS } from "./env.js";

/** A tiny script that prints a successful result with these metrics, after an optional nap. */
export function successScript(metrics: Record<string, number>, sleepSeconds = 0): string {
  return [
    "import json, time",
    sleepSeconds > 0 ? `time.sleep(${sleepSeconds})` : "",
    'print("training...", flush=True)',
    `print(json.dumps({"success": True, "metrics": ${JSON.stringify(metrics)}}))`,
    "",
  ].join("\n");
}

export interface MixedBatch {
  dir: string;
  total: number;
  /** Failed runs (timeouts included), by experiment name. */
  failures: string[];
  timeouts: string[];
  /** Successful runs, best f1 first. */
  leaderboard: string[];
}

/**
 * 20 scripts: 12 successes with distinct f1 (file order is not rank order), 5 failures of
 * different kinds (fixtures), 3 that never end.
 */
export async function writeMixedBatch(dir: string): Promise<MixedBatch> {
  await mkdir(dir, { recursive: true });
  const f1s = [0.61, 0.93, 0.72, 0.55, 0.88, 0.67, 0.79, 0.91, 0.5, 0.84, 0.7, 0.99];
  const passes = f1s.map((f1, index) => ({ name: `pass_${String(index).padStart(2, "0")}`, f1 }));
  for (const { name, f1 } of passes) {
    await writeFile(join(dir, `${name}.py`), successScript({ f1, accuracy: Math.round((f1 + 0.01) * 100) / 100 }));
  }
  const failures = ["exit_3", "raises", "reported_failure", "invalid_json"];
  for (const name of failures) await copyFile(join(SCRIPTS, `${name}.py`), join(dir, `fail_${name}.py`));
  await writeFile(join(dir, "fail_exit_2.py"), 'import sys\nprint("\\x1b[31mno data\\x1b[0m <&> \\x01", file=sys.stderr)\nsys.exit(2)\n');
  const timeouts = ["hang_a", "hang_b", "hang_c"];
  for (const name of timeouts) await copyFile(join(SCRIPTS, "sleep_forever.py"), join(dir, `${name}.py`));
  return {
    dir,
    total: passes.length + failures.length + 1 + timeouts.length,
    failures: [...failures.map((name) => `fail_${name}`), "fail_exit_2", ...timeouts],
    timeouts,
    leaderboard: [...passes].sort((a, b) => b.f1 - a.f1).map((pass) => pass.name),
  };
}
