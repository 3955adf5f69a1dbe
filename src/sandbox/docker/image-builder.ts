import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type Dockerode from "dockerode";
import { pack } from "tar-stream";
import { ExperimentDefaults, LABELS } from "../../config.js";
import { ExperimentExecutionError, messageOf } from "../../errors.js";
import { StreamDemuxer } from "./demux.js";
import { parseVersionsLabel } from "./docker-sandbox.js";
import { toExecutionError } from "./engine-errors.js";

/** images/python-sklearn, found from both src/ (tests) and dist/ (installed package). */
export const IMAGE_DEFINITION_DIR = fileURLToPath(new URL("../../../images/python-sklearn/", import.meta.url));
export const OFFLINE_BASE_REPOSITORY = "experiment-sandbox/base";

export interface ImageBuildOptions {
  docker: Dockerode;
  image?: string;
  /** A registry base such as python:3.12-slim; default: the offline Debian base. */
  base?: string;
  /** Rebuild even when the definition is unchanged. */
  force?: boolean;
  definitionDir?: string;
  /** Where the offline root filesystem tarball is cached. */
  cacheDir?: string;
  onProgress?: (line: string) => void;
}

export interface ImageStatus {
  image: string;
  present: boolean;
  upToDate: boolean;
  id?: string;
  sizeBytes?: number;
  versions: Record<string, string>;
  definitionHash: string;
}

export interface ImageBuildReport extends ImageStatus {
  built: boolean;
  base: string;
  durationMs: number;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.includes("__pycache__"))
    .sort();
}

/** sha256 over every file of the image definition, and the base it builds on. */
export async function definitionHash(dir: string, base: string): Promise<string> {
  const hash = createHash("sha256").update(`base=${base}\n`);
  for (const file of await listFiles(dir)) {
    hash.update(`${relative(dir, file)}\n`).update(await readFile(file)).update("\n");
  }
  return hash.digest("hex");
}

function defaultCacheDir(): string {
  if (process.env.EXPERIMENT_SANDBOX_CACHE) return process.env.EXPERIMENT_SANDBOX_CACHE;
  return process.getuid?.() === 0 ? "/var/cache/experiment-sandbox" : join(homedir(), ".cache", "experiment-sandbox");
}

async function inspectOrNull(docker: Dockerode, name: string): Promise<Dockerode.ImageInspectInfo | null> {
  try {
    return await docker.getImage(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return null;
    throw toExecutionError(error, `inspect image ${name}`);
  }
}

export async function imageStatus(options: ImageBuildOptions): Promise<ImageStatus> {
  const image = options.image ?? new ExperimentDefaults().image;
  const dir = options.definitionDir ?? IMAGE_DEFINITION_DIR;
  const base = options.base ?? (await offlineBaseTag(dir));
  const hash = await definitionHash(dir, base);
  const info = await inspectOrNull(options.docker, image);
  if (info === null) return { image, present: false, upToDate: false, versions: {}, definitionHash: hash };
  const labels = info.Config?.Labels ?? {};
  return {
    image,
    present: true,
    upToDate: labels[LABELS.definitionHash] === hash,
    id: info.Id,
    sizeBytes: info.Size,
    versions: parseVersionsLabel(labels[LABELS.versions]),
    definitionHash: hash,
  };
}

/** The offline base is tagged by a hash of the script that makes it. */
async function offlineBaseTag(dir: string): Promise<string> {
  const script = await readFile(join(dir, "build-rootfs.sh"));
  return `${OFFLINE_BASE_REPOSITORY}:bookworm-${createHash("sha256").update(script).digest("hex").slice(0, 12)}`;
}

/**
 * Builds the runtime image through the Engine API. Idempotent: an image whose
 * definition-hash label matches is left as it is.
 */
export async function buildImage(options: ImageBuildOptions): Promise<ImageBuildReport> {
  const started = performance.now();
  const { docker } = options;
  const say = options.onProgress ?? (() => undefined);
  const image = options.image ?? new ExperimentDefaults().image;
  const dir = options.definitionDir ?? IMAGE_DEFINITION_DIR;
  const base = options.base ?? (await offlineBaseTag(dir));
  const status = await imageStatus({ ...options, image, base, definitionDir: dir });
  if (status.upToDate && options.force !== true) {
    say(`${image} is up to date (definition ${status.definitionHash.slice(0, 12)})`);
    return { ...status, built: false, base, durationMs: performance.now() - started };
  }
  if (options.base === undefined) await ensureOfflineBase(docker, base, dir, options.cacheDir ?? defaultCacheDir(), say);

  say(`building ${image} from ${base}`);
  const stage = `${image}-stage`;
  await runBuild(docker, contextStream(dir, await listFiles(dir)), { t: stage, buildargs: { BASE_IMAGE: base }, pull: options.base !== undefined ? "1" : "" }, say);
  const versions = await readVersions(docker, stage);
  say(`libraries: ${Object.entries(versions).map(([name, version]) => `${name} ${version}`).join(", ")}`);
  // A metadata-only step records the hash and the versions as labels on the final image.
  await runBuild(
    docker,
    contextFromText("Dockerfile", `FROM ${stage}\n`),
    { t: image, labels: { [LABELS.definitionHash]: status.definitionHash, [LABELS.versions]: JSON.stringify(versions) } },
    say,
  );
  await docker.getImage(stage).remove().catch(() => undefined);
  if (status.id !== undefined) {
    // The image this build replaces, now untagged; still in use by a container it stays.
    await docker.getImage(status.id).remove().catch(() => undefined);
  }
  const after = await imageStatus({ ...options, image, base, definitionDir: dir });
  return { ...after, built: true, base, durationMs: performance.now() - started };
}

async function ensureOfflineBase(docker: Dockerode, tag: string, dir: string, cacheDir: string, say: (line: string) => void): Promise<void> {
  if ((await inspectOrNull(docker, tag)) !== null) return;
  await mkdir(cacheDir, { recursive: true });
  const tarball = join(cacheDir, `${tag.replace(/[/:]/g, "_")}.tar`);
  if (!existsSync(tarball)) {
    say(`making the offline base root filesystem with debootstrap (1-2 minutes) into ${tarball}`);
    await runScript(join(dir, "build-rootfs.sh"), [`${tarball}.tmp`], say);
    await rename(`${tarball}.tmp`, tarball);
  }
  say(`importing ${tarball} (${Math.round((await stat(tarball)).size / 1e6)} MB) as ${tag}`);
  const [repo, imageTag] = tag.split(":") as [string, string];
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.importImage(createReadStream(tarball), { repo, tag: imageTag })) as NodeJS.ReadableStream;
  } catch (error) {
    throw toExecutionError(error, `import the base image ${tag}`);
  }
  await followProgress(docker, stream, say);
}

