#!/usr/bin/env node
import { createDefaultLogger, type Logger } from "../logger.js";
import { isExperimentExecutionError, messageOf } from "../errors.js";
import { UsageError } from "./args.js";
import { ciCommand } from "./commands/ci.js";
import { cleanupCommand } from "./commands/cleanup.js";
import { doctorCommand } from "./commands/doctor.js";
import { experimentCommand } from "./commands/experiment.js";
import { imageCommand } from "./commands/image.js";
import { runCommand } from "./commands/run.js";
import type { CommandIo } from "./io.js";

const HELP = `experiment-sandbox: run generated scikit-learn experiment scripts in isolation

Usage: experiment-sandbox <command> [options]

Commands:
  run <script.py>        run a script and report its ExperimentResult
  experiment             generate an experiment from a spec and a CSV, then run it
  ci <dir|glob|manifest> run a batch with bounded concurrency; JUnit, JSON and Markdown reports
  image build|status     build the runtime image / show whether it is ready
  doctor                 check the engine, the image and the runtimes
  cleanup                remove leftover containers of dead runs

Exit codes: 0 succeeded, 1 the experiment failed, 2 usage error or broken machinery.
Run \`experiment-sandbox <command> --help\` for a command's options.`;

type Command = (argv: string[], io: CommandIo) => Promise<number>;
const COMMANDS: Record<string, Command> = {
  run: runCommand,
  experiment: experimentCommand,
  ci: ciCommand,
  image: imageCommand,
  doctor: doctorCommand,
  cleanup: cleanupCommand,
};

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  // The reason says which signal (`ci` exits 130 for SIGINT, 143 for SIGTERM).
  const onSignal = (signal: NodeJS.Signals): void => controller.abort(signal);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let logger: Logger;
  try {
    logger = createDefaultLogger();
  } catch (error) {
    process.stderr.write(`experiment-sandbox: ${messageOf(error)}\n`);
    return 2;
  }
  const io: CommandIo = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    logger,
    signal: controller.signal,
    write: (text) => process.stdout.write(text),
    isTty: process.stdout.isTTY === true,
  };
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      io.out(HELP);
      return name === undefined ? 2 : 0;
    }
    if (name === "--version") {
      io.out("0.1.0");
      return 0;
    }
    const command = COMMANDS[name];
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`experiment-sandbox: ${error.message}`);
      return 2;
    }
    if (isExperimentExecutionError(error)) {
      io.err(`experiment-sandbox: ${error.message} [${error.code}]`);
      return 2;
    }
    io.err(`experiment-sandbox: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : messageOf(error)}`);
    return 2;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

process.once("beforeExit", () => {
  if (process.exitCode === undefined) {
    process.stderr.write("experiment-sandbox: internal error: the command ended without an outcome\n");
    process.exitCode = 2;
  }
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`experiment-sandbox: ${messageOf(error)}\n`);
    process.exitCode = 2;
  },
);
