import { describe, expect, it } from "vitest";
import { dropIncompleteEnd, HeadTailCapture } from "../../src/sandbox/output-capture.js";
import { StreamDemuxer } from "../../src/sandbox/docker/demux.js";

describe("HeadTailCapture", () => {
  it("keeps everything under the cap", () => {
    const capture = new HeadTailCapture(64);
    capture.write(Buffer.from("hello "));
    capture.write(Buffer.from("world"));
    expect(capture.result()).toEqual({ text: "hello world", totalBytes: 11, truncated: false });
  });

  it("keeps head and tail of a flood, in any chunking, with fixed memory", () => {
    const capture = new HeadTailCapture(100);
    const line = "x".repeat(99) + "\n";
    for (let index = 0; index < 10_000; index += 1) capture.write(Buffer.from(line));
    capture.write(Buffer.from('{"success": true}\n'));
    const { text, totalBytes, truncated } = capture.result();
    expect(truncated).toBe(true);
    expect(totalBytes).toBe(1_000_000 + 18);
    expect(text.startsWith("x".repeat(25))).toBe(true);
    expect(text.endsWith('{"success": true}\n')).toBe(true);
    expect(text).toContain("bytes of output omitted");
  });

  it("handles one byte at a time and a chunk larger than the whole budget", () => {
    const small = new HeadTailCapture(16);
    for (const byte of Buffer.from("abcdefghijklmnopqrstuvwxyz")) small.write(Buffer.from([byte]));
    expect(small.result().text).toMatch(/^abcd\n.*\n.*opqrstuvwxyz$/s);
    const big = new HeadTailCapture(16);
    big.write(Buffer.from("0123456789".repeat(10)));
    expect(big.result().text.endsWith("456789")).toBe(true);
  });

  it("decodes multibyte characters split across chunks and survives invalid UTF-8", () => {
    const capture = new HeadTailCapture(1024);
    const euro = Buffer.from("€");
    capture.write(euro.subarray(0, 1));
    capture.write(euro.subarray(1));
    capture.write(Buffer.from([0xff, 0xfe]));
    capture.write(Buffer.from('\n{"success": true}'));
    expect(capture.result().text).toBe('€\ufffd\ufffd\n{"success": true}');
  });
});

describe("dropIncompleteEnd", () => {
  it("drops a sequence cut at the end, keeps complete ones and stray bytes", () => {
    const euro = Buffer.from("a€"); // 61 e2 82 ac
    expect(dropIncompleteEnd(euro)).toEqual(euro);
    expect(dropIncompleteEnd(euro.subarray(0, 3))).toEqual(Buffer.from("a"));
    expect(dropIncompleteEnd(euro.subarray(0, 2))).toEqual(Buffer.from("a"));
    const party = Buffer.from("🎉"); // 4 bytes
    expect(dropIncompleteEnd(party.subarray(0, 3))).toEqual(Buffer.alloc(0));
    expect(dropIncompleteEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x61, 0xff]));
    expect(dropIncompleteEnd(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
  });

  it("keeps a flood of multibyte characters whole on both sides of the cut", () => {
    for (const budget of [16, 17, 18, 19, 101]) {
      const capture = new HeadTailCapture(budget);
      for (let index = 0; index < 500; index += 1) capture.write(Buffer.from("€🎉"));
      const { text, truncated } = capture.result();
      expect(truncated).toBe(true);
      expect(text).not.toContain("\ufffd");
      expect(text.endsWith("€🎉")).toBe(true);
    }
  });
});

describe("StreamDemuxer", () => {
  function frame(type: number, text: string): Buffer {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = type;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  }

  it("splits stdout and stderr whatever the chunk boundaries", () => {
    const stream = Buffer.concat([frame(1, "out-1 "), frame(2, "err-1"), frame(1, "out-2"), frame(2, "€")]);
    for (const step of [1, 3, 7, 8, 9, stream.length]) {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const demuxer = new StreamDemuxer((chunk) => out.push(chunk), (chunk) => err.push(chunk));
      for (let offset = 0; offset < stream.length; offset += step) demuxer.write(stream.subarray(offset, offset + step));
      expect(Buffer.concat(out).toString()).toBe("out-1 out-2");
      expect(Buffer.concat(err).toString()).toBe("err-1€");
    }
  });
});
