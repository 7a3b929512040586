import { type Scorer, ScorerError, synchronous } from '../scorer';

export interface LatencyParams {
  max_ms: number;
}

/** A latency budget: 1 when the run took at most `max_ms`, else 0. */
export const latencyScorer: Scorer<LatencyParams> = {
  type: 'latency',
  description:
    "Latency budget: 1 when the run's duration_ms ≤ `max_ms`, else 0. A run without a duration is a scorer error.",
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['max_ms'],
    properties: { max_ms: { type: 'number', exclusiveMinimum: 0 } },
  },
  example: { name: 'fast_enough', type: 'latency', params: { max_ms: 2000 } },
  score: synchronous((ctx, params) => {
    const duration = ctx.run.durationMs;
    if (duration === null || duration === undefined) throw new ScorerError('the run has no duration_ms');
    return { value: duration <= params.max_ms ? 1 : 0, metadata: { duration_ms: duration, max_ms: params.max_ms } };
  }),
};
