import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Experiment } from '../src/experiments/experiment.entity';
import { type ScoringConfig } from '../src/domain/configs';
import { Project } from '../src/projects/project.entity';
import { Run } from '../src/runs/run.entity';
import { type RunConfig } from '../src/domain/configs';
import { RunStatus } from '../src/domain/statuses';
import { Score, ScoreSource } from '../src/scoring/score.entity';
import { RESCORE_BATCH_SIZE, ScoringService } from '../src/scoring/scoring.service';
import { createTestApp, type TestApp } from './support/app';
import { bearer, insertExperiment, insertRun, registerUser, type RunSeed, type TestUser } from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';

const JUDGE_PRICE = { input: 1, output: 2 }; // USD per million tokens

const BASIC_SCORERS: ScoringConfig = {
  scorers: [
    { name: 'exact', type: 'exact_match', params: { expected_field: 'expected', trim: true } },
    { name: 'mentions_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
    { name: 'close', type: 'similarity', params: { expected_field: 'expected' } },
    { name: 'short', type: 'length', params: { max: 5, unit: 'words' } },
    { name: 'fast', type: 'latency', params: { max_ms: 1000 } },
    { name: 'cheap', type: 'cost', params: { max_usd: 0.01 } },
  ],
  weights: { exact: 2 },
};

describe('scoring (e2e)', () => {
  let t: TestApp;
  let fake: FakeLlmServer;
  let scoring: ScoringService;
  let user: TestUser;

  beforeAll(async () => {
    fake = await startFakeLlmServer();
    t = await createTestApp({
      env: {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-test',
        MODEL_PRICES: JSON.stringify({ 'openai:judge-1': JUDGE_PRICE }),
      },
    });
    scoring = t.app.get(ScoringService);
    user = await registerUser(t.http);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  /** A running experiment (shared DB factory); what the tests need of it. */
  async function seedExperiment(
    scoringConfig: ScoringConfig | null,
    projectId = user.projectId,
  ): Promise<{ id: string; projectId: string }> {
    const id = await insertExperiment(t.dataSource, projectId, {
      name: `exp-${randomUUID()}`,
      config: { prompts: ['{{ticket}}'], models: ['mock:echo'], inputs: [] },
      ...(scoringConfig ? { scoringConfig } : {}),
    });
    return { id, projectId };
  }

  /** A completed run (shared DB factory) with `output`; `overrides` change its state or input. */
  async function seedRun(
    experiment: { id: string; projectId: string },
    output: string | null,
    overrides: RunSeed & { input?: RunConfig['input_data'] } = {},
  ): Promise<{ id: string }> {
    const { input, ...rest } = overrides;
    const id = await insertRun(t.dataSource, experiment.id, experiment.projectId, {
      config: {
        prompt: 'Summarise {{ticket}}',
        model: 'mock:echo',
        params: {},
        input_data: input ?? { ticket: 'T', expected: 'We will refund you' },
      },
      status: RunStatus.Completed,
      startedMsAgo: 0,
      completedMsAgo: 0,
      durationMs: 250,
      tokensIn: 10,
      tokensOut: 5,
      costEstimate: 0.001,
      output,
      ...rest,
    });
    return { id };
  }

  const scoresOf = (runId: string): Promise<Score[]> =>
    t.dataSource.getRepository(Score).find({ where: { runId }, order: { createdAt: 'ASC', id: 'ASC' } });
  const errorsOf = async (runId: string) =>
    (await t.dataSource.getRepository(Run).findOneByOrFail({ id: runId })).scoringErrors;
  const byName = (scores: Score[]) => Object.fromEntries(scores.map((s) => [s.scorerName, s.value]));

  it('GET /api/scorers lists every type with its params schema and a complete example (auth required)', async () => {
    await request(t.http).get('/api/scorers').expect(401);
    const res = await request(t.http).get('/api/scorers').set(bearer(user.token)).expect(200);
    expect(res.body.items.map((i: { type: string }) => i.type).sort()).toEqual([
      'contains',
      'cost',
      'exact_match',
      'json_schema',
      'json_valid',
      'latency',
      'length',
      'llm_judge',
      'not_contains',
      'numeric_close',
      'regex',
      'similarity',
      'tool_call',
    ]);
    for (const item of res.body.items) {
      expect(Object.keys(item).sort()).toEqual(['description', 'example', 'params_schema', 'type']);
      expect(item.params_schema.type).toBe('object');
      expect(scoring.validateScoringConfig({ scorers: [item.example] }, () => null)).toEqual([]);
    }
    const docs = await request(t.http).get('/docs-json').expect(200);
    expect(docs.body.paths['/api/scorers'].get.tags).toEqual(['scoring']);
    expect(Object.keys(docs.body.components.schemas.ScorerTypeDto.properties).sort()).toEqual([
      'description',
      'example',
      'params_schema',
      'type',
    ]);
  });

  it('writes exactly one automatic score per scorer, and nothing more when called again', async () => {
    const exp = await seedExperiment(BASIC_SCORERS);
    const run = await seedRun(exp, ' We will refund you ');
    const first = await scoring.scoreRun(run.id);
    expect(first.scored).toBe(true);
    expect(first.errors).toEqual({});
    expect(first.written.map((w) => w.scorerName).sort()).toEqual([
      'cheap',
      'close',
      'exact',
      'fast',
      'mentions_refund',
      'short',
    ]);

    const scores = await scoresOf(run.id);
    expect(scores).toHaveLength(6);
    expect(scores.every((s) => s.source === ScoreSource.Auto)).toBe(true);
    expect(byName(scores)).toEqual({ exact: 1, mentions_refund: 1, close: 18 / 20, short: 1, fast: 1, cheap: 1 });
    expect(scores.find((s) => s.scorerName === 'close')?.scorerMetadata).toMatchObject({ distance: 2, max_length: 20 });
    expect(await errorsOf(run.id)).toBeNull();

    const second = await scoring.scoreRun(run.id);
    expect(second).toEqual({ scored: true, written: [], errors: {} });
    expect((await scoresOf(run.id)).map((s) => s.id)).toEqual(scores.map((s) => s.id));
  });

  it('writes once when two deliveries score the same run concurrently', async () => {
    const exp = await seedExperiment(BASIC_SCORERS);
    const run = await seedRun(exp, 'refund');
    const results = await Promise.all([scoring.scoreRun(run.id), scoring.scoreRun(run.id), scoring.scoreRun(run.id)]);
    expect(results.reduce((n, r) => n + r.written.length, 0)).toBe(6);
    expect(await scoresOf(run.id)).toHaveLength(6);
  });

  it('does nothing for a run that is not completed or does not exist', async () => {
    const exp = await seedExperiment(BASIC_SCORERS);
    const failed = await seedRun(exp, null, { status: RunStatus.Failed, error: 'boom' });
    await expect(scoring.scoreRun(failed.id)).resolves.toEqual({ scored: false, written: [], errors: {} });
    await expect(scoring.scoreRun(randomUUID())).resolves.toEqual({ scored: false, written: [], errors: {} });
    expect(await scoresOf(failed.id)).toEqual([]);
  });

  it('records a throwing scorer in scoring_errors and still writes the others', async () => {
    const exp = await seedExperiment(BASIC_SCORERS);
    // Unknown cost (a model without a price) and no expected field: two scorers throw.
    const run = await seedRun(exp, 'refund please', { costEstimate: null, input: { ticket: 'T' } });
    const res = await scoring.scoreRun(run.id);
    expect(Object.keys(res.errors).sort()).toEqual(['cheap', 'close', 'exact']);
    const errors = await errorsOf(run.id);
    expect(errors).toEqual(res.errors);
    expect(errors?.cheap).toBe('the run has no known cost (model without a price)');
    expect(errors?.exact).toMatch(/expected_field "expected"/);
    expect(byName(await scoresOf(run.id))).toEqual({ mentions_refund: 1, short: 1, fast: 1 });
    const again = await scoring.scoreRun(run.id);
    expect(again.written).toEqual([]);
    expect(await scoresOf(run.id)).toHaveLength(3);
  });

  it('rescores completed runs in batches: automatic scores replaced, human scores kept', async () => {
    const exp = await seedExperiment({
      scorers: [{ name: 'mentions_refund', type: 'contains', params: { value: 'refund' } }],
    });
    const run = await seedRun(exp, 'Refund issued');
    const pending = await seedRun(exp, null, { status: RunStatus.Pending, completedMsAgo: null });
    await scoring.scoreRun(run.id);
    const human = await scoring.addHumanScore(
      run.id,
      'mentions_refund',
      0.5,
      { note: 'meh' },
      { kind: 'user', userId: user.id, email: user.email },
    );
    // More completed runs than one batch holds, inserted set-based.
    const extra = RESCORE_BATCH_SIZE + 5;
    await t.dataSource.query(
      `INSERT INTO runs (experiment_id, project_id, config, config_hash, status, output, duration_ms, cost_estimate)
       SELECT $1, $2, '{"prompt": "p", "model": "mock:echo", "input_data": {}}'::jsonb, lpad(g::text, 64, '0'), 'completed', 'refund ' || g, 10, 0
         FROM generate_series(1, $3) g`,
      [exp.id, exp.projectId, extra],
    );
    const before = await scoresOf(run.id);
    expect(before.map((s) => [s.scorerName, s.source, s.value])).toEqual([
      ['mentions_refund', 'auto', 0],
      ['mentions_refund', 'human', 0.5],
    ]);

    await t.dataSource.getRepository(Experiment).update(exp.id, {
      scoringConfig: {
        scorers: [
          { name: 'mentions_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
          { name: 'cheap', type: 'cost', params: { max_usd: 0.0001 } },
        ],
      },
    });
    await expect(scoring.rescoreExperiment(exp.id)).resolves.toEqual({ runs_rescored: extra + 1 });

    const after = await scoresOf(run.id);
    expect(after.find((s) => s.source === ScoreSource.Human)).toMatchObject({ id: human.id, value: 0.5 });
    const autos = after.filter((s) => s.source === ScoreSource.Auto);
    expect(autos.map((s) => [s.scorerName, s.value]).sort()).toEqual([
      ['cheap', 0],
      ['mentions_refund', 1],
    ]);
    expect(autos.some((s) => before.some((b) => b.id === s.id))).toBe(false);
    const [{ n, runs }] = await t.dataSource.query(
      `SELECT count(*)::int AS n, count(DISTINCT run_id)::int AS runs FROM scores s JOIN runs r ON r.id = s.run_id
        WHERE r.experiment_id = $1 AND s.source = 'auto'`,
      [exp.id],
    );
    expect({ n, runs }).toEqual({ n: 2 * (extra + 1), runs: extra + 1 });
    expect(await scoresOf(pending.id)).toEqual([]);
    await expect(scoring.rescoreExperiment(randomUUID())).rejects.toThrow('Experiment not found');
  });

  it('clears scoring_errors of a run whose scorers succeed on rescore', async () => {
    const exp = await seedExperiment({ scorers: [{ name: 'cheap', type: 'cost', params: { max_usd: 1 } }] });
    const run = await seedRun(exp, 'x', { costEstimate: null });
    await scoring.scoreRun(run.id);
    expect(await errorsOf(run.id)).toEqual({ cheap: expect.any(String) });
    await t.dataSource.getRepository(Run).update(run.id, { costEstimate: 0.5 });
    await scoring.rescoreExperiment(exp.id);
    expect(await errorsOf(run.id)).toBeNull();
    expect(byName(await scoresOf(run.id))).toEqual({ cheap: 1 });
  });

  it('stores human scores with who gave them, and refuses bad ones', async () => {
    const exp = await seedExperiment(null);
    const run = await seedRun(exp, 'x');
    const keyId = randomUUID();
    const score = await scoring.addHumanScore(
      run.id,
      'quality',
      0.8,
      { scored_by: 'forged', note: 'ok' },
      { kind: 'api_key', apiKeyId: keyId, projectId: exp.projectId },
    );
    expect(score).toMatchObject({ runId: run.id, scorerName: 'quality', value: 0.8, source: ScoreSource.Human });
    expect(score.scorerMetadata).toEqual({ note: 'ok', scored_by: { kind: 'api_key', id: keyId } });
    expect(score.createdAt).toBeInstanceOf(Date);
    const second = await scoring.addHumanScore(run.id, 'quality', 0.9, null, {
      kind: 'user',
      userId: user.id,
      email: user.email,
    });
    expect(second.scorerMetadata).toEqual({ scored_by: { kind: 'user', id: user.id } });
    expect((await scoring.listScores([run.id])).map((s) => s.value)).toEqual([0.8, 0.9]);
    await expect(
      scoring.addHumanScore(randomUUID(), 'quality', 0.5, null, { kind: 'user', userId: user.id, email: user.email }),
    ).rejects.toThrow('Run not found');
    await expect(
      scoring.addHumanScore(run.id, ' ', 1.5, null, { kind: 'user', userId: user.id, email: user.email }),
    ).rejects.toMatchObject({
      messages: ['scorer_name must be a non-empty string', 'value must be a number between 0 and 1'],
    });
  });

  describe('llm_judge over HTTP', () => {
    const judgeConfig: ScoringConfig = {
      scorers: [
        {
          name: 'judge',
          type: 'llm_judge',
          params: {
            model: 'openai:judge-1',
            rubric: 'On a scale of 1 to 5, rate this answer to "{{input.ticket}}":\n{{output}}',
            params: { temperature: 0 },
          },
        },
      ],
    };

    it('sends the rendered rubric, normalises and costs the answer, and reuses it for an identical call', async () => {
      fake.setResponder(() => ({
        output: '{"score": 4, "reason": "clear and polite"}',
        usage: { input: 100, output: 10 },
      }));
      const exp = await seedExperiment(judgeConfig);
      const a = await seedRun(exp, 'Refund sent 🎉', { input: { ticket: 'Where is my refund?' } });
      await scoring.scoreRun(a.id);
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0].model).toBe('judge-1');
      expect(fake.requests[0].prompt).toBe(
        'On a scale of 1 to 5, rate this answer to "Where is my refund?":\nRefund sent 🎉',
      );
      const [score] = await scoresOf(a.id);
      expect(score.value).toBe(0.75);
      expect(score.scorerMetadata).toMatchObject({
        reason: 'clear and polite',
        judge_score: 4,
        judge_model: 'openai:judge-1',
        tokens_in: 100,
        tokens_out: 10,
        cost: (100 * JUDGE_PRICE.input + 10 * JUDGE_PRICE.output) / 1e6,
        cached: false,
      });

      // Same output and input in another run of the project: the judge is not asked again.
      const b = await seedRun(exp, 'Refund sent 🎉', { input: { ticket: 'Where is my refund?' } });
      await scoring.scoreRun(b.id);
      expect(fake.requests).toHaveLength(1);
      const [cached] = await scoresOf(b.id);
      expect(cached.value).toBe(0.75);
      expect(cached.scorerMetadata).toMatchObject({ cached: true, cost: 0, reason: 'clear and polite' });
      const [{ n }] = await t.dataSource.query('SELECT count(*)::int AS n FROM judge_cache WHERE project_id = $1', [
        exp.projectId,
      ]);
      expect(n).toBe(1);

      // Another project never sees that cache entry.
      const other = await t.dataSource.getRepository(Project).save({ name: 'other' });
      const otherExp = await seedExperiment(judgeConfig, other.id);
      await scoring.scoreRun(
        (await seedRun(otherExp, 'Refund sent 🎉', { input: { ticket: 'Where is my refund?' } })).id,
      );
      expect(fake.requests).toHaveLength(2);
    });

    it('records an unparseable answer as a scorer error, and a retry asks again', async () => {
      fake.enqueue({ output: 'It is quite good.' }, { output: 'Score: 5/5' });
      const exp = await seedExperiment(judgeConfig);
      const run = await seedRun(exp, 'a fresh output', { input: { ticket: 'q' } });
      const first = await scoring.scoreRun(run.id);
      expect(first.errors.judge).toMatch(/judge answer has no score/);
      expect(await scoresOf(run.id)).toEqual([]);
      const second = await scoring.scoreRun(run.id);
      expect(second.errors).toEqual({});
      expect(byName(await scoresOf(run.id))).toEqual({ judge: 1 });
      expect(await errorsOf(run.id)).toBeNull();
      expect(fake.requests).toHaveLength(2);
    });

    it('records a provider failure as a scorer error without failing the run', async () => {
      fake.setResponder(() => ({ status: 401 }));
      const exp = await seedExperiment(judgeConfig);
      const run = await seedRun(exp, 'another output', { input: { ticket: 'q' } });
      const res = await scoring.scoreRun(run.id);
      expect(res.errors.judge).toEqual(expect.any(String));
      const stored = await t.dataSource.getRepository(Run).findOneByOrFail({ id: run.id });
      expect(stored.status).toBe(RunStatus.Completed);
      expect(stored.scoringErrors).toEqual({ judge: res.errors.judge });
    });
  });
});
