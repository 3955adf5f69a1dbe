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
  await chmod(view, 0o755);
  let entries = 0;
  const copyTree = async (from: string, to: string): Promise<void> => {
    for (const entry of await readdir(from, { withFileTypes: true })) {
      entries += 1;
      if (entries > maxEntries) throw new Error(`the script folder ${source} has more than ${maxEntries} entries`);
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
            continue;
          } catch {
            // another file system: copy below
          }
        }
        await copyFile(src, dst);
        await chmod(dst, 0o644);
      }
    }
  };
  try {
    await copyTree(source, view);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return { path: view, dispose: () => rm(root, { recursive: true, force: true }) };
}
