import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";

/** An engine error as dockerode shapes it. */
export function engineError(statusCode: number, message: string): Error & { statusCode: number; json: { message: string } } {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });
}

export interface FakeBehaviour {
  /** Resolves when the container may be created (e.g. to cancel mid-create). */
  beforeCreate?: () => Promise<void>;
  start?: () => Promise<void>;
  /** How the script "ends" on its own: an exit code after some ms, or never. */
  exitAfterMs?: { ms: number; code: number } | "never";
  /** How long the engine takes to carry out a kill (then the container stops with 137). */
  killTakesMs?: number;
  kill?: () => Promise<void>;
  remove?: () => Promise<void>;
  oomKilled?: boolean;
}

/**
 * A tiny stand-in for dockerode: enough for DockerSandbox's create, attach, start, wait,
 * kill, inspect and remove, with each call's timing and failure under the test's control.
 */
export class FakeEngine {
  readonly calls: string[] = [];
  readonly removed: string[] = [];
  private count = 0;

  constructor(private readonly behaviour: FakeBehaviour = {}) {}

  asDocker(): Dockerode {
    return this as unknown as Dockerode;
  }

  getImage(): { inspect: () => Promise<unknown> } {
    return { inspect: async () => ({ Id: "sha256:fake", Config: { Labels: {} } }) };
  }

  async listContainers(): Promise<unknown[]> {
    return [];
  }

  async createContainer(): Promise<unknown> {
    this.calls.push("create");
    await this.behaviour.beforeCreate?.();
    this.count += 1;
    const id = `fake${this.count}`.padEnd(64, "0");
    const behaviour = this.behaviour;
    const calls = this.calls;
    const removed = this.removed;
    const stream = new PassThrough();
    let exit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => {
      exit = (code) => {
        stream.end();
        resolve(code);
      };
    });
    return {
      id,
      attach: async () => stream,
      start: async () => {
        calls.push("start");
        await behaviour.start?.();
        const plan = behaviour.exitAfterMs ?? { ms: 10, code: 0 };
        if (plan !== "never") setTimeout(() => exit(plan.code), plan.ms);
      },
      wait: async () => ({ StatusCode: await exited }),
      kill: async () => {
        calls.push("kill");
        await behaviour.kill?.();
        await new Promise((resolve) => setTimeout(resolve, behaviour.killTakesMs ?? 5));
        exit(137);
      },
      inspect: async () => ({ State: { OOMKilled: behaviour.oomKilled === true } }),
      remove: async () => {
        calls.push("remove");
        await behaviour.remove?.();
        removed.push(id);
      },
    };
  }
}
