import { countWords } from '../../domain/words';
import { type Scorer, synchronous } from '../scorer';
import { codePointLength } from './scorer-params';

export interface LengthParams {
  min?: number;
  max?: number;
  unit?: 'chars' | 'words';
}

/** 1 when the output's length lies in [min, max] (either bound optional), else 0. */
export const lengthScorer: Scorer<LengthParams> = {
  type: 'length',
  description:
    'Output length within bounds: `min` and/or `max` (inclusive), `unit` chars (Unicode code points, the default) ' +
    'or words (runs of non-whitespace). Score 1 or 0.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      min: { type: 'integer', minimum: 0 },
      max: { type: 'integer', minimum: 0 },
      unit: { enum: ['chars', 'words'], default: 'chars' },
    },
  },
  example: { name: 'concise', type: 'length', params: { max: 60, unit: 'words' } },
  validate(params) {
    if (params.min === undefined && params.max === undefined) return ['params: set "min", "max" or both'];
    if (params.min !== undefined && params.max !== undefined && params.min > params.max) {
      return [`params.min (${params.min}) must not exceed params.max (${params.max})`];
    }
    return [];
  },
  score: synchronous((ctx, params) => {
    const unit = params.unit ?? 'chars';
    const length = unit === 'words' ? countWords(ctx.output) : codePointLength(ctx.output);
    const pass =
      (params.min === undefined || length >= params.min) && (params.max === undefined || length <= params.max);
    return { value: pass ? 1 : 0, metadata: { length, unit, min: params.min ?? null, max: params.max ?? null } };
  }),
};
