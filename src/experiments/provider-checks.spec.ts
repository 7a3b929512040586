import { type ProjectModelChecker } from '../providers/project-models';
import { experimentCallSites, unsupportedProblems } from './provider-checks';

/** Refuses `seed` and any message past the first on `strict:*` models. */
const checker: ProjectModelChecker = {
  validate: () => null,
  price: () => null,
  credentials: () => null,
  unsupported: (model, call) => [
    ...(model.startsWith('strict:') && 'seed' in call.params ? [{ field: 'params.seed', reason: 'no seeds' }] : []),
    ...(model.startsWith('strict:') && call.messages.length > 1 ? [{ field: 'messages[1]', reason: 'one only' }] : []),
  ],
};

describe('creation-time provider checks', () => {
  it('checks each sweep value once over the base, not the product of the sweeps', () => {
    const sites = experimentCallSites({
      prompts: ['a', 'b'],
      models: ['mock:echo', 'strict:x'],
      params: { temperature: [0, 0.5, 1], seed: { $sweep: [1, 2] }, top_p: 1 },
      inputs: [{}],
    });
    // per model: (1 base + 2 more temperatures + 1 more seed) × 2 prompts
    expect(sites).toHaveLength(2 * 4 * 2);
    expect(sites[0].params).toEqual({ temperature: 0, seed: 1, top_p: 1 });
  });

  it('names model and field at their place in the config, once each', () => {
    const config = {
      prompts: [
        {
          messages: [
            { role: 'system' as const, content: 's' },
            { role: 'user' as const, content: 'u' },
          ],
        },
      ],
      models: ['mock:echo', 'strict:x'],
      params: { seed: { $sweep: [1, 2] } },
      inputs: [{}],
    };
    expect(unsupportedProblems(experimentCallSites(config), checker)).toEqual([
      'model "strict:x" cannot honour config.params.seed: no seeds',
      'model "strict:x" cannot honour config.prompts[0].messages[1]: one only',
    ]);
    const staged = {
      ...config,
      params: {},
      stages: [{ name: 'a', prompt: 'p', model: 'strict:y', params: { seed: 3 } }],
    };
    expect(unsupportedProblems(experimentCallSites(staged), checker)).toEqual([
      'model "strict:y" cannot honour config.stages[0].params.seed: no seeds',
    ]);
  });
});
