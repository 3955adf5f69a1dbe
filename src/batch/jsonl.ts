import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Appends one JSON document per line as results finish, so an interrupted batch loses
 * nothing. Each line is written (and flushed to the OS) before `append` resolves; appends
 * are serialised. The file is started afresh when opened.
 */
export class JsonlWriter {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<JsonlWriter> {
    await mkdir(dirname(path), { recursive: true });
    return new JsonlWriter(path, await open(path, "w"));
  }

  append(value: unknown): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.path} is closed`));
    const line = `${JSON.stringify(value)}\n`;
    const write = this.chain.then(async () => {
      await this.handle.write(line);
    });
    // A failed write fails its own append; later appends still run.
    this.chain = write.catch(() => undefined);
    return write;
  }

  /** Waits for pending appends and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await this.handle.close();
  }
}
