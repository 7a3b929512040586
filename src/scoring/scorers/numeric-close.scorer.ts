import { type Scorer, ScorerError, synchronous } from '../scorer';
import { type ExpectedParams, exactlyOneOf, resolveExpected } from './scorer-params';

export interface NumericCloseParams extends Omit<ExpectedParams, 'expected'> {
  expected?: number;
  abs_tol?: number;
  rel_tol?: number;
}

/**
 * A number in running text. Not preceded by a letter, digit, underscore or dot (so "gpt4", "H2O"
 * and "v1.2" hold none); optional sign (ASCII or U+2212 minus; a hyphen right after a word is not a sign);
 * thousands groups "1,234,567"; decimals; an exponent; a k/K (10³), M (10⁶) or B (10⁹) suffix
 * when no letter follows it ("3.5k" = 3500, "3.5kg" = 3.5). Our own fixed pattern: linear.
 */
const NUMBER =
  /(?<![\p{L}\p{N}_.])([+\-\u2212]?)((?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)(?:[eE]([+\-\u2212]?\d+))?(?:([kKMB])(?![\p{L}\p{N}_]))?/u;

const SUFFIX: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, B: 1e9 };

/** The first number in the text, with the text it was read from; null when there is none. */
export function firstNumber(text: string): { value: number; text: string } | null {
  const m = NUMBER.exec(text);
  if (!m) return null;
  const [whole, sign, mantissa, exponent, suffix] = m;
  const normalised = `${sign === '\u2212' ? '-' : sign}${mantissa.replace(/,/g, '')}${exponent ? `e${exponent.replace('\u2212', '-')}` : ''}`;
  const value = Number(normalised) * (suffix ? SUFFIX[suffix] : 1);
  return { value, text: whole };
}

function expectedNumber(raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN;
  if (!Number.isFinite(n)) throw new ScorerError(`expected value ${JSON.stringify(raw)} is not a number`);
  return n;
}

/** 1 when the first number in the output is within tolerance of the expected number. */
export const numericCloseScorer: Scorer<NumericCloseParams> = {
  type: 'numeric_close',
  description:
    'The first number in the output (e.g. "about 3.5k" → 3500, "-2e3" → -2000, "1,234.5" → 1234.5) is close to ' +
    '`expected` (or the input field `expected_field`, a number or numeric string): |a − b| ≤ max(abs_tol, ' +
    'rel_tol · max(|a|, |b|)), defaults abs_tol 0 and rel_tol 1e-9 as in Python math.isclose. No number in ' +
    'the output → 0. Score 1 or 0.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      expected: { type: 'number', description: 'Exactly one of expected / expected_field.' },
      expected_field: { type: 'string', minLength: 1 },
      abs_tol: { type: 'number', minimum: 0, default: 0 },
      rel_tol: { type: 'number', minimum: 0, default: 1e-9 },
    },
  },
  example: { name: 'answer_close', type: 'numeric_close', params: { expected_field: 'answer', abs_tol: 0.01 } },
  validate: (params) => exactlyOneOf(params as Record<string, unknown>, 'expected', 'expected_field'),
  score: synchronous((ctx, params) => {
    const expected = expectedNumber(resolveExpected(ctx, params));
    const absTol = params.abs_tol ?? 0;
    const relTol = params.rel_tol ?? 1e-9;
    const found = firstNumber(ctx.output);
    if (!found) return { value: 0, metadata: { reason: 'no number found in the output', expected } };
    if (!Number.isFinite(found.value)) {
      return { value: 0, metadata: { reason: `number "${found.text}" is out of range`, expected } };
    }
    const diff = Math.abs(found.value - expected);
    const close = diff <= Math.max(absTol, relTol * Math.max(Math.abs(found.value), Math.abs(expected)));
    return {
      value: close ? 1 : 0,
      metadata: { parsed: found.value, parsed_text: found.text, expected, diff, abs_tol: absTol, rel_tol: relTol },
    };
  }),
};
