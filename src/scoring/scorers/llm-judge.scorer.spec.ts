import { type CompletionRequest, type CompletionResult } from '../../providers/llm.types';
import { ScorerError } from '../scorer';
import {
  type JudgeCache,
  type JudgeCacheEntry,
  judgeCacheKey,
  type LlmJudgeParams,
  LlmJudgeScorer,
} from './llm-judge.scorer';
import { scoreContext } from './score-context.fixture';

class InMemoryJudgeCache implements JudgeCache {
  readonly entries = new Map<string, JudgeCacheEntry>();
  get(projectId: string, key: string) {
    return Promise.resolve(this.entries.get(`${projectId}/${key}`) ?? null);
  }
  put(projectId: string, key: string, _model: string, entry: JudgeCacheEntry) {
    if (!this.entries.has(`${projectId}/${key}`)) this.entries.set(`${projectId}/${key}`, entry);
    return Promise.resolve();
  }
}

function setup(answer: string | (() => string) = '{"score": 8, "reason": "clear"}') {
  const requests: CompletionRequest[] = [];
  const llm = {
    complete: (req: CompletionRequest): Promise<CompletionResult> =>
      new Promise((resolve) => {
        requests.push(req);
        resolve({
          output: typeof answer === 'string' ? answer : answer(),
          tokensIn: 120,
          tokensOut: 15,
          toolCalls: null,
          finishReason: 'stop',
          cost: 0.0004,
          durationMs: 42,
          callMs: 40,
          attempts: 1,
        });
      }),
  };
  const cache = new InMemoryJudgeCache();
  const scorer = new LlmJudgeScorer({ llm, cache });
  return { requests, cache, scorer };
}

const params: LlmJudgeParams = {
  model: 'openai:gpt-4o-mini',
  rubric: 'On a scale of 0 to 10, how well does "{{output}}" answer {{input.question}}?',
  params: { temperature: 0 },
};
const ctx = (output = 'Paris', extra: Parameters<typeof scoreContext>[1] = {}) =>
  scoreContext(output, { inputData: { question: 'the capital of France' }, scorerName: 'judge', ...extra });

describe('llm_judge scorer', () => {
  it('sends the rendered rubric and normalises the answer with the rubric scale', async () => {
    const { requests, scorer } = setup();
    const res = await scorer.score(ctx(), params);
    expect(requests).toEqual([
      {
        model: 'openai:gpt-4o-mini',
        messages: [
          { role: 'user', content: 'On a scale of 0 to 10, how well does "Paris" answer the capital of France?' },
        ],
        params: { temperature: 0 },
        callKey: 'judge:00000000-0000-4000-8000-000000000001:judge',
        // The judge model resolves in the run's project (its connections).
        projectId: '00000000-0000-4000-8000-0000000000aa',
      },
    ]);
    expect(res).toEqual({
      value: 0.8,
      metadata: {
        reason: 'clear',
        judge_score: 8,
        judge_scale: { min: 0, max: 10 },
        answer_form: 'json',
        judge_model: 'openai:gpt-4o-mini',
        tokens_in: 120,
        tokens_out: 15,
        cost: 0.0004,
        cached: false,
        duration_ms: 42,
      },
    });
  });

  it('reuses an identical call within the project at cost 0, but not across projects or prompts', async () => {
    const { requests, scorer } = setup();
    await scorer.score(ctx(), params);
    const again = await scorer.score(ctx('Paris', { runId: '00000000-0000-4000-8000-000000000002' }), params);
    expect(requests).toHaveLength(1);
    expect(again.value).toBe(0.8);
    expect(again.metadata).toMatchObject({ cached: true, cost: 0, tokens_in: 120, tokens_out: 15, reason: 'clear' });

    await scorer.score(ctx('Paris', { projectId: '00000000-0000-4000-8000-0000000000bb' }), params);
    await scorer.score(ctx('Lyon'), params);
    await scorer.score(ctx(), { ...params, params: { temperature: 0.5 } });
    expect(requests).toHaveLength(4);
  });

  it('asks again when the run says cache: false', async () => {
    const { requests, scorer } = setup();
    await scorer.score(ctx(), params);
    const res = await scorer.score(
      ctx('Paris', { run: { config: { prompt: 'p', model: 'mock:echo', cache: false } } }),
      params,
    );
    expect(requests).toHaveLength(2);
    expect(res.metadata.cached).toBe(false);
  });

  it('fails on an unparseable answer and does not cache it', async () => {
    const answers = ['I like it.', 'Score: 9/10'];
    const { requests, cache, scorer } = setup(() => answers.shift() as string);
    await expect(scorer.score(ctx(), params)).rejects.toThrow(ScorerError);
    expect(cache.entries.size).toBe(0);
    await expect(scorer.score(ctx(), params)).resolves.toMatchObject({
      value: 0.9,
      metadata: { answer_form: 'labelled' },
    });
    expect(requests).toHaveLength(2);
    expect(cache.entries.size).toBe(1);
  });

  it('fails when the rubric names an input field the run lacks, without calling the judge', async () => {
    const { requests, scorer } = setup();
    await expect(scorer.score(scoreContext('x', { inputData: {} }), params)).rejects.toThrow(/input\.question/);
    expect(requests).toHaveLength(0);
  });

  it('keys the cache on the canonical JSON of {model, prompt, params}', () => {
    expect(judgeCacheKey('m:x', 'p', { a: 1, b: 2 })).toBe(judgeCacheKey('m:x', 'p', { b: 2, a: 1 }));
    expect(judgeCacheKey('m:x', 'p', {})).toMatch(/^[0-9a-f]{64}$/);
    expect(judgeCacheKey('m:x', 'p', {})).not.toBe(judgeCacheKey('m:y', 'p', {}));
  });

  it('validates the model, the {{output}} placeholder and the scale', () => {
    const { scorer } = setup();
    // The experiments module passes the project's model resolution; without it the model is not judged here.
    const checks = { model: (m: string) => (m.startsWith('openai:') ? null : `Unknown provider in "${m}"`) };
    expect(scorer.validate(params, checks)).toEqual([]);
    expect(scorer.validate({ ...params, model: 'nope:x' })).toEqual([]);
    expect(
      scorer.validate(
        { ...params, model: 'nope:x', rubric: 'Is {{input.q}} answered?', scale: { min: 5, max: 1 } },
        checks,
      ),
    ).toEqual([
      'params.model: Unknown provider in "nope:x"',
      'params.rubric must contain {{output}}: the judge has to see the output',
      'params.scale: max must be greater than min',
    ]);
  });
});
