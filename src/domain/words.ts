/**
 * Whitespace-separated words. The one word count: the mock provider's token count, the launch
 * cost estimate and the `length` scorer's `unit: "words"` all use it.
 */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word.length > 0).length;
}