function runScript(path: string, args: string[], say: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path, ...args], { stdio: ["ignore", "inherit", "pipe"] });
    let tail = "";
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n")) if (line.trim() !== "") say(line);
    });
    child.once("error", (error) => reject(new ExperimentExecutionError("IMAGE_BUILD_FAILED", `could not run ${path}: ${error.message}`, { cause: error })));
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new ExperimentExecutionError("IMAGE_BUILD_FAILED", `${path} failed with exit code ${code}: ${tail.trim()}`));
    });
  });
}

function contextStream(dir: string, files: string[]): NodeJS.ReadableStream {
  const archive = pack();
  void (async () => {
    try {
      for (const file of files) {
        const content = await readFile(file);
        const mode = (await stat(file)).mode & 0o777;
        await new Promise<void>((resolve, reject) => {
          archive.entry({ name: relative(dir, file), mode, mtime: new Date(0) }, content, (error) => (error ? reject(error) : resolve()));
        });
      }
      archive.finalize();
    } catch (error) {
      archive.destroy(error as Error);
    }
  })();
  return archive as unknown as NodeJS.ReadableStream;
}

function contextFromText(name: string, text: string): NodeJS.ReadableStream {
  const archive = pack();
  archive.entry({ name, mtime: new Date(0) }, text);
  archive.finalize();
  return archive as unknown as NodeJS.ReadableStream;
}

async function runBuild(
  docker: Dockerode,
  context: NodeJS.ReadableStream,
  options: Record<string, unknown>,
  say: (line: string) => void,
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context, { rm: true, forcerm: true, ...options });
  } catch (error) {
    throw toExecutionError(error, "build the image");
  }
  await followProgress(docker, stream, say);
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function followProgress(docker: Dockerode, stream: NodeJS.ReadableStream, say: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: ProgressEvent[]) => {
        const failed = events.find((event) => event.error !== undefined || event.errorDetail !== undefined);
        if (error !== null || failed !== undefined) {
          const message = failed?.errorDetail?.message ?? failed?.error ?? messageOf(error);
          reject(new ExperimentExecutionError("IMAGE_BUILD_FAILED", `image build failed: ${message}`, { cause: error ?? undefined }));
        } else resolve();
      },
      (event: ProgressEvent) => {
        const line = (event.stream ?? event.status ?? "").trim();
        if (line !== "") say(line);
      },
    );
  });
}

/** Runs versions.py in a throwaway container of the image and reads its JSON line. */
async function readVersions(docker: Dockerode, image: string): Promise<Record<string, string>> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ["python3", "/opt/sandbox/versions.py"],
    HostConfig: { NetworkMode: "none", AutoRemove: false },
    Labels: { [LABELS.project]: "1", [LABELS.ownerPid]: String(process.pid), [LABELS.deadline]: String(Date.now() + 120_000) },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    const text = demuxToText(logs);
    if (StatusCode !== 0) throw new ExperimentExecutionError("IMAGE_BUILD_FAILED", `the built image cannot import its libraries: ${text.trim()}`);
    const line = text.trim().split("\n").pop() ?? "{}";
    return parseVersionsLabel(line);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

function demuxToText(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  new StreamDemuxer((chunk) => chunks.push(chunk), (chunk) => chunks.push(chunk)).write(buffer);
  return Buffer.concat(chunks).toString("utf8");
}
