import { createHash } from 'crypto';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { bearer, registerUser, type TestUser } from './support/factories';
import { type FakeLlmServer, startFakeLlmServer } from './support/fake-llm-server';
import { waitFor } from './support/wait';

jest.setTimeout(90_000);

/**
 * Chat prompts, structured params, tool calls and the creation-time provider checks, over the real
 * stack: HTTP API, PostgreSQL, the inline executor, and the OpenAI-compatible / Anthropic fake
 * server on 127.0.0.1 (reached through a project connection `local` and ANTHROPIC_BASE_URL).
 * The instance-wide openai provider has no key and no base URL: its models are refused at creation.
 */
describe('chat prompts, tools and structured output (e2e)', () => {
  let t: TestApp;
  let fake: FakeLlmServer;
  let user: TestUser;

  const system = { role: 'system', content: 'You are a terse support agent.' };
  const chatPrompt = { messages: [system, { role: 'user', content: 'Ticket: {{ticket}}' }] };
  const refundTool = {
    type: 'function',
    function: {
      name: 'refund',
      description: 'Refund an order',
      parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
    },
  };

  beforeAll(async () => {
    fake = await startFakeLlmServer();
    t = await createTestApp({
      env: {
        ALLOW_PRIVATE_URLS: 'true',
        ANTHROPIC_BASE_URL: fake.anthropicUrl,
        ANTHROPIC_API_KEY: 'sk-ant-test',
      },
    });
    user = await registerUser(t.http);
    const conn = await request(t.http)
      .post(`/api/projects/${user.projectId}/connections`)
      .set(bearer(user.token))
      .send({ name: 'local', kind: 'openai', base_url: fake.url, api_key: 'sk-local' });
    expect(conn.status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  const createExperiment = (config: Record<string, unknown>, scoring?: Record<string, unknown>) =>
    request(t.http)
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: 'chat', project_id: user.projectId, config, ...(scoring ? { scoring_config: scoring } : {}) });

  /** Creates, launches and waits for the experiment to complete; answers its runs with details. */
  async function runExperiment(config: Record<string, unknown>, scoring?: Record<string, unknown>) {
    const created = await createExperiment(config, scoring);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const launched = await request(t.http).post(`/api/experiments/${id}/launch`).set(bearer(user.token)).send({});
    expect(launched.status).toBe(202);
    await waitFor(
      async () => {
        const res = await request(t.http).get(`/api/experiments/${id}`).set(bearer(user.token));
        return res.body.status === 'completed' ? res.body : null;
      },
      { timeoutMs: 60_000, what: `experiment ${id} completed` },
    );
    const list = await request(t.http).get(`/api/runs?experiment_id=${id}&limit=500`).set(bearer(user.token));
    const details = await Promise.all(
      (list.body.items as Array<{ id: string }>).map(
        async (r) => (await request(t.http).get(`/api/runs/${r.id}`).set(bearer(user.token))).body,
      ),
    );
    return { id, runs: details };
  }

  it('runs a system + user messages prompt on mock:echo: every message rendered, the run keeps the object', async () => {
    const { runs } = await runExperiment({
      prompts: [chatPrompt],
      models: ['mock:echo'],
      inputs: [{ ticket: 'my parcel is late' }],
    });
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run.status).toBe('completed');
    expect(run.config.prompt).toEqual(chatPrompt);
    const messages = [system, { role: 'user', content: 'Ticket: my parcel is late' }];
    expect(run.stage_results[0]).toMatchObject({
      prompt: JSON.stringify(messages),
      output: 'You are a terse support agent.\n\nTicket: my parcel is late',
    });
  });

  it('sends the exact messages, tools, tool_choice and response_format to an OpenAI-compatible server', async () => {
    const responseFormat = {
      type: 'json_schema',
      json_schema: { name: 'answer', schema: { type: 'object', properties: { ok: { type: 'boolean' } } } },
    };
    const { runs } = await runExperiment({
      prompts: [chatPrompt],
      models: ['local:gpt-fake'],
      params: {
        tools: [refundTool],
        tool_choice: 'auto',
        response_format: responseFormat,
        stop: ['END', '###'],
        seed: 7,
        temperature: 0,
      },
      inputs: [{ ticket: 'broken mug' }],
    });
    expect(runs[0].status).toBe('completed');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].body).toMatchObject({
      model: 'gpt-fake',
      messages: [system, { role: 'user', content: 'Ticket: broken mug' }],
      tools: [refundTool],
      tool_choice: 'auto',
      response_format: responseFormat,
      stop: ['END', '###'],
      seed: 7,
      temperature: 0,
    });
    expect(runs[0].config.params).toEqual({
      response_format: responseFormat,
      seed: 7,
      stop: ['END', '###'],
      temperature: 0,
      tool_choice: 'auto',
      tools: [refundTool],
    });
  });

  it('expands {"$sweep"} and plain lists, keeps literal lists, and hashes the canonical JSON of each cell', async () => {
    const created = await createExperiment({
      prompts: [chatPrompt],
      models: ['mock:echo'],
      params: { seed: { $sweep: [1, 2, 3] }, temperature: [0, 1], stop: ['x', 'y'] },
      inputs: [{ ticket: 't1' }],
    });
    expect(created.status).toBe(201);
    const dry = await request(t.http)
      .post(`/api/experiments/${created.body.id}/launch`)
      .set(bearer(user.token))
      .send({ dry_run: true });
    expect(dry.body).toMatchObject({ runs_planned: 6, runs_created: 0, estimated_cost: 0 });
    const launched = await request(t.http)
      .post(`/api/experiments/${created.body.id}/launch`)
      .set(bearer(user.token))
      .send({});
    expect(launched.body).toMatchObject({ runs_planned: 6, runs_created: 6 });
    const rows: Array<{ config: any; config_hash: string }> = await t.dataSource.query(
      'SELECT config, config_hash FROM runs WHERE experiment_id = $1 ORDER BY id',
      [created.body.id],
    );
    expect(rows.map((r) => [r.config.params.seed, r.config.params.temperature])).toEqual([
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
      [3, 0],
      [3, 1],
    ]);
    for (const row of rows) expect(row.config.params.stop).toEqual(['x', 'y']);
    // Hand-written RFC 8785 text of the first cell: keys sorted at every depth, no whitespace.
    const text =
      '{"input_data":{"ticket":"t1"},"model":"mock:echo","params":{"seed":1,"stop":["x","y"],"temperature":0},' +
      '"prompt":{"messages":[{"content":"You are a terse support agent.","role":"system"},{"content":"Ticket: {{ticket}}","role":"user"}]}}';
    expect(rows[0].config_hash).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    expect(new Set(rows.map((r) => r.config_hash)).size).toBe(6);
  });

  it('answers 400 naming the path of a malformed message, and an empty $sweep', async () => {
    const res = await createExperiment({
      prompts: [
        {
          messages: [
            { role: 'tool', content: 'x' },
            { role: 'robot', content: 1 },
          ],
        },
      ],
      models: ['mock:echo'],
      params: { temperature: { $sweep: [] } },
      inputs: [{}],
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual([
      'config.prompts[0].messages[0].tool_call_id is required for a tool message (the id of the call it answers)',
      'config.prompts[0].messages[1].role must be one of system, user, assistant, tool',
      'config.prompts[0].messages[1].content must be a string',
      'config.params.temperature.$sweep must be a non-empty list of values',
    ]);
    const missing = await createExperiment({
      prompts: [{ messages: [system, { role: 'user', content: '{{ticket}} for {{customer}}' }] }],
      models: ['mock:echo'],
      inputs: [{ ticket: 'a' }],
    });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toEqual([
      'config.inputs[0] lacks {{customer}} (used by config.prompts[0].messages[1].content)',
    ]);
  });

  it('refuses at creation a field the provider cannot honour (Anthropic seed), naming model and field', async () => {
    const res = await createExperiment({
      prompts: [chatPrompt],
      models: ['mock:echo', 'anthropic:claude-3-5-haiku'],
      params: { seed: 42 },
      inputs: [{ ticket: 'a' }],
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual([
      expect.stringMatching(/^model "anthropic:claude-3-5-haiku" cannot honour config\.params\.seed: /),
    ]);
    // The same at ad-hoc run creation, and nothing was created or sent.
    const exp = await createExperiment({ prompts: ['x'], models: ['mock:echo'], inputs: [{}] });
    const adHoc = await request(t.http)
      .post('/api/runs')
      .set(bearer(user.token))
      .send({
        experiment_id: exp.body.id,
        config: { prompt: chatPrompt, model: 'anthropic:claude-3-5-haiku', params: { seed: 1 } },
      });
    expect(adHoc.status).toBe(400);
    expect(adHoc.body.message).toEqual([
      expect.stringMatching(/^model "anthropic:claude-3-5-haiku" cannot honour config\.params\.seed: /),
    ]);
    expect(await t.dataSource.query('SELECT id FROM runs WHERE experiment_id = $1', [exp.body.id])).toEqual([]);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses at creation, PATCH and ad-hoc run creation a model whose provider has no credentials', async () => {
    const res = await createExperiment({ prompts: ['x'], models: ['openai:gpt-4o-mini'], inputs: [{}] });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual([
      expect.stringMatching(/^model "openai:gpt-4o-mini" has no usable credentials: set OPENAI_API_KEY/),
    ]);
    const exp = await createExperiment({ prompts: ['x'], models: ['mock:echo'], inputs: [{}] });
    const patched = await request(t.http)
      .patch(`/api/experiments/${exp.body.id}`)
      .set(bearer(user.token))
      .send({ config: { prompts: ['x'], models: ['mock:echo', 'openai:gpt-4o-mini'], inputs: [{}] } });
    expect(patched.status).toBe(400);
    expect(patched.body.message).toEqual([
      expect.stringMatching(/^model "openai:gpt-4o-mini" has no usable credentials/),
    ]);
    const adHoc = await request(t.http)
      .post('/api/runs')
      .set(bearer(user.token))
      .send({ experiment_id: exp.body.id, config: { prompt: 'x', model: 'openai:gpt-4o-mini' } });
    expect(adHoc.status).toBe(400);
    expect(adHoc.body.message).toEqual([
      expect.stringMatching(/^model "openai:gpt-4o-mini" has no usable credentials/),
    ]);
  });
});
