import Dockerode from "dockerode";
import { sweepLeftovers } from "../../sandbox/docker/cleanup.js";
import { toExecutionError } from "../../sandbox/docker/engine-errors.js";
import { sweepTempDirs } from "../../sandbox/temp-dirs.js";
import { parse } from "../args.js";
import type { CommandIo } from "../io.js";

export async function cleanupCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, { all: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, false);
  if (values.help === true) {
    io.out(
      "Usage: experiment-sandbox cleanup [--all] [--json]\n\nRemoves our containers whose deadline has passed or whose owner process is gone, and the\nhost temp folders (result files, staged script folders) of runners that are gone.\n--all removes every container of ours, also those of live runners.",
    );
    return 0;
  }
  let removed;
  try {
    removed = await sweepLeftovers(new Dockerode(), { logger: io.logger, all: values.all === true });
  } catch (error) {
    throw toExecutionError(error, "list containers");
  }
  const removedDirs = await sweepTempDirs();
  if (values.json === true) io.out(JSON.stringify({ removed, removedDirs }));
  else {
    const lines = [
      ...removed.map((item) => `removed container ${item.id.slice(0, 12)} (${item.reason})`),
      ...removedDirs.map((dir) => `removed temp folder ${dir} (its runner is gone)`),
    ];
    io.out(lines.length === 0 ? "no leftovers" : lines.join("\n"));
  }
  return 0;
}
