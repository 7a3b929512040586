import { csvField, csvRecord } from './csv';

describe('csv (RFC 4180)', () => {
  it('quotes only fields that need it and doubles quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });

  it('writes null as empty, numbers and booleans as text, objects as JSON', () => {
    expect(csvRecord([null, undefined, 0.25, false, { a: 1 }, ''])).toBe(',,0.25,false,"{""a"":1}",\r\n');
  });
});
