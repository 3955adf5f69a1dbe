import { mkdir, mkdtemp, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { terminalText } from "../../src/cli/format.js";
import { checkScriptFolder, stageFolder } from "../../src/sandbox/docker/staging.js";
import { sweepTempDirs } from "../../src/sandbox/temp-dirs.js";

describe("sweepTempDirs", () => {
  it("removes the temp folders of dead runners only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sweep-"));
    for (const name of ["experiment-sandbox-run-111-abc", "experiment-sandbox-stage-222-def", "experiment-sandbox-run-333-ghi", "other-444-x"]) {
      await mkdir(join(dir, name));
    }
    const removed = await sweepTempDirs(dir, (pid) => pid === 333);
    expect(removed.map((path) => path.slice(dir.length + 1)).sort()).toEqual(["experiment-sandbox-run-111-abc", "experiment-sandbox-stage-222-def"]);
    await expect(stat(join(dir, "experiment-sandbox-run-333-ghi"))).resolves.toBeTruthy();
    await expect(stat(join(dir, "other-444-x"))).resolves.toBeTruthy();
  });
});

describe("checkScriptFolder", () => {
  it.each(["/", "/tmp", homedir()])("refuses to mount %s whole", async (folder) => {
    await expect(checkScriptFolder(folder)).rejects.toMatchObject({ code: "UNSAFE_SCRIPT_FOLDER", message: expect.stringContaining("a folder of its own") });
  });

  it("accepts a folder of the script's own", async () => {
    await expect(checkScriptFolder(await mkdtemp(join(tmpdir(), "own-")))).resolves.toBeUndefined();
  });

  it("stages a private folder where other users cannot list it", async () => {
    const staged = await stageFolder(await mkdtemp(join(tmpdir(), "private-")));
    try {
      const parent = join(staged.path, "..");
      expect(((await stat(parent)).mode & 0o777).toString(8)).toBe("711");
      expect(staged.path.slice(parent.length + 1)).toMatch(/^[0-9a-f]{32}$/);
      expect(parent).toMatch(new RegExp(`experiment-sandbox-stage-${process.pid}-`));
    } finally {
      await staged.dispose();
    }
    await expect(stat(staged.path)).rejects.toThrow();
  });
});

describe("terminalText", () => {
  it("neutralises escape sequences and carriage returns from scripts", () => {
    expect(terminalText("\u001b[2J\u001b]52;c;ZWNobw==\u0007ok\rOK fake\u0000")).toBe("ok\\rOK fake\\u0000");
  });
});
