import { countWords } from './words';

/** The definition the one-pass count must keep. */
const byRegExp = (text: string): number => text.split(/\s+/).filter((word) => word.length > 0).length;

describe('countWords', () => {
  it('counts whitespace-separated words', () => {
    expect(countWords('')).toBe(0);
    expect(countWords('   ')).toBe(0);
    expect(countWords('one')).toBe(1);
    expect(countWords('  two\twords\n')).toBe(2);
    expect(countWords('a\u00a0b\u3000c\ufeffd')).toBe(4);
    expect(countWords('emoji 😀😀 here')).toBe(3);
  });

  it('treats every UTF-16 code unit as \\s does', () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      const text = `a${ch}b ${ch}${ch}c${ch}`;
      if (countWords(text) !== byRegExp(text))
        throw new Error(`U+${c.toString(16)}: ${countWords(text)} ≠ ${byRegExp(text)}`);
    }
  });
});
