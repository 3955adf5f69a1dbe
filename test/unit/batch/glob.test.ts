import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandGlob, globToRegExp, hasGlobMagic, splitGlob } from "../../../src/batch/glob.js";

describe("globToRegExp", () => {
  const matches = (pattern: string, path: string): boolean => globToRegExp(pattern).test(path);

  it("matches * and ? within a segment", () => {
    expect(matches("*.py", "a.py")).toBe(true);
    expect(matches("*.py", "sub/a.py")).toBe(false);
    expect(matches("exp_??.py", "exp_01.py")).toBe(true);
    expect(matches("exp_??.py", "exp_1.py")).toBe(false);
    expect(matches("a.py", "aXpy")).toBe(false);
  });

  it("matches ** across segments, also none", () => {
    expect(matches("**/*.py", "a.py")).toBe(true);
    expect(matches("**/*.py", "x/y/a.py")).toBe(true);
    expect(matches("x/**", "x/y/z.json")).toBe(true);
  });

  it("knows classes and alternatives", () => {
    expect(matches("[ab]*.py", "b1.py")).toBe(true);
    expect(matches("[!ab]*.py", "b1.py")).toBe(false);
    expect(matches("*.{py,json}", "m.json")).toBe(true);
    expect(matches("*.{py,json}", "m.txt")).toBe(false);
  });

  it("splits the literal base from the pattern", () => {
    expect(splitGlob("runs/2024/*.py")).toEqual({ base: "runs/2024", rest: "*.py" });
    expect(splitGlob("/abs/**/x.py")).toEqual({ base: "/abs", rest: "**/x.py" });
    expect(splitGlob("*.py")).toEqual({ base: ".", rest: "*.py" });
    expect(hasGlobMagic("plain/path.py")).toBe(false);
  });
});

describe("expandGlob", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "glob-"));
    for (const path of ["a.py", "b.py", "notes.txt", "sub/c.py", "sub/deep/d.py", ".hidden/e.py", "node_modules/f.py"]) {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), "");
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("finds files, sorted, relative to cwd or absolute", async () => {
    expect(await expandGlob("*.py", dir)).toEqual([join(dir, "a.py"), join(dir, "b.py")]);
    expect(await expandGlob(`${dir}/sub/*.py`)).toEqual([join(dir, "sub/c.py")]);
  });

  it("walks ** but skips hidden folders and node_modules", async () => {
    expect(await expandGlob("**/*.py", dir)).toEqual(["a.py", "b.py", "sub/c.py", "sub/deep/d.py"].map((path) => join(dir, path)));
  });

  it("gives nothing for a folder that does not exist", async () => {
    expect(await expandGlob("absent/*.py", dir)).toEqual([]);
  });
});
