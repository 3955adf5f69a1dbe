import { DEFAULT_IMAGE } from "../../config.js";
import { ExperimentExecutionError } from "../../errors.js";

/** Errors from dockerode carry the HTTP status as `statusCode`; transport errors carry `code`. */
interface EngineErrorShape {
  statusCode?: number;
  code?: string;
  reason?: string;
  json?: { message?: string } | null;
  message?: string;
}

const TRANSPORT_CODES = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);

export function engineAddress(): string {
  return process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
}

export function statusOf(error: unknown): number | undefined {
  return (error as EngineErrorShape | null)?.statusCode;
}

/** "Already gone" and "already being removed" are success for kill and remove. */
export function isGoneOrBusy(error: unknown): boolean {
  const status = statusOf(error);
  return status === 404 || status === 409 || status === 304;
}

export function engineMessage(error: unknown): string {
  const shape = error as EngineErrorShape | null;
  return shape?.json?.message ?? shape?.message ?? String(error);
}

/**
 * The one table from engine failures to our error codes, each with what to do.
 * `context` says what we were doing ("create container", "inspect image ...").
 */
export function toExecutionError(error: unknown, context: string, image?: string): ExperimentExecutionError {
  if (error instanceof ExperimentExecutionError) return error;
  const shape = (error ?? {}) as EngineErrorShape;
  const message = engineMessage(error);
  if (shape.code !== undefined && TRANSPORT_CODES.has(shape.code)) {
    return new ExperimentExecutionError(
      "ENGINE_UNREACHABLE",
      `Docker engine not reachable at ${engineAddress()} (${shape.code}) while trying to ${context}: ` +
        "start it (`make engine`, i.e. scripts/ensure-engine.sh) or point DOCKER_HOST at one; " +
        'for trusted code only, isolation "subprocess" needs no engine',
      { cause: error },
    );
  }
  switch (shape.statusCode) {
    case 404:
      if (image !== undefined && /image|no such/i.test(message)) {
        return new ExperimentExecutionError(
          "IMAGE_MISSING",
          `No image ${image} on the engine - run \`make image\` (or \`experiment-sandbox image build${image === DEFAULT_IMAGE ? "" : ` --image ${image}`}\`)`,
          { cause: error },
        );
      }
      break;
    case 400:
    case 500:
      // "Unknown runtime specified runsc"; not "OCI runtime create failed", which is another failure.
      if (/unknown runtime/i.test(message)) {
        return new ExperimentExecutionError(
          "RUNTIME_UNAVAILABLE",
          `The engine has no such container runtime (${message}): register it in /etc/docker/daemon.json ` +
            "(scripts/ensure-engine.sh registers runsc for gVisor) and restart dockerd, or leave runtime unset",
          { cause: error },
        );
      }
      break;
    default:
      break;
  }
  return new ExperimentExecutionError(
    "ENGINE_ERROR",
    `Docker engine error while trying to ${context}${shape.statusCode !== undefined ? ` (HTTP ${shape.statusCode})` : ""}: ${message}`,
    { cause: error },
  );
}
