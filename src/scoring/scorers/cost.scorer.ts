import { type Scorer, ScorerError, synchronous } from '../scorer';

export interface CostParams {
  max_usd: number;
}

/** A cost budget: 1 when the run cost at most `max_usd`, else 0. An unknown cost is not free. */
export const costScorer: Scorer<CostParams> = {
  type: 'cost',
  description:
    "Cost budget: 1 when the run's cost_estimate (USD) ≤ `max_usd`, else 0. A run of a model without a known " +
    'price (cost null) is a scorer error, not a pass.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['max_usd'],
    properties: { max_usd: { type: 'number', minimum: 0 } },
  },
  example: { name: 'cheap', type: 'cost', params: { max_usd: 0.002 } },
  score: synchronous((ctx, params) => {
    const cost = ctx.run.costEstimate;
    if (cost === null || cost === undefined) throw new ScorerError('the run has no known cost (model without a price)');
    return { value: cost <= params.max_usd ? 1 : 0, metadata: { cost_usd: cost, max_usd: params.max_usd } };
  }),
};
