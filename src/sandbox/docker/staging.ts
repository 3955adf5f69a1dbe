import { randomBytes } from "node:crypto";
import { chmod, copyFile, link, mkdir, readdir, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ExperimentExecutionError } from "../../errors.js";
import { makeRunTempDir } from "../temp-dirs.js";

/** Bits "others" need: the container's user (uid 10001) is nobody on the host. */
const OTHERS_READ = 0o004;
const OTHERS_EXEC = 0o001;
const STICKY = 0o1000;

/**
 * The script's folder is mounted whole: refuse folders that hold far more than a script's
 * own files (/, a home folder, a shared temp folder such as /tmp).
 */
export async function checkScriptFolder(dir: string): Promise<void> {
  const folder = resolve(dir);
  const info = await stat(folder);
  let why: string | null = null;
  if (folder === "/") why = "it is the root of the file system";
  else if (folder === resolve(homedir())) why = "it is a home folder";
  else if ((info.mode & STICKY) !== 0) why = "it is a shared temporary folder (sticky bit, like /tmp)";
  if (why !== null) {
    throw new ExperimentExecutionError(
      "UNSAFE_SCRIPT_FOLDER",
      `The script's folder ${folder} would be mounted whole into the container, and ${why}: put the script (and its data) in a folder of its own`,
    );
  }
}

/** True when the container's user can list the folder and read the script without help. */
export async function readableByContainer(dir: string, scriptPath: string): Promise<boolean> {
  const [folder, script] = await Promise.all([stat(dir), stat(scriptPath)]);
  return (folder.mode & (OTHERS_READ | OTHERS_EXEC)) === (OTHERS_READ | OTHERS_EXEC) && (script.mode & OTHERS_READ) !== 0;
}

export interface StagedFolder {
  path: string;
  dispose(): Promise<void>;
}

/** What staging a folder may cost. */
export interface StagingBudget {
  /** Files and folders, all levels. */
  maxEntries: number;
  /** Bytes copied where a hard link is not possible (another file system, a private file). */
  maxCopyBytes: number;
}

export const DEFAULT_STAGING_BUDGET: StagingBudget = { maxEntries: 10_000, maxCopyBytes: Number.POSITIVE_INFINITY };

/** The folder is over the staging budget (a pooled run then runs cold, its folder mounted as it is). */
export class StagingTooLarge extends Error {
  override readonly name = "StagingTooLarge";
}

export interface StagingReport {
  entries: number;
  linked: number;
  copiedBytes: number;
}

/**
 * A view of a folder the container's user could not read (e.g. one made by mkdtemp, mode
 * 0700) that only the container can find: a 0711 folder (others may pass, not list) holding
 * a readable folder with an unguessable name. Files are hard links where others may already
 * read them, else copies. The original is never changed; symbolic links are not staged.
 */
export async function stageFolder(source: string, maxEntries = 10_000): Promise<StagedFolder> {
  const root = await makeRunTempDir("stage");
  await chmod(root, 0o711);
  const view = join(root, randomBytes(16).toString("hex"));
  await mkdir(view, { mode: 0o755 });
  try {
    await stageInto(source, view, { ...DEFAULT_STAGING_BUDGET, maxEntries });
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return { path: view, dispose: () => rm(root, { recursive: true, force: true }) };
}

/**
 * Stages the readable view of `source` into the existing empty folder `target` (also a warm
 * container's /work, mounted before its script was known): folders 0755, files hard-linked
 * where others may already read them (a link copies nothing, whatever the size), else copied
 * as 0644; symbolic links and special files are not staged (the container must not follow
 * them out). Throws StagingTooLarge past the budget; the caller removes what was staged.
 */
export async function stageInto(source: string, target: string, budget: StagingBudget = DEFAULT_STAGING_BUDGET): Promise<StagingReport> {
  await chmod(target, 0o755);
  const report: StagingReport = { entries: 0, linked: 0, copiedBytes: 0 };
  const copyTree = async (from: string, to: string): Promise<void> => {
    for (const entry of await readdir(from, { withFileTypes: true })) {
      report.entries += 1;
      if (report.entries > budget.maxEntries) throw new StagingTooLarge(`the script folder ${source} has more than ${budget.maxEntries} entries`);
      const src = join(from, entry.name);
      const dst = join(to, entry.name);
      if (entry.isDirectory()) {
        await mkdir(dst, { mode: 0o755 });
        await chmod(dst, 0o755);
        await copyTree(src, dst);
      } else if (entry.isFile()) {
        const info = await stat(src);
        if ((info.mode & OTHERS_READ) !== 0) {
          try {
            await link(src, dst);
            report.linked += 1;
            continue;
          } catch {
            // another file system: copy below
          }
        }
        report.copiedBytes += info.size;
        if (report.copiedBytes > budget.maxCopyBytes) {
          throw new StagingTooLarge(`staging the script folder ${source} would copy more than ${budget.maxCopyBytes} bytes`);
        }
        await copyFile(src, dst);
        await chmod(dst, 0o644);
      }
    }
  };
  await copyTree(source, target);
  return report;
}
