import { Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { DomainError } from '../../common/domain-error';
import { CsvItems, CsvLines } from './csv-items';
import { jsonItemStages } from './json-items';
import { NdjsonItems } from './ndjson-items';
import { type ParsedItem } from './parsed-item';

/** Feeds `text` in chunks of `size` bytes (to cross every boundary) and collects the items. */
async function parse(stages: NodeJS.ReadWriteStream[], text: string | Buffer, size = 3): Promise<ParsedItem[]> {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const items: ParsedItem[] = [];
  const sink = new Writable({
    objectMode: true,
    write(item: ParsedItem, _e, done) {
      items.push(item);
      done();
    },
  });
  await pipeline([Readable.from(chunks), ...stages, sink]);
  return items;
}

const csv = () => {
  const lines = new CsvLines();
  return [lines.counter, lines.parser(), new CsvItems()];
};
const failure = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error.message;
    throw error;
  }
  throw new Error('expected a failure');
};

describe('NDJSON items', () => {
  it('splits LF and CRLF lines across chunk boundaries, skips blank lines and a BOM, numbers lines', async () => {
    const text = '\ufeff{"a":"é"}\r\n\r\n{"b":2}\n  \n{"c":3}';
    for (const size of [1, 2, 5, 1000]) {
      expect(await parse([new NdjsonItems()], text, size)).toEqual([
        { value: { a: 'é' }, line: 1 },
        { value: { b: 2 }, line: 3 },
        { value: { c: 3 }, line: 5 },
      ]);
    }
  });

  it('names the line of invalid JSON or UTF-8', async () => {
    expect(await failure(parse([new NdjsonItems()], '{"a":1}\n{"a":\n'))).toMatch(/^line 2: not valid JSON/);
    const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}\n')]);
    expect(await failure(parse([new NdjsonItems()], bad))).toBe('line 1: not valid UTF-8');
  });
});

describe('CSV items', () => {
  it('reads a header and RFC 4180 records, numbering the line where each record starts', async () => {
    const text = '\ufeffid,text\r\n1,"a,b"\r\n2,"x\r\ny\r\nz"\r\n\r\n3,"say ""hi"""\n4,end';
    for (const size of [1, 4, 1000]) {
      expect(await parse(csv(), text, size)).toEqual([
        { value: { id: '1', text: 'a,b' }, line: 2 },
        { value: { id: '2', text: 'x\r\ny\r\nz' }, line: 3 },
        { value: { id: '3', text: 'say "hi"' }, line: 7 },
        { value: { id: '4', text: 'end' }, line: 8 },
      ]);
    }
  });

  it('names the line where a malformed record starts', async () => {
    const lines = new CsvLines();
    const error = await parse([lines.counter, lines.parser(), new CsvItems()], 'a,b\n1,"x\ny"\n\n2,3,4\n').catch(
      (e: unknown) => lines.error(e),
    );
    expect((error as Error).message).toMatch(/^line 5: malformed CSV/);
  });
});

describe('JSON items', () => {
  it('streams the items array of the envelope', async () => {
    expect(await parse(jsonItemStages(), '{"items": [{"a": 1}, {"b": [2, {"c": "x"}]}]}', 4)).toEqual([
      { value: { a: 1 } },
      { value: { b: [2, { c: 'x' }] } },
    ]);
  });

  it('refuses another envelope', async () => {
    expect(await failure(parse(jsonItemStages(), '{"items": [], "more": 1}'))).toMatch(/unknown field "more"/);
    expect(await failure(parse(jsonItemStages(), '{"items": 5}'))).toMatch(/"items" must be an array/);
    expect(await failure(parse(jsonItemStages(), '{}'))).toMatch(/a JSON body must be/);
  });
});
