import Dockerode from "dockerode";
import { buildImage, imageStatus, type ImageStatus } from "../../sandbox/docker/image-builder.js";
import { parse, UsageError } from "../args.js";
import type { CommandIo } from "../io.js";

export const IMAGE_HELP = `Usage: experiment-sandbox image build [--base <image>] [--image <name>] [--force] [--json]
       experiment-sandbox image status [--image <name>] [--json]

build   builds the runtime image through the Engine API. Default base: a Debian root filesystem
        made offline with debootstrap (no container registry needed). --base python:3.12-slim
        builds on a registry image instead (needs a reachable registry). An image whose
        definition is unchanged is not rebuilt (label experiment-sandbox.definition-hash).
status  says whether the image is present and up to date, its size and library versions.`;

export function describeImage(status: ImageStatus): string {
  if (!status.present) return `${status.image}: not built - run \`make image\` (or \`experiment-sandbox image build\`)`;
  const size = status.sizeBytes !== undefined ? `${Math.round(status.sizeBytes / 1e6)} MB` : "size unknown";
  const versions = Object.entries(status.versions).map(([name, version]) => `${name} ${version}`).join(", ");
  return [
    `${status.image}: ${status.upToDate ? "up to date" : "present but stale (its definition changed) - run `make image`"}`,
    `  id ${status.id?.slice(0, 19) ?? "?"}, ${size}`,
    `  ${versions || "library versions unknown"}`,
  ].join("\n");
}

export async function imageCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    base: { type: "string" },
    image: { type: "string" },
    force: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const action = positionals[0];
  if (values.help === true || action === undefined) {
    io.out(IMAGE_HELP);
    return values.help === true ? 0 : 2;
  }
  const docker = new Dockerode();
  const common = {
    docker,
    ...(values.image !== undefined ? { image: values.image } : {}),
    ...(values.base !== undefined ? { base: values.base } : {}),
  };
  if (action === "status") {
    const status = await imageStatus(common);
    io.out(values.json === true ? JSON.stringify(status) : describeImage(status));
    return status.present ? 0 : 1;
  }
  if (action === "build") {
    const report = await buildImage({
      ...common,
      force: values.force === true,
      onProgress: (line) => io.err(`[image] ${line}`),
    });
    io.out(
      values.json === true
        ? JSON.stringify(report)
        : `${report.built ? `built in ${(report.durationMs / 1000).toFixed(1)} s` : "unchanged"}\n${describeImage(report)}`,
    );
    return 0;
  }
  throw new UsageError(`unknown image action ${JSON.stringify(action)}: use build or status`);
}
