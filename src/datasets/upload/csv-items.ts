import { CsvError, type InfoRecord, type Options, parse, type Parser } from 'csv-parse';
import { Transform, type TransformCallback } from 'stream';
import { badItem, MAX_ITEM_BYTES, type ParsedItem } from './parsed-item';

const LF = 0x0a;

/**
 * Counts line feeds in the bytes that pass through it, so a parser downstream that reports byte
 * offsets (csv-parse's `info.bytes`) can name lines exactly, quoted multi-line fields included.
 * It keeps only the chunks the parser has not been asked about yet.
 */
export class LineFeedCounter extends Transform {
  private chunks: Buffer[] = [];
  /** Global offset of `chunks[0][consumed]`, and line feeds seen before it. */
  private offset = 0;
  private consumed = 0;
  private lineFeeds = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.chunks.push(chunk);
    callback(null, chunk);
  }

  /** Line feeds in bytes [0, `position`); `position` never goes backwards between calls. */
  lineFeedsBefore(position: number): number {
    while (this.offset < position && this.chunks.length > 0) {
      const chunk = this.chunks[0];
      const end = Math.min(chunk.length, this.consumed + (position - this.offset));
      for (let i = chunk.indexOf(LF, this.consumed); i >= 0 && i < end; i = chunk.indexOf(LF, i + 1)) {
        this.lineFeeds += 1;
      }
      this.offset += end - this.consumed;
      this.consumed = end;
      if (this.consumed === chunk.length) {
        this.chunks.shift();
        this.consumed = 0;
      }
    }
    return this.lineFeeds;
  }
}

/**
 * csv-parse configured for RFC 4180 files (header row, BOM, CRLF or LF, quoted commas, quotes and
 * newlines) whose records come out as `{record, line}`: `line` is where the record starts, counted
 * by `LineFeedCounter` upstream, so quoted newlines do not throw the count off. Every record must
 * have as many fields as the header (csv-parse checks it against the first record).
 */
export class CsvLines {
  readonly counter = new LineFeedCounter();
  private previousEnd = 0;
  private previousEmptyLines = 0;

  parser(): Parser {
    const options: Options<CsvRecord, string[]> = {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
      record_delimiter: ['\r\n', '\n'],
      max_record_size: MAX_ITEM_BYTES,
      on_record: (record: string[], context: InfoRecord) => {
        const line = this.lineAfterPrevious(context.empty_lines);
        this.previousEnd = context.bytes;
        this.previousEmptyLines = context.empty_lines;
        return { record, line };
      },
    };
    return parse(options as unknown as Options);
  }

  /** A csv-parse error as a 400 naming the line where the failing record starts. */
  error(error: unknown): Error {
    if (!(error instanceof CsvError)) return error as Error;
    const message = error.message.replace(/\s*(at|on) line \d+/g, '');
    const emptyLines = typeof error.empty_lines === 'number' ? error.empty_lines : this.previousEmptyLines;
    return badItem(`line ${this.lineAfterPrevious(emptyLines)}`, `malformed CSV (${message})`);
  }

  private lineAfterPrevious(emptyLines: number): number {
    return 1 + this.counter.lineFeedsBefore(this.previousEnd) + (emptyLines - this.previousEmptyLines);
  }
}

interface CsvRecord {
  record: string[];
  line: number;
}

/** CSV records to `ParsedItem`s: the first names the fields (non-empty, distinct), the rest become objects of strings. */
export class CsvItems extends Transform {
  private header: string[] | null = null;

  constructor() {
    super({ objectMode: true, readableHighWaterMark: 256 });
  }

  override _transform(chunk: CsvRecord, _e: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.header === null) this.header = checkedHeader(chunk.record, chunk.line);
      else {
        const value: Record<string, string> = {};
        this.header.forEach((name, i) => (value[name] = chunk.record[i]));
        const item: ParsedItem = { value, line: chunk.line };
        this.push(item);
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

function checkedHeader(names: string[], line: number): string[] {
  const seen = new Set<string>();
  for (const name of names) {
    if (name.trim() === '') throw badItem(`line ${line}`, 'the header row has an empty field name');
    if (seen.has(name)) throw badItem(`line ${line}`, `the header row names "${name}" twice`);
    seen.add(name);
  }
  return names;
}
