import { open } from "node:fs/promises";

/** Reads at most `maxBytes` of the result file; a missing or empty file is null. */
export async function readResultFile(path: string, maxBytes: number): Promise<{ text: string | null; note?: string }> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return { text: null };
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return { text: null };
    if (size > maxBytes) return { text: null, note: `result file was ${size} bytes, over the ${maxBytes}-byte cap; ignored` };
    const buffer = Buffer.alloc(size);
    await handle.read(buffer, 0, size, 0);
    return { text: buffer.toString("utf8") };
  } finally {
    await handle.close();
  }
}
