import { type Scorer, synchronous } from '../scorer';
import {
  binary,
  type ContainsParams,
  containsParamsSchema,
  findValues,
  validateContainsParams,
} from './contains.scorer';

/**
 * The mode quantifies over "is absent", so the default `all` reads as a block list: none of the
 * values may occur. `any` passes when at least one of them is absent.
 */
export const notContainsScorer: Scorer<ContainsParams> = {
  type: 'not_contains',
  description:
    'Output does not contain a substring: `value`, or `values` with `mode` all (default: none of them occurs) ' +
    'or any (at least one of them is absent). `case_sensitive` defaults to true. Score 1 or 0.',
  paramsSchema: containsParamsSchema('all'),
  example: {
    name: 'no_apology',
    type: 'not_contains',
    params: { values: ['sorry', 'apologize'], case_sensitive: false },
  },
  validate: validateContainsParams,
  score: synchronous((ctx, params) => {
    const { found, missing } = findValues(ctx, params);
    const mode = params.mode ?? 'all';
    const pass = mode === 'all' ? found.length === 0 : missing.length > 0;
    return binary(pass, { mode, found, missing });
  }),
};
