import { type ExperimentConfig } from '../domain/configs';
import { DEFAULT_OUTPUT_TOKENS, estimateGridCost, estimateTokensIn, estimateTokensOut } from './launch-cost-estimate';

/** $1 per million tokens in, $2 out for "p:cheap"; "mock:echo" free; anything else unknown. */
const cost = (model: string, tin: number, tout: number): number | null =>
  model === 'p:cheap' ? (tin * 1 + tout * 2) / 1e6 : model === 'mock:echo' ? 0 : null;

describe('launch cost estimate', () => {
  it('estimates tokens in as words × 1.3 (rounded up) and tokens out from max_tokens or the default', () => {
    expect(estimateTokensIn('one two  three\nfour')).toBe(Math.ceil(4 * 1.3));
    expect(estimateTokensIn('')).toBe(0);
    expect(estimateTokensOut({ max_tokens: 100 })).toBe(100);
    expect(estimateTokensOut({ max_completion_tokens: 50 })).toBe(50);
    expect(estimateTokensOut({ max_tokens: 'lots' })).toBe(DEFAULT_OUTPUT_TOKENS);
    expect(estimateTokensOut({})).toBe(DEFAULT_OUTPUT_TOKENS);
  });

  it('sums over the grid with the filled prompts, × repetitions', () => {
    const config: ExperimentConfig = {
      prompts: ['Say {{x}}'],
      models: ['p:cheap'],
      params: { max_tokens: [10, 20] },
      inputs: [{ x: 'one two three' }, { x: 'four' }],
      repetitions: 3,
    };
    // input 0: "Say one two three" = 4 words → 6 tokens; input 1: "Say four" = 2 words → 3 tokens
    const perRep = 6 + 10 * 2 + (6 + 20 * 2) + (3 + 10 * 2) + (3 + 20 * 2);
    expect(estimateGridCost(config, cost)).toBeCloseTo((perRep * 3) / 1e6, 12);
  });

  it('is 0 for mock:echo and null as soon as one model has no known price', () => {
    const config: ExperimentConfig = { prompts: ['hi'], models: ['mock:echo'], inputs: [{}] };
    expect(estimateGridCost(config, cost)).toBe(0);
    expect(estimateGridCost({ ...config, models: ['mock:echo', 'x:unknown'] }, cost)).toBeNull();
    expect(estimateGridCost({ ...config, stages: [{ name: 's', prompt: 'x', model: 'x:unknown' }] }, cost)).toBeNull();
  });

  it('with stages, costs one call per stage instead of the prompt, counting referenced outputs as input', () => {
    const config: ExperimentConfig = {
      prompts: ['a b'],
      models: ['p:cheap'],
      params: { max_tokens: 10 },
      inputs: [{}],
      stages: [
        { name: 's1', prompt: 'c d e f', params: { max_tokens: 5 } },
        { name: 's2', prompt: 'g {{stages.s1.output}}' },
      ],
    };
    const s1 = Math.ceil(4 * 1.3) + 5 * 2;
    const s2 = Math.ceil(1 * 1.3) + 5 + 10 * 2; // s1's 5 output tokens come in
    expect(estimateGridCost(config, cost)).toBeCloseTo((s1 + s2) / 1e6, 12);
  });
});
