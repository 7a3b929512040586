import { type JsonSchema, type ScoreContext, type Scorer, type ScorerResult, synchronous } from '../scorer';
import { exactlyOneOf, foldCase } from './scorer-params';

export interface ContainsParams {
  value?: string;
  values?: string[];
  mode?: 'any' | 'all';
  case_sensitive?: boolean;
}

export function containsParamsSchema(defaultMode: 'any' | 'all'): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      value: { type: 'string', minLength: 1, description: 'One substring (exactly one of value / values).' },
      values: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', minLength: 1 },
        description: 'Several substrings.',
      },
      mode: { enum: ['any', 'all'], default: defaultMode, description: 'Quantifier over `values`.' },
      case_sensitive: { type: 'boolean', default: true },
    },
  };
}

export function validateContainsParams(params: ContainsParams): string[] {
  return exactlyOneOf(params as Record<string, unknown>, 'value', 'values');
}

/** Which of the declared substrings occur in the output. */
export function findValues(ctx: ScoreContext, params: ContainsParams): { found: string[]; missing: string[] } {
  const values = params.values ?? [params.value as string];
  const caseSensitive = params.case_sensitive ?? true;
  const haystack = caseSensitive ? ctx.output : foldCase(ctx.output);
  const found: string[] = [];
  const missing: string[] = [];
  for (const v of values) (haystack.includes(caseSensitive ? v : foldCase(v)) ? found : missing).push(v);
  return { found, missing };
}

export function binary(pass: boolean, metadata: Record<string, unknown>): ScorerResult {
  return { value: pass ? 1 : 0, metadata };
}

/** 1 when the output contains the value (`mode: any`: at least one of `values`; `all`: every one). */
export const containsScorer: Scorer<ContainsParams> = {
  type: 'contains',
  description:
    'Output contains a substring: `value`, or `values` with `mode` any (default: at least one occurs) or all ' +
    '(every one occurs). `case_sensitive` defaults to true. Score 1 or 0.',
  paramsSchema: containsParamsSchema('any'),
  example: { name: 'mentions_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
  validate: validateContainsParams,
  score: synchronous((ctx, params) => {
    const { found, missing } = findValues(ctx, params);
    const mode = params.mode ?? 'any';
    const pass = mode === 'all' ? missing.length === 0 : found.length > 0;
    return binary(pass, { mode, found, missing });
  }),
};
