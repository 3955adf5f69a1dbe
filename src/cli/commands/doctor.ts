import Dockerode from "dockerode";
import { ExperimentDefaults } from "../../config.js";
import { messageOf } from "../../errors.js";
import { engineAddress } from "../../sandbox/docker/engine-errors.js";
import { imageStatus } from "../../sandbox/docker/image-builder.js";
import { parse } from "../args.js";
import type { CommandIo } from "../io.js";
import { describeImage } from "./image.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export async function doctorCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, { json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, false);
  if (values.help === true) {
    io.out("Usage: experiment-sandbox doctor [--json]\n\nChecks the engine, the image and the runtimes; exit 0 when docker isolation is ready.");
    return 0;
  }
  const defaults = new ExperimentDefaults();
  const docker = new Dockerode();
  const checks: Check[] = [];
  try {
    const version = await docker.version();
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown>; CgroupVersion?: string };
    checks.push({ name: "engine", ok: true, detail: `Docker ${version.Version} (API ${version.ApiVersion}) at ${engineAddress()}, cgroup v${info.CgroupVersion ?? "?"}` });
    const runtimes = Object.keys(info.Runtimes ?? {});
    checks.push({ name: "runtimes", ok: true, detail: `${runtimes.join(", ")}${runtimes.includes("runsc") ? "" : " (no runsc: gVisor unavailable)"}` });
    const status = await imageStatus({ docker, image: defaults.image });
    checks.push({ name: "image", ok: status.present, detail: describeImage(status).replace(/\n\s*/g, "; ") });
  } catch (error) {
    checks.push({
      name: "engine",
      ok: false,
      detail: `not reachable at ${engineAddress()}: ${messageOf(error)} - run \`make engine\` (scripts/ensure-engine.sh) or set DOCKER_HOST`,
    });
  }
  checks.push({ name: "node", ok: true, detail: process.version });
  checks.push({ name: "defaults", ok: true, detail: `isolation ${defaults.isolation}, timeout ${defaults.experimentTimeout} s, memory ${defaults.memoryBytes / 1048576} MiB, cpus ${defaults.cpus}` });
  const ok = checks.every((check) => check.ok);
  if (values.json === true) io.out(JSON.stringify({ ok, checks }));
  else io.out(checks.map((check) => `${check.ok ? "ok  " : "FAIL"}  ${check.name.padEnd(9)} ${check.detail}`).join("\n"));
  return ok ? 0 : 2;
}
