import { chmod, copyFile, link, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Bits "others" need: the container's user (uid 10001) is nobody on the host. */
const OTHERS_READ = 0o004;
const OTHERS_EXEC = 0o001;

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
 * A world-readable view of a folder the container's user could not read (e.g. one made by
 * mkdtemp, mode 0700): hard links where the file is readable by others and on the same file
 * system, else copies made readable. The original is never changed.
 */
export async function stageFolder(source: string, maxEntries = 10_000): Promise<StagedFolder> {
  const root = await mkdtemp(join(tmpdir(), "experiment-sandbox-stage-"));
  await chmod(root, 0o755);
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
      // symlinks and special files are not staged: the container must not follow them out
    }
  };
  try {
    await copyTree(source, root);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return { path: root, dispose: () => rm(root, { recursive: true, force: true }) };
}
