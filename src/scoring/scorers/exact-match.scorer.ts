import { type Scorer, synchronous } from '../scorer';
import {
  asText,
  type ExpectedParams,
  expectedTextParamsSchema,
  preview,
  resolveExpected,
  textNormaliser,
  type TextNormaliseParams,
  validateExpected,
} from './scorer-params';

export interface ExactMatchParams extends ExpectedParams, TextNormaliseParams {}

/** 1 when the output equals the expected text (optionally trimmed / case-insensitive), else 0. */
export const exactMatchScorer: Scorer<ExactMatchParams> = {
  type: 'exact_match',
  description:
    'Output equals the expected value (a literal `expected`, or the input field named by `expected_field`; ' +
    'non-string expected values are compared as JSON text). `trim` strips surrounding whitespace of both, ' +
    '`case_insensitive` compares case-folded text. Score 1 or 0.',
  paramsSchema: expectedTextParamsSchema,
  example: { name: 'answer_exact', type: 'exact_match', params: { expected_field: 'expected', trim: true } },
  validate: validateExpected,
  score: synchronous((ctx, params) => {
    const expected = asText(resolveExpected(ctx, params));
    const normalise = textNormaliser(params);
    const matched = normalise(ctx.output) === normalise(expected);
    return { value: matched ? 1 : 0, metadata: { matched, expected: preview(expected) } };
  }),
};
