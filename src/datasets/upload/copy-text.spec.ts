import { copyRowOfError, copyTextEscape, SourceLineMap } from './copy-text';

describe('copy text', () => {
  it('escapes only what the COPY text format gives a meaning', () => {
    expect(copyTextEscape('{"a":"x\\\\ny"}')).toBe('{"a":"x\\\\\\\\ny"}');
    expect(copyTextEscape('a\tb\nc\rd')).toBe('a\\tb\\nc\\rd');
    expect(copyTextEscape('plain')).toBe('plain');
  });

  it('reads the failing row from a PostgreSQL error context', () => {
    expect(copyRowOfError({ where: 'COPY dataset_items, line 42' })).toBe(42);
    expect(copyRowOfError({ where: 'COPY dataset_items, line 3, column data: "x"' })).toBe(3);
    expect(copyRowOfError(new Error('other'))).toBeNull();
  });
});

describe('SourceLineMap', () => {
  it('maps rows to lines storing only the points where their distance changes', () => {
    const map = new SourceLineMap();
    // rows 0..2 on lines 2..4, a blank line, rows 3..4 on lines 6..7, a two-line row 5 at line 8, row 6 at 10
    [2, 3, 4, 6, 7, 8, 10].forEach((line, row) => map.record(row, line));
    expect([0, 1, 2, 3, 4, 5, 6].map((row) => map.lineOf(row))).toEqual([2, 3, 4, 6, 7, 8, 10]);
    expect((map as unknown as { rows: number[] }).rows).toEqual([0, 3, 6]);
    expect(new SourceLineMap().lineOf(0)).toBeNull();
  });
});
