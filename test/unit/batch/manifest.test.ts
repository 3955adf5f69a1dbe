import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadManifest, parseManifest } from "../../../src/batch/manifest.js";

const MANIFEST = "/projects/demo/ci/manifest.json";

describe("parseManifest", () => {
  it("merges defaults, resolves data relative to the manifest, and names unnamed entries", () => {
    const manifest = parseManifest(
      {
        version: 1,
        defaults: { data: "../data/penguins.csv", target: "species", task: "classification", timeout: 60 },
        experiments: [
          { experimentName: "logreg", modelType: "LogisticRegression", modelParams: { C: 0.5 }, timeout: 30 },
          { modelType: "RandomForestRegressor", data: "/abs/mpg.csv", target: "mpg", task: "regression", iteration: 2, seed: 7 },
        ],
      },
      MANIFEST,
    );
    expect(manifest.path).toBe(MANIFEST);
    const [first, second] = manifest.experiments;
    expect(first).toMatchObject({ dataPath: "/projects/demo/data/penguins.csv", targetColumn: "species", taskType: "classification", timeout: 30, iteration: 0 });
    expect(first!.spec).toMatchObject({ experimentName: "logreg", modelType: "LogisticRegression", modelParams: { C: 0.5 }, hypothesis: "" });
    expect(first!.spec.preprocessing).toEqual({ missingValues: "median", scaling: "standard", encoding: "onehot" });
    expect(second).toMatchObject({ dataPath: "/abs/mpg.csv", taskType: "regression", timeout: 60, iteration: 2, seed: 7 });
    expect(second!.spec.experimentName).toBe("RandomForestRegressor-2");
  });

  it("rejects unknown keys, at the top and on entries", () => {
    expect(() => parseManifest({ experiments: [{ modelType: "SVC" }], extra: 1 }, MANIFEST)).toThrow(/Unrecognized key/);
    expect(() =>
      parseManifest({ defaults: { data: "d.csv", target: "t", task: "classification" }, experiments: [{ modelType: "SVC", modle: "x" }] }, MANIFEST),
    ).toThrow(/experiments\.0.*modle/);
  });

  it("names every problem: missing data/target/task, a model of the wrong task, duplicate names", () => {
    let message = "";
    try {
      parseManifest(
        {
          defaults: { target: "y" },
          experiments: [
            { experimentName: "a", modelType: "SVC" },
            { experimentName: "b", modelType: "Ridge", data: "d.csv", task: "classification" },
            { experimentName: "b", modelType: "SVC", data: "d.csv", task: "classification" },
          ],
        },
        MANIFEST,
      );
    } catch (error) {
      expect(error).toMatchObject({ code: "INVALID_SPEC" });
      message = (error as Error).message;
    }
    expect(message).toContain(`Invalid manifest ${MANIFEST}`);
    expect(message).toContain("experiments.0.data: required");
    expect(message).toContain("experiments.0.task: required");
    expect(message).toMatch(/experiments\.1\.modelType: Unknown modelType 'Ridge' for classification \(Ridge is a regression model\)/);
    expect(message).toContain('experiments.2.experimentName: "b" is also experiments.1\'s name');
  });

  it("needs at least one experiment and valid names", () => {
    expect(() => parseManifest({ experiments: [] }, MANIFEST)).toThrow(/at least one experiment/);
    expect(() =>
      parseManifest({ defaults: { data: "d", target: "t", task: "regression" }, experiments: [{ experimentName: "../evil", modelType: "Ridge" }] }, MANIFEST),
    ).toThrow(/safe file name/);
  });
});

describe("loadManifest", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "manifest-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a file and reports unreadable or non-JSON ones", async () => {
    const path = join(dir, "m.json");
    await writeFile(path, JSON.stringify({ defaults: { data: "x.csv", target: "t", task: "regression" }, experiments: [{ modelType: "Ridge" }] }));
    expect((await loadManifest(path)).experiments[0]!.dataPath).toBe(join(dir, "x.csv"));
    await writeFile(join(dir, "bad.json"), "{ nope");
    await expect(loadManifest(join(dir, "bad.json"))).rejects.toThrow(/not valid JSON/);
    await expect(loadManifest(join(dir, "absent.json"))).rejects.toThrow(/Cannot read manifest .*ENOENT/);
  });
});
