import { describe, expect, it } from "vitest";
import { judgeOomKill } from "../../src/sandbox/docker/oom-verdict.js";

describe("judgeOomKill", () => {
  it("believes the engine's OOMKilled flag, also when the script survived its child's kill", () => {
    expect(judgeOomKill({ exitCode: 137, engineOomKilled: true, killedByRunner: false })).toEqual({ oomKilled: true });
    expect(judgeOomKill({ exitCode: 1, engineOomKilled: true, killedByRunner: false })).toEqual({ oomKilled: true });
  });

  it("takes an exit 137 the runner did not cause as the OOM killer's, and says so", () => {
    for (const engineOomKilled of [false, undefined]) {
      const verdict = judgeOomKill({ exitCode: 137, engineOomKilled, killedByRunner: false });
      expect(verdict.oomKilled).toBe(true);
      expect(verdict.note).toMatch(/exit 137 .* the runner did not send/);
    }
  });

  it("infers nothing from 137 when the container was removed behind the runner's back", () => {
    const verdict = judgeOomKill({ exitCode: 137, engineOomKilled: undefined, containerGone: true, killedByRunner: false });
    expect(verdict).toEqual({ oomKilled: false, note: "the container was removed by someone else before the run ended" });
  });

  it("never calls the runner's own kill an OOM kill", () => {
    expect(judgeOomKill({ exitCode: 137, engineOomKilled: undefined, killedByRunner: true })).toEqual({ oomKilled: false });
    expect(judgeOomKill({ exitCode: null, engineOomKilled: true, killedByRunner: true })).toEqual({ oomKilled: false });
  });

  it("leaves other exits alone", () => {
    for (const exitCode of [0, 1, 2, 124, 143, null]) {
      expect(judgeOomKill({ exitCode, engineOomKilled: false, killedByRunner: false })).toEqual({ oomKilled: false });
    }
  });
});
