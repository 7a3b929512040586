import { distance } from 'fastest-levenshtein';
import { type Scorer, ScorerError, synchronous } from '../scorer';
import {
  asText,
  codePointLength,
  type ExpectedParams,
  expectedTextParamsSchema,
  preview,
  resolveExpected,
  textNormaliser,
  type TextNormaliseParams,
  validateExpected,
} from './scorer-params';

export interface SimilarityParams extends ExpectedParams, TextNormaliseParams {}

/**
 * Bound on len(a) × len(b) in code points: Levenshtein is quadratic (bit-parallel, so ~0.35 s at
 * 20,000 × 20,000). Above it the scorer fails with a reason rather than stall the worker.
 */
export const SIMILARITY_MAX_CELLS = 20_000 * 20_000;

/** Plain dynamic programming over code point arrays: the fallback when remapping is impossible. */
function dpDistance(a: number[], b: number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

const ASTRAL = /[\uD800-\uDFFF]/;

/**
 * Levenshtein distance over Unicode code points (an emoji is one character, not two UTF-16
 * units). fastest-levenshtein compares UTF-16 units, so when a surrogate occurs, each distinct
 * code point is renamed to one 16-bit unit first, which preserves the distance.
 */
export function codePointLevenshtein(a: string, b: string): number {
  if (!ASTRAL.test(a) && !ASTRAL.test(b)) return distance(a, b);
  const pa = Array.from(a, (c) => c.codePointAt(0) as number);
  const pb = Array.from(b, (c) => c.codePointAt(0) as number);
  const ids = new Map<number, number>();
  const rename = (cp: number): number => {
    let id = ids.get(cp);
    if (id === undefined) ids.set(cp, (id = ids.size));
    return id;
  };
  const ra = pa.map(rename);
  const rb = pb.map(rename);
  if (ids.size > 0x10000) return dpDistance(pa, pb);
  const toUnits = (ids16: number[]): string => {
    let s = '';
    for (let i = 0; i < ids16.length; i += 8192) s += String.fromCharCode(...ids16.slice(i, i + 8192));
    return s;
  };
  return distance(toUnits(ra), toUnits(rb));
}

/** 1 − d / max(len) over code points; two empty strings are identical (1). */
export function similarity(a: string, b: string): { value: number; distance: number; maxLength: number } {
  const la = codePointLength(a);
  const lb = codePointLength(b);
  const maxLength = Math.max(la, lb);
  if (maxLength === 0) return { value: 1, distance: 0, maxLength };
  if (la * lb > SIMILARITY_MAX_CELLS) {
    throw new ScorerError(
      `similarity: texts too long to compare (${la} × ${lb} code points; limit ${SIMILARITY_MAX_CELLS} cells)`,
    );
  }
  const d = la === 0 || lb === 0 ? maxLength : codePointLevenshtein(a, b);
  return { value: 1 - d / maxLength, distance: d, maxLength };
}

export const similarityScorer: Scorer<SimilarityParams> = {
  type: 'similarity',
  description:
    'Normalised Levenshtein similarity 1 − distance / max(length) between output and the expected value ' +
    '(`expected` or the input field `expected_field`), counted in Unicode code points; both empty → 1. ' +
    '`trim` and `case_insensitive` normalise both sides first. Score in [0, 1].',
  paramsSchema: expectedTextParamsSchema,
  example: { name: 'close_to_reference', type: 'similarity', params: { expected_field: 'expected', trim: true } },
  validate: validateExpected,
  score: synchronous((ctx, params) => {
    const normalise = textNormaliser(params);
    const expected = asText(resolveExpected(ctx, params));
    const result = similarity(normalise(ctx.output), normalise(expected));
    return {
      value: result.value,
      metadata: { distance: result.distance, max_length: result.maxLength, expected: preview(expected) },
    };
  }),
};
