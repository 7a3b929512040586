import { firstValueFrom, type Observable, ReplaySubject } from 'rxjs';
import { takeWhile, toArray } from 'rxjs/operators';
import { type RunEvent } from '../src/events/run-event';
import { type RunConfig } from '../src/domain/configs';
import { createTestDatabase, type TestDatabase } from './support/database';
import { createExecutionContext, type ExecutionContext } from './support/execution-context';
import {
  experimentStatus,
  insertExperiment,
  insertProject,
  insertRuns,
  runIn,
  runRow,
  stageRows,
} from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';
import { startRedis, type TestRedis } from './support/redis';
import { waitFor } from './support/wait';
import { startAll } from './support/start-all';

jest.setTimeout(60_000);

/** `openai:test-model` costs 1 $ per million input tokens and 2 $ per million output tokens. */
const PRICES = JSON.stringify({ 'openai:test-model': { input: 1, output: 2 } });
const OPENAI = 'openai:test-model';

type Mode = 'inline' | 'bull';

describe.each<Mode>(['inline', 'bull'])('execution (%s mode)', (mode) => {
  let database: TestDatabase;
  let redis: TestRedis | null = null;
  let fake: FakeLlmServer;
  /** Where runs are dispatched from (the API side). */
  let api: ExecutionContext;
  /** Where they execute: the same context inline, a worker context with Bull. */
  let worker: ExecutionContext;
  let projectId: string;

  beforeAll(async () => {
    await startAll([createTestDatabase().then((d) => (database = d)), startFakeLlmServer().then((f) => (fake = f))]);
    const env: Record<string, string> = {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test',
      MODEL_PRICES: PRICES,
      PROVIDER_MAX_ATTEMPTS: '3',
    };
    if (mode === 'bull') {
      redis = await startRedis();
      env.REDIS_URL = redis.url;
      api = await createExecutionContext({ database, env });
      worker = await createExecutionContext({ database, env, role: 'worker' });
    } else {
      api = await createExecutionContext({ database, env });
      worker = api;
    }
    projectId = await insertProject(api.dataSource);
  });

  afterAll(async () => {
    if (worker !== api) await worker?.close();
    await api?.close();
    await fake?.close();
    await redis?.stop();
    await database?.drop();
  });

  beforeEach(() => fake.reset());

  /** Inserts pending runs in a new experiment and dispatches them, as the API does after its commit. */
  async function launch(configs: RunConfig[], project = projectId): Promise<{ experimentId: string; ids: string[] }> {
    const experimentId = await insertExperiment(api.dataSource, project);
    const ids = await insertRuns(api.dataSource, experimentId, project, configs);
    await api.dispatcher.dispatch(ids);
    return { experimentId, ids };
  }

  async function runOne(config: RunConfig, project = projectId) {
    const { ids } = await launch([config], project);
    return runIn(api.dataSource, ids[0], ['completed', 'failed', 'cancelled']);
  }

  /** Records an experiment's events as the API side sees them (in Bull mode: the worker's, through Redis). */
  async function record(experimentId: string): Promise<{ events: ReplaySubject<RunEvent>; stop: () => void }> {
    await api.events.ensureSubscribed();
    const events = new ReplaySubject<RunEvent>();
    const sub = api.events.stream(experimentId).subscribe(events);
    return { events, stop: () => sub.unsubscribe() };
  }

  const until = (events: Observable<RunEvent>, last: (e: RunEvent) => boolean): Promise<RunEvent[]> =>
    firstValueFrom(
      events.pipe(
        takeWhile((e) => !last(e), true),
        toArray(),
      ),
    );

  it('reports the queue in health', async () => {
    await expect(api.dispatcher.health()).resolves.toBe(mode === 'bull' ? 'up' : 'inline');
  });

  it('executes an ad-hoc mock:echo run: output, tokens, cost, timings, stage result, scores, events, experiment completed', async () => {
    const experimentId = await insertExperiment(api.dataSource, projectId, {
      scoringConfig: { scorers: [{ name: 'has_refund', type: 'contains', params: { value: 'refund' } }] },
    });
    const { events, stop } = await record(experimentId);
    const [id] = await insertRuns(api.dataSource, experimentId, projectId, [
      {
        prompt: 'Summarise {{ ticket }} please',
        model: 'mock:echo',
        params: { temperature: 0 },
        input_data: { ticket: 'the refund ticket' },
      },
    ]);
    await api.dispatcher.dispatch([id]);

    const run = await runIn(api.dataSource, id, ['completed', 'failed']);
    expect(run).toMatchObject({
      status: 'completed',
      output: 'Summarise the refund ticket please',
      tokens_in: 5,
      tokens_out: 5,
      cache_hit: false,
      error: null,
      attempt: 0,
    });
    expect(Number(run.cost_estimate)).toBe(0);
    expect(run.duration_ms).toEqual(expect.any(Number));
    expect(run.completed_at!.getTime()).toBeGreaterThanOrEqual(run.started_at!.getTime());
    expect(run.lease_expires_at).toBeNull();
    expect(await stageRows(api.dataSource, id)).toEqual([
      expect.objectContaining({
        stage_name: 'main',
        stage_index: 0,
        prompt: 'Summarise the refund ticket please',
        output: 'Summarise the refund ticket please',
        model: 'mock:echo',
        tokens_in: 5,
        tokens_out: 5,
        error: null,
      }),
    ]);

    // Scores land after completion; the experiment completes after its last run is scored.
    const seen = await until(events, (e) => e.type === 'experiment.status');
    stop();
    const scores = await api.dataSource.query(`SELECT scorer_name, value, source FROM scores WHERE run_id = $1`, [id]);
    expect(scores).toEqual([{ scorer_name: 'has_refund', value: 1, source: 'auto' }]);
    expect(
      seen.filter((e) => e.type !== 'experiment.progress').map((e) => [e.type, e.run_id ?? null, e.status ?? null]),
    ).toEqual([
      ['run.status', id, 'running'],
      ['run.status', id, 'completed'],
      ['run.scored', id, null],
      ['experiment.status', null, 'completed'],
    ]);
    expect(seen.find((e) => e.type === 'run.scored')).toMatchObject({ scores: { has_refund: 1 } });
    expect(await experimentStatus(api.dataSource, experimentId)).toBe('completed');
  });

  it('calls openai: over real HTTP with the rendered prompt; tokens from usage, cost from the price table', async () => {
    fake.setResponder(() => ({ output: 'A short summary.', usage: { input: 11, output: 4 } }));
    const run = await runOne({
      prompt: 'Summarise: {{text}}',
      model: OPENAI,
      params: { temperature: 0.2, max_tokens: 64 },
      input_data: { text: 'a long text' },
    });

    expect(run).toMatchObject({ status: 'completed', output: 'A short summary.', tokens_in: 11, tokens_out: 4 });
    expect(Number(run.cost_estimate)).toBeCloseTo(11e-6 + 8e-6, 12);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      path: '/v1/chat/completions',
      model: 'test-model',
      prompt: 'Summarise: a long text',
    });
    expect(fake.requests[0].body).toMatchObject({ temperature: 0.2, max_tokens: 64 });
    expect(fake.requests[0].headers.authorization).toBe('Bearer sk-test');
    const [stage] = await stageRows(api.dataSource, run.id);
    expect(Number(stage.cost)).toBeCloseTo(19e-6, 12);
  });

  it('retries rate limits and succeeds', async () => {
    fake.enqueue({ status: 429, headers: { 'retry-after-ms': '20' } }, { status: 429 });
    const run = await runOne({ prompt: 'hello {{who}}', model: OPENAI, input_data: { who: 'world' } });
    expect(run.status).toBe('completed');
    expect(run.output).toBe('echo: hello world');
    expect(fake.requests.map((r) => r.prompt)).toEqual(['hello world', 'hello world', 'hello world']);
    expect(await stageRows(api.dataSource, run.id)).toHaveLength(1);
  });

  it('reports provider time: a stage lasts its last attempt (no retry backoff), the run the sum of its stages, with queue_ms and attempts', async () => {
    const backoffMs = 400;
    fake.enqueue({ status: 429, headers: { 'retry-after-ms': String(backoffMs) } });
    fake.setResponder(() => ({ output: 'slow answer', delayMs: 60 }));
    const run = await runOne({
      prompt: 'unused',
      model: OPENAI,
      input_data: { q: 'why' },
      stages: [
        { name: 'ask', prompt: 'Answer {{q}}' },
        { name: 'echo', prompt: 'Echo {{stages.ask.output}}', model: 'mock:echo', params: { mock_latency_ms: 30 } },
      ],
    });
    expect(run.status).toBe('completed');
    expect(fake.requests).toHaveLength(2);
    const [ask, echo] = await stageRows(api.dataSource, run.id);
    const wallMs = (run.completed_at as Date).getTime() - (run.started_at as Date).getTime();
    // The answer took at least its 60 ms delay; the 400 ms retry wait before it is not counted.
    expect(ask.duration_ms).toBeGreaterThanOrEqual(59);
    expect(ask.duration_ms).toBeLessThanOrEqual(wallMs - backoffMs + 2);
    expect(echo.duration_ms).toBeGreaterThanOrEqual(29);
    expect(run.duration_ms).toBe((ask.duration_ms as number) + (echo.duration_ms as number));
    expect(run.attempts).toBe(3);
    expect(run.queue_ms).toEqual(expect.any(Number));
    expect(run.queue_ms).toBeGreaterThanOrEqual(0);

    // A cache hit makes no call: attempts 0, and the duration of the run it copies.
    const hit = await runOne(run.config);
    expect(hit).toMatchObject({ status: 'completed', cache_hit: true, attempts: 0, duration_ms: run.duration_ms });
    expect(fake.requests).toHaveLength(2);
  });

  it('counts the attempts of a failed run, the failing calls included', async () => {
    fake.enqueue({ status: 500 }, { status: 400 });
    const run = await runOne({ prompt: 'two tries', model: OPENAI });
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(2);
    expect(run.duration_ms).toBeNull();
  });

  it('fails at once with the reason on a permanent provider error', async () => {
    fake.enqueue({ status: 400 });
    const run = await runOne({ prompt: 'bad request', model: OPENAI });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/400/);
    expect(run.completed_at).not.toBeNull();
    expect(fake.requests).toHaveLength(1);
    expect(await stageRows(api.dataSource, run.id)).toEqual([
      expect.objectContaining({ stage_name: 'main', output: null, error: run.error }),
    ]);
  });

  it('passes each stage output forward; the run output is the last stage output, tokens and cost summed', async () => {
    fake.setResponder((req) => ({ output: `summary of [${req.prompt}]`, usage: { input: 10, output: 5 } }));
    const run = await runOne({
      prompt: 'unused',
      model: 'mock:echo',
      input_data: { text: 'bonjour le monde' },
      stages: [
        { name: 'translate', prompt: 'Translate: {{ text }}' },
        {
          name: 'summarise',
          prompt: 'Summarise {{stages.translate.output}}',
          model: OPENAI,
          params: { temperature: 0 },
        },
      ],
    });
    expect(run.status).toBe('completed');
    expect(fake.requests.map((r) => r.prompt)).toEqual(['Summarise Translate: bonjour le monde']);
    expect(run.output).toBe('summary of [Summarise Translate: bonjour le monde]');
    expect(run).toMatchObject({ tokens_in: 4 + 10, tokens_out: 4 + 5 });
    expect(Number(run.cost_estimate)).toBeCloseTo(10e-6 + 10e-6, 12);
    const stages = await stageRows(api.dataSource, run.id);
    expect(stages.map((s) => [s.stage_index, s.stage_name, s.model, s.output])).toEqual([
      [0, 'translate', 'mock:echo', 'Translate: bonjour le monde'],
      [1, 'summarise', OPENAI, 'summary of [Summarise Translate: bonjour le monde]'],
    ]);
  });

  it('serves an identical config from the cache without a provider call, except with cache: false, another repetition or another project', async () => {
    const config: RunConfig = {
      prompt: 'Cache me {{x}}',
      model: OPENAI,
      params: { temperature: 0 },
      input_data: { x: String(Math.random()) },
    };
    fake.setResponder(() => ({ usage: { input: 3, output: 4 } }));
    const original = await runOne(config);
    expect(original).toMatchObject({ status: 'completed', cache_hit: false });
    expect(fake.requests).toHaveLength(1);

    const hit = await runOne({ ...config });
    expect(hit).toMatchObject({
      status: 'completed',
      cache_hit: true,
      cached_from_run_id: original.id,
      output: original.output,
      tokens_in: 3,
      tokens_out: 4,
    });
    expect(Number(hit.cost_estimate)).toBe(0);
    expect(fake.requests).toHaveLength(1);
    const copied = await stageRows(api.dataSource, hit.id);
    expect(copied).toEqual([
      expect.objectContaining({
        stage_name: 'main',
        prompt: fake.requests[0].prompt,
        output: original.output,
        tokens_in: 3,
        tokens_out: 4,
      }),
    ]);
    expect(Number(copied[0].cost)).toBe(0);

    // A hit of a hit still points at the run that did the work.
    expect(await runOne({ ...config })).toMatchObject({ cache_hit: true, cached_from_run_id: original.id });

    const bypass = await runOne({ ...config, cache: false });
    expect(bypass).toMatchObject({ status: 'completed', cache_hit: false, cached_from_run_id: null });
    expect(fake.requests).toHaveLength(2);

    const repetition = await runOne({ ...config, repetition: 1 });
    expect(repetition).toMatchObject({ status: 'completed', cache_hit: false });
    expect(fake.requests).toHaveLength(3);

    const otherProject = await runOne({ ...config }, await insertProject(api.dataSource, 'other'));
    expect(otherProject).toMatchObject({ status: 'completed', cache_hit: false });
    expect(fake.requests).toHaveLength(4);

    // config_hash leaves stages out: a pipeline is not the same work as a single prompt.
    const staged = await runOne({ ...config, stages: [{ name: 'only', prompt: 'Cache me {{x}}' }] });
    expect(staged).toMatchObject({ status: 'completed', cache_hit: false });
    expect(fake.requests).toHaveLength(5);
  });

  it('fails a run with a missing template variable at once, naming it, without any provider call', async () => {
    const run = await runOne({
      prompt: 'Summarise {{ticket}} for {{audience}}',
      model: OPENAI,
      input_data: { audience: 'managers' },
    });
    expect(run.status).toBe('failed');
    expect(run.error).toContain('"ticket"');
    expect(run.error).not.toContain('"audience"');
    expect(fake.requests).toHaveLength(0);
    expect(await stageRows(api.dataSource, run.id)).toHaveLength(0);
  });

  it('stops a run cancelled while running at the next stage boundary and writes nothing', async () => {
    const { ids } = await launch([
      {
        prompt: '',
        model: 'mock:echo',
        stages: [
          { name: 'slow', prompt: 'first', params: { mock_latency_ms: 1000 } },
          { name: 'next', prompt: 'then {{stages.slow.output}}', model: OPENAI },
        ],
      },
    ]);
    await runIn(api.dataSource, ids[0], ['running']);
    await api.dataSource.query(`UPDATE runs SET status = 'cancelled', completed_at = now() WHERE id = $1`, [ids[0]]);
    await waitFor(() => worker.executor!.inFlight === 0, { what: 'the execution to stop' });

    expect((await runRow(api.dataSource, ids[0])).status).toBe('cancelled');
    expect(fake.requests).toHaveLength(0);
    expect(await stageRows(api.dataSource, ids[0])).toHaveLength(0);
  });

  it('gives a run whose provider retries ran out back to the queue, and the next delivery completes it', async () => {
    const experimentId = await insertExperiment(api.dataSource, projectId);
    const { events, stop } = await record(experimentId);
    // PROVIDER_MAX_ATTEMPTS=3: the first delivery sees three server errors, the second succeeds.
    const [id] = await insertRuns(api.dataSource, experimentId, projectId, [
      { prompt: 'flaky', model: 'mock:echo', params: { mock_error: 'server_error', mock_error_times: 3 } },
    ]);
    await api.dispatcher.dispatch([id]);
    const run = await runIn(api.dataSource, id, ['completed', 'failed']);
    expect(run).toMatchObject({ status: 'completed', output: 'flaky' });
    const statuses = (await until(events, (e) => e.type === 'experiment.status'))
      .filter((e) => e.type === 'run.status')
      .map((e) => e.status);
    stop();
    expect(statuses).toEqual(['running', 'pending', 'running', 'completed']);
  });

  it('fails a run with the reason once every delivery hit retryable errors', async () => {
    const run = await runOne({ prompt: 'always down', model: 'mock:echo', params: { mock_error: 'server_error' } });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/injected server_error/);
    expect(run.error).toMatch(/gave up after 3 attempts/);
  });
});
