import { StringDecoder } from "node:string_decoder";

export interface CapturedOutput {
  /** Head and tail of the stream, joined by a marker line when bytes were dropped. */
  text: string;
  /** All bytes the stream carried. */
  totalBytes: number;
  truncated: boolean;
}

export const TRUNCATION_MARKER = (dropped: number): string =>
  `\n[experiment-sandbox: ${dropped} bytes of output omitted]\n`;

/**
 * Keeps the first and the last bytes of a stream within a fixed budget, whatever the
 * script prints: memory stays bounded with or without newlines. The tail matters most
 * (the result is usually printed last), so it gets three quarters of the budget.
 * Memory is allocated once, up front, and not zero-filled (only bytes written are ever read).
 */
export class HeadTailCapture {
  private readonly head: Buffer;
  private headBytes = 0;
  /** Ring buffer for the tail: fixed memory, whatever the chunk sizes. */
  private readonly ring: Buffer;
  private ringStart = 0;
  private ringBytes = 0;
  private total = 0;

  constructor(maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes < 16) throw new RangeError("maxBytes must be at least 16");
    const headLimit = Math.floor(maxBytes / 4);
    this.head = Buffer.allocUnsafeSlow(headLimit);
    this.ring = Buffer.allocUnsafeSlow(maxBytes - headLimit);
  }

  get totalBytes(): number {
    return this.total;
  }

  write(chunk: Uint8Array): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.head.length) {
      const take = Math.min(this.head.length - this.headBytes, rest.length);
      this.head.set(rest.subarray(0, take), this.headBytes);
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    const size = this.ring.length;
    if (rest.length >= size) {
      this.ring.set(rest.subarray(rest.length - size), 0);
      this.ringStart = 0;
      this.ringBytes = size;
      return;
    }
    // Append at the ring's end, overwriting the oldest bytes when full.
    let writeAt = (this.ringStart + this.ringBytes) % size;
    let remaining = rest;
    while (remaining.length > 0) {
      const room = Math.min(size - writeAt, remaining.length);
      this.ring.set(remaining.subarray(0, room), writeAt);
      remaining = remaining.subarray(room);
      writeAt = (writeAt + room) % size;
    }
    const newBytes = this.ringBytes + rest.length;
    if (newBytes > size) {
      this.ringStart = (this.ringStart + (newBytes - size)) % size;
      this.ringBytes = size;
    } else {
      this.ringBytes = newBytes;
    }
  }

  private tailBuffer(): Buffer {
    const end = this.ringStart + this.ringBytes;
    if (end <= this.ring.length) return this.ring.subarray(this.ringStart, end);
    return Buffer.concat([this.ring.subarray(this.ringStart), this.ring.subarray(0, end - this.ring.length)]);
  }

  /** Decodes as UTF-8; invalid bytes become U+FFFD, never an exception. */
  result(): CapturedOutput {
    const head = this.head.subarray(0, this.headBytes);
    const tail = this.tailBuffer();
    const dropped = this.total - this.headBytes - this.ringBytes;
    if (dropped === 0) {
      return { text: decode(Buffer.concat([head, tail])), totalBytes: this.total, truncated: false };
    }
    return {
      text: decode(dropIncompleteEnd(head)) + TRUNCATION_MARKER(dropped) + decode(skipContinuationBytes(tail)),
      totalBytes: this.total,
      truncated: true,
    };
  }
}

function decode(buffer: Buffer): string {
  const decoder = new StringDecoder("utf8");
  return decoder.write(buffer) + decoder.end();
}

/** A head cut mid-character ends with the start of a UTF-8 sequence: drop that part. */
export function dropIncompleteEnd(buffer: Buffer): Buffer {
  // Look back at most 3 bytes for the lead byte of the last sequence.
  for (let back = 1; back <= Math.min(3, buffer.length); back += 1) {
    const byte = buffer[buffer.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking
    const needed = byte >= 0xf8 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? buffer.subarray(0, buffer.length - back) : buffer;
  }
  return buffer;
}

/** A tail cut mid-character starts with UTF-8 continuation bytes: skip them. */
function skipContinuationBytes(buffer: Buffer): Buffer {
  let start = 0;
  while (start < buffer.length && start < 3 && (buffer[start]! & 0xc0) === 0x80) start += 1;
  return buffer.subarray(start);
}

/** The last `maxChars` characters of a text, for result records. */
export function tailOf(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(text.length - maxChars);
}
