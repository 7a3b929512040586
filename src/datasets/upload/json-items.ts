import { Transform, type TransformCallback } from 'stream';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import { streamArray } from 'stream-json/streamers/StreamArray';
import { invalid } from '../../common/domain-error';
import { type ParsedItem } from './parsed-item';

interface Token {
  name: string;
  value?: unknown;
}

const SHAPE = 'a JSON body must be {"items": [ {…}, … ]}';

/**
 * Checks the envelope of a streamed JSON body token by token: one object whose only field is
 * `items`, an array. The items themselves flow on to `Pick`/`StreamArray` and are never all held.
 */
class JsonEnvelopeCheck extends Transform {
  private depth = 0;
  private started = false;
  private sawItems = false;
  private expectArray = false;

  constructor() {
    super({ objectMode: true });
  }

  override _transform(token: Token, _encoding: BufferEncoding, callback: TransformCallback): void {
    const problem = this.check(token);
    if (problem) return callback(invalid(problem));
    callback(null, token);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.sawItems ? null : invalid(SHAPE));
  }

  private check(token: Token): string | null {
    if (!this.started) {
      this.started = true;
      if (token.name !== 'startObject') return SHAPE;
    }
    if (this.expectArray && this.depth === 1 && token.name !== 'startKey' && token.name !== 'keyValue') {
      this.expectArray = false;
      if (token.name !== 'startArray') return '"items" must be an array of objects';
    }
    if (this.depth === 1 && token.name === 'keyValue') {
      if (token.value !== 'items') return `unknown field "${String(token.value)}": ${SHAPE}`;
      if (this.sawItems) return '"items" appears twice';
      this.sawItems = true;
      this.expectArray = true;
    }
    if (token.name === 'startObject' || token.name === 'startArray') this.depth += 1;
    else if (token.name === 'endObject' || token.name === 'endArray') this.depth -= 1;
    return null;
  }
}

/** `{index, value}` from StreamArray to `ParsedItem` (named `items[index]` in errors). */
class JsonArrayItems extends Transform {
  constructor() {
    super({ objectMode: true });
  }

  override _transform(chunk: { key: number; value: unknown }, _e: BufferEncoding, callback: TransformCallback): void {
    const item: ParsedItem = { value: chunk.value };
    callback(null, item);
  }
}

/** The stages that turn a JSON body `{"items": [...]}` into `ParsedItem`s, streamed. */
export function jsonItemStages(): Transform[] {
  return [
    parser({ packKeys: true, streamKeys: false, packValues: true, streamValues: false }),
    new JsonEnvelopeCheck(),
    pick({ filter: 'items' }),
    streamArray(),
    new JsonArrayItems(),
  ];
}

/** stream-json's parse errors as a 400 (they carry no position worth naming). */
export function jsonBodyError(error: unknown): Error {
  const message = (error as Error)?.message ?? '';
  if (/^Parser cannot parse input|^Top-level object should be an array|^Parser has expected/.test(message)) {
    return invalid(`the body is not valid JSON (${message})`);
  }
  return error as Error;
}
