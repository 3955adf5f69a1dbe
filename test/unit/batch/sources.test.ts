import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonlWriter } from "../../../src/batch/jsonl.js";
import { nameFromScriptPath, planBatch, prepareBatch, specOfScript, uniqueNames } from "../../../src/batch/sources.js";
import { CodeGenerator } from "../../../src/execution/code-generator.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sources-"));
  for (const path of ["scripts/b.py", "scripts/a.py", "scripts/__init__.py", "scripts/.hidden.py", "scripts/readme.txt", "other/a.py", "empty/x.txt"]) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), "print('hi')\n");
  }
  await writeFile(
    join(dir, "scripts/b.config.json"),
    JSON.stringify({ experimentName: "b", modelType: "Ridge", modelParams: { alpha: 2 }, taskType: "regression", preprocessing: { missingValues: "mean", scaling: "none", encoding: "onehot" } }),
  );
  await writeFile(join(dir, "data.csv"), "x,y\n1,2\n2,4\n3,6\n4,8\n5,10\n6,12\n");
  await writeFile(
    join(dir, "manifest.json"),
    JSON.stringify({ defaults: { data: "data.csv", target: "y", task: "regression", timeout: 9 }, experiments: [{ experimentName: "a", modelType: "Ridge" }, { modelType: "Lasso" }] }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("names", () => {
  it("derives safe names from file names", () => {
    expect(nameFromScriptPath("/x/my exp!.py")).toBe("my_exp_");
    expect(nameFromScriptPath("/x/.py")).toBe("script");
  });

  it("makes later duplicates unique without taking a name that is already used", () => {
    expect(uniqueNames(["a", "b", "a", "a-2", "a"])).toEqual(["a", "b", "a-3", "a-2", "a-4"]);
    expect(uniqueNames(["x".repeat(100), "x".repeat(100)])[1]).toBe(`${"x".repeat(98)}-2`);
  });
});

describe("planBatch", () => {
  it("runs a folder's *.py files in name order, skipping __init__ and hidden files", async () => {
    const plan = await planBatch(["scripts"], dir);
    expect(plan.map((run) => run.name)).toEqual(["a", "b"]);
  });

  it("reads the generated config beside a script for its model and task", async () => {
    const plan = await planBatch(["scripts/b.py"], dir);
    expect(plan[0]).toMatchObject({ kind: "script", taskType: "regression", spec: { experimentName: "b", modelType: "Ridge", modelParams: { alpha: 2 } } });
    expect(await specOfScript(join(dir, "scripts/a.py"), "a")).toEqual({ spec: { experimentName: "a", hypothesis: "", modelType: "script" }, taskType: undefined });
  });

  it("takes globs and manifests, and keeps names unique across the batch", async () => {
    const plan = await planBatch(["*/a.py", "manifest.json"], dir);
    expect(plan.map((run) => `${run.kind}:${run.name}`)).toEqual(["script:a", "script:a-2", "manifest:a-3", "manifest:Lasso-2"]);
  });

  it("says what is wrong with a target", async () => {
    await expect(planBatch(["absent"], dir)).rejects.toThrow(/absent: no such file or folder/);
    await expect(planBatch(["nothing/*.py"], dir)).rejects.toThrow(/matched no \.py script/);
    await expect(planBatch(["empty"], dir)).rejects.toThrow(/has no \.py scripts/);
    await expect(planBatch(["data.csv"], dir)).rejects.toThrow(/not a folder, a \.py script or a \.json manifest/);
  });
});

describe("prepareBatch", () => {
  it("generates each manifest experiment into its own folder and keeps its timeout", async () => {
    const plan = await planBatch(["manifest.json", "scripts/a.py"], dir);
    const generatedDir = join(dir, "out/generated");
    const { items, tasks } = await prepareBatch(plan, { generatedDir, generator: new CodeGenerator() });
    expect(items.map((item) => item.scriptPath)).toEqual([join(generatedDir, "a/a.py"), join(generatedDir, "Lasso-2/Lasso-2.py"), join(dir, "scripts/a.py")]);
    expect(items[0]).toMatchObject({ timeout: 9, iteration: 0, spec: { experimentName: "a", modelType: "Ridge" } });
    expect(tasks).toEqual(["regression", "regression", undefined]);
    const config = JSON.parse(await readFile(join(generatedDir, "Lasso-2/Lasso-2.config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ experimentName: "Lasso-2", modelType: "Lasso", targetColumn: "y", taskType: "regression", dataFile: "data/data.csv" });
  });
});

describe("JsonlWriter", () => {
  it("starts the file afresh and appends one line per value, in order", async () => {
    const path = join(dir, "out/deep/results.jsonl");
    await writeFile(join(dir, "stale.jsonl"), "old\n");
    const writer = await JsonlWriter.create(path);
    await Promise.all([writer.append({ n: 1 }), writer.append({ n: 2 }), writer.append({ n: 3 })]);
    expect((await readFile(path, "utf8")).split("\n")).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', ""]);
    await writer.close();
    await writer.close();
    await expect(writer.append({ n: 4 })).rejects.toThrow(/closed/);
    const again = await JsonlWriter.create(path);
    await again.close();
    expect(await readFile(path, "utf8")).toBe("");
  });
});
