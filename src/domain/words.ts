/**
 * Whitespace-separated words. The one word count: the mock provider's token count, the launch
 * cost estimate and the `length` scorer's `unit: "words"` all use it.
 *
 * The count of `text.split(/\s+/)`'s non-empty parts, counted in one pass without building them
 * (a 100,000-item launch estimate counts the words of every filled prompt): a word starts at each
 * non-whitespace character after whitespace or at the start, whitespace being exactly what `\s`
 * matches (words.spec.ts checks every UTF-16 code unit against the regular expression).
 */
export function countWords(text: string): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isWhitespace(text.charCodeAt(i));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

/** `\s` in JavaScript: WhiteSpace and LineTerminator (ECMA-262), by UTF-16 code unit. */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
