/** One row of the `make security` table, recorded by a hostile-suite test on its task's meta. */
export interface SecurityRow {
  case: string;
  isolation: string;
  /** What happened, as asserted. */
  outcome: string;
  wallMs: number;
  /** The case's number: bytes captured, RSS, deadline to result, ... */
  figure: string;
}

declare module "vitest" {
  interface TaskMeta {
    securityRow?: SecurityRow;
  }
}

/** Records the row before the assertions run, so a failing case still shows what it saw. */
export function recordRow(task: { meta: { securityRow?: SecurityRow } }, row: SecurityRow): void {
  task.meta.securityRow = row;
}
