/** Exit status of a process ended by SIGKILL (128 + 9), as the engine reports it. */
export const SIGKILL_EXIT_CODE = 137;

export interface OomEvidence {
  exitCode: number | null;
  /** The engine's State.OOMKilled; undefined when the container could not be inspected. */
  engineOomKilled: boolean | undefined;
  /** The container was gone or being removed when the run ended (someone else's `docker rm -f`). */
  containerGone?: boolean;
  /** The runner itself killed the container (deadline or cancel). */
  killedByRunner: boolean;
}

export interface OomVerdict {
  oomKilled: boolean;
  /** Set when the verdict is inferred rather than reported by the engine. */
  note?: string;
}

/**
 * Was the run ended by the OOM killer? (pure) The engine's flag, which is set whichever process
 * of the container the killer hit; else an exit 137 (SIGKILL) that the runner did not cause,
 * as the rule has it: the OOM killer's signal is SIGKILL, and a runtime or an engine
 * that could not be asked may not report the flag. The inference is noted on the result.
 */
export function judgeOomKill(evidence: OomEvidence): OomVerdict {
  if (evidence.killedByRunner) return { oomKilled: false };
  if (evidence.engineOomKilled === true) return { oomKilled: true };
  if (evidence.containerGone === true) {
    // `docker rm -f` also ends a container with SIGKILL: no inference from 137 then.
    return { oomKilled: false, note: "the container was removed by someone else before the run ended" };
  }
  if (evidence.exitCode === SIGKILL_EXIT_CODE) {
    return {
      oomKilled: true,
      note: "exit 137 (SIGKILL) that the runner did not send, and the engine reported no OOM kill: taken as the OOM killer's",
    };
  }
  return { oomKilled: false };
}
