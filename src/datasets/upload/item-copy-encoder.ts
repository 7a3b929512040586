import { Transform, type TransformCallback } from 'stream';
import { isPlainObject } from '../../common/is-plain-object';
import { type ContentHasher, itemKeyOf } from '../item-key';
import { copyTextEscape, SourceLineMap } from './copy-text';
import { badItem, itemPlace, type ParsedItem } from './parsed-item';

const FLUSH_BYTES = 256 * 1024;

export interface ItemCopyEncoderOptions {
  versionId: string;
  /** Position of the first new item (the previous version's item count when appending). */
  firstPosition: number;
  /** How many new items this upload may add before it is refused. */
  maxItems: number;
  /** The version's limit, for the message. */
  limit: number;
  hasher: ContentHasher;
}

/**
 * Validates each parsed item (a JSON object; a usable key), feeds the content hash, and writes it
 * as a COPY text row `version_id, position, item_key, data`, in chunks of ~256 KiB. Remembers where
 * each row came from (compactly) so a database error on row n can name its line.
 */
export class ItemCopyEncoder extends Transform {
  private buffer = '';
  private count = 0;
  private readonly lineMap = new SourceLineMap();
  private lineFormat: boolean | null = null;

  constructor(private readonly options: ItemCopyEncoderOptions) {
    super({ writableObjectMode: true, writableHighWaterMark: 256 });
  }

  /** Items encoded so far. */
  get itemCount(): number {
    return this.count;
  }

  /** How an error names the `row`-th new item (0-based). */
  placeOf(row: number): string {
    if (this.lineFormat === false) return `items[${row}]`;
    const line = this.lineMap.lineOf(row);
    return line === null ? `item ${row + 1}` : `line ${line}`;
  }

  override _transform(item: ParsedItem, _encoding: BufferEncoding, callback: TransformCallback): void {
    const row = this.count;
    const place = itemPlace(item, row);
    if (row >= this.options.maxItems) {
      return callback(badItem(place, `a version holds at most ${this.options.limit.toLocaleString('en-US')} items`));
    }
    if (!isPlainObject(item.value)) return callback(badItem(place, 'an item must be a JSON object'));
    const keyed = itemKeyOf(item.value);
    if ('problem' in keyed) return callback(badItem(place, keyed.problem));
    this.options.hasher.add(keyed.key, keyed.canonical);
    if (item.line !== undefined) this.lineMap.record(row, item.line);
    this.lineFormat ??= item.line !== undefined;
    this.count += 1;
    this.buffer +=
      `${this.options.versionId}\t${this.options.firstPosition + row}\t` +
      `${copyTextEscape(keyed.key)}\t${copyTextEscape(keyed.canonical)}\n`;
    if (this.buffer.length >= FLUSH_BYTES) {
      const chunk = this.buffer;
      this.buffer = '';
      return callback(null, chunk);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.buffer.length > 0 ? this.buffer : undefined);
  }
}
