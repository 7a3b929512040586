import { type ScoreContext } from '../scorer';

/** A ScoreContext for unit tests: a completed run with the given output and input. */
export function scoreContext(
  output: string,
  overrides: Omit<Partial<ScoreContext>, 'run'> & { run?: Partial<ScoreContext['run']> } = {},
): ScoreContext {
  const { run, ...rest } = overrides;
  return {
    runId: '00000000-0000-4000-8000-000000000001',
    projectId: '00000000-0000-4000-8000-0000000000aa',
    scorerName: 'test',
    output,
    toolCalls: null,
    inputData: {},
    ...rest,
    run: {
      durationMs: 100,
      costEstimate: 0.001,
      tokensIn: 10,
      tokensOut: 20,
      config: { prompt: 'p', model: 'mock:echo' },
      ...run,
    },
  };
}
