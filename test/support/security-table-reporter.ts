import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import "./security-row.js";

const OUTPUT = process.env.SECURITY_TABLE_PATH ?? "bench-results/security.md";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/**
 * `make security`: after the hostile suite, prints one row per case (case, isolation, outcome,
 * wall time, figure, verdict) as a Markdown table, and writes it to bench-results/security.md.
 */
export default class SecurityTableReporter implements Reporter {
  async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    const lines = ["| case | isolation | outcome | wall time | figure | as expected |", "| --- | --- | --- | --- | --- | --- |"];
    let failed = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "skipped" || state === "pending") continue;
        const ok = state === "passed";
        if (!ok) failed += 1;
        const row = test.meta().securityRow;
        const verdict = ok ? "yes" : "**NO**";
        if (row === undefined) {
          lines.push(`| ${cell(test.name)} | | ${ok ? "passed" : "failed before it recorded a row"} | ${seconds(test.diagnostic()?.duration ?? 0)} | | ${verdict} |`);
          continue;
        }
        lines.push(`| ${cell(row.case)} | ${cell(row.isolation)} | ${cell(row.outcome)} | ${seconds(row.wallMs)} | ${cell(row.figure)} | ${verdict} |`);
      }
    }
    const table = `${lines.join("\n")}\n`;
    process.stdout.write(`\nHostile-script suite${failed > 0 ? ` (${failed} NOT as expected)` : ""}\n\n${table}\n`);
    await mkdir(dirname(OUTPUT), { recursive: true });
    await writeFile(OUTPUT, table);
    process.stdout.write(`(also written to ${OUTPUT})\n`);
  }
}
