/**
 * Splits Docker's multiplexed attach/log stream (Tty off) into stdout and stderr.
 * Each frame: 1 byte stream type (1 stdout, 2 stderr), 3 zero bytes, 4 bytes big-endian
 * length, then the payload. Frames may be split across chunks at any byte.
 */
export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private frameType = 0;
  private frameRemaining = 0;

  constructor(
    private readonly onStdout: (chunk: Buffer) => void,
    private readonly onStderr: (chunk: Buffer) => void,
  ) {}

  write(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.frameRemaining > 0) {
        const take = Math.min(this.frameRemaining, data.length);
        this.emit(data.subarray(0, take));
        this.frameRemaining -= take;
        data = data.subarray(take);
        continue;
      }
      // Need a full 8-byte header.
      const needed = 8 - this.pending.length;
      if (data.length < needed) {
        this.pending = Buffer.concat([this.pending, data]);
        return;
      }
      const header = this.pending.length > 0 ? Buffer.concat([this.pending, data.subarray(0, needed)]) : data.subarray(0, 8);
      data = data.subarray(this.pending.length > 0 ? needed : 8);
      this.pending = Buffer.alloc(0);
      this.frameType = header[0]!;
      this.frameRemaining = header.readUInt32BE(4);
    }
  }

  private emit(payload: Buffer): void {
    if (this.frameType === 2) this.onStderr(payload);
    else this.onStdout(payload);
  }
}
