import { Transform, type TransformCallback } from 'stream';
import { TextDecoder } from 'util';
import { badItem, MAX_ITEM_BYTES, type ParsedItem } from './parsed-item';

const LF = 0x0a;
const CR = 0x0d;

/**
 * NDJSON (one JSON value a line) from bytes to `ParsedItem`s, one line at a time: LF or CRLF line
 * ends, a UTF-8 byte-order mark at the start, blank lines skipped, invalid UTF-8 or JSON refused
 * naming the line. Only the current line is ever held in memory (at most `MAX_ITEM_BYTES`).
 */
export class NdjsonItems extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private line = 0;

  constructor() {
    super({ readableObjectMode: true, readableHighWaterMark: 256 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let start = 0;
      for (;;) {
        const lf = chunk.indexOf(LF, start);
        if (lf < 0) break;
        this.takeLine(this.join(chunk.subarray(start, lf)));
        start = lf + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        this.pending.push(rest);
        this.pendingBytes += rest.length;
        if (this.pendingBytes > MAX_ITEM_BYTES) throw this.tooLong(this.line + 1);
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.pendingBytes > 0) this.takeLine(this.join(Buffer.alloc(0)));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  /** The pending partial line followed by `tail`, as one buffer; clears the pending part. */
  private join(tail: Buffer): Buffer {
    if (this.pending.length === 0) return tail;
    const whole = Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingBytes = 0;
    return whole;
  }

  private takeLine(bytes: Buffer): void {
    this.line += 1;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end -= 1;
    if (end > MAX_ITEM_BYTES) throw this.tooLong(this.line);
    let text: string;
    try {
      text = this.decoder.decode(bytes.subarray(0, end));
    } catch {
      throw badItem(`line ${this.line}`, 'not valid UTF-8');
    }
    if (this.line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw badItem(`line ${this.line}`, `not valid JSON (${(error as Error).message})`);
    }
    const item: ParsedItem = { value, line: this.line };
    this.push(item);
  }

  private tooLong(line: number) {
    return badItem(`line ${line}`, `longer than ${MAX_ITEM_BYTES / 1024 / 1024} MiB`);
  }
}
