import { createHash } from 'crypto';
import request from 'supertest';
import { type RunEvent } from '../src/events/run-event';
import { RunEventsService } from '../src/events/run-events.service';
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

  it('stores mock_tool_calls on the stage result, scores them with tool_call, and exports them', async () => {
    const calls = [{ name: 'refund', arguments: { order_id: 'A-17', amount: 20 } }];
    const { id, runs } = await runExperiment(
      {
        prompts: [chatPrompt],
        models: ['mock:echo'],
        params: { tools: [refundTool], mock_tool_calls: calls },
        inputs: [{ ticket: 'refund A-17' }],
      },
      {
        scorers: [
          { name: 'called_refund', type: 'tool_call', params: { name: 'refund', arguments: { order_id: 'A-17' } } },
          {
            name: 'exact_other',
            type: 'tool_call',
            params: { name: 'refund', arguments: { order_id: 'B' }, match: 'exact' },
          },
        ],
      },
    );
    const [run] = runs;
    expect(run.stage_results).toEqual([
      expect.objectContaining({
        finish_reason: 'tool_calls',
        tool_calls: [{ id: 'call_0', name: 'refund', arguments: { order_id: 'A-17', amount: 20 } }],
      }),
    ]);
    const scores = Object.fromEntries(
      run.scores.map((sc: { scorer_name: string; value: number }) => [sc.scorer_name, sc.value]),
    );
    expect(scores).toEqual({ called_refund: 1, exact_other: 0 });
    const jsonl = await request(t.http)
      .get(`/api/experiments/${id}/export?format=jsonl`)
      .set(bearer(user.token))
      .buffer(true);
    expect(JSON.parse(jsonl.text.trim())).toMatchObject({
      prompt: chatPrompt,
      params: { mock_tool_calls: calls, tools: [refundTool] },
      finish_reason: 'tool_calls',
      tool_calls: [{ id: 'call_0', name: 'refund', arguments: { order_id: 'A-17', amount: 20 } }],
    });
    const csv = await request(t.http)
      .get(`/api/experiments/${id}/export?format=csv`)
      .set(bearer(user.token))
      .buffer(true);
    const [header, row] = csv.text.trim().split('\r\n');
    expect(header.split(',')).toContain('tool_calls');
    expect(row).toContain('"[{""id"":""call_0"",""name"":""refund""');
    expect(row).toContain('"{""messages"":[{""role"":""system""');
  });

  it("passes a stage's tool calls to the next stage as JSON ({{stages.<name>.tool_calls}})", async () => {
    const { runs } = await runExperiment({
      prompts: ['unused'],
      models: ['mock:echo'],
      stages: [
        {
          name: 'pick',
          prompt: 'Pick a tool for {{ticket}}',
          params: { mock_tool_calls: [{ name: 'lookup', arguments: { q: 1 } }] },
        },
        {
          name: 'act',
          prompt: { messages: [system, { role: 'user', content: 'Run: {{stages.pick.tool_calls}}' }] },
        },
      ],
      inputs: [{ ticket: 't' }],
    });
    const [run] = runs;
    expect(run.status).toBe('completed');
    expect(run.stage_results.map((r: any) => [r.stage_name, r.finish_reason])).toEqual([
      ['pick', 'tool_calls'],
      ['act', 'stop'],
    ]);
    expect(run.stage_results[1].tool_calls).toBeNull();
    expect(run.stage_results[1].output).toBe(
      `${system.content}\n\nRun: ${JSON.stringify([{ id: 'call_0', name: 'lookup', arguments: { q: 1 } }])}`,
    );
  });

  it('maps system messages and tools for Anthropic and reads tool_use blocks back as tool calls', async () => {
    fake.enqueue({ toolCalls: [{ id: 'toolu_1', name: 'refund', arguments: { order_id: 'A-1' } }] });
    const { runs } = await runExperiment(
      {
        prompts: [chatPrompt],
        models: ['anthropic:claude-3-5-haiku'],
        params: { tools: [refundTool], tool_choice: 'required', max_tokens: 64 },
        inputs: [{ ticket: 'refund A-1' }],
      },
      { scorers: [{ name: 'called', type: 'tool_call', params: { name: 'refund' } }] },
    );
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].api).toBe('anthropic');
    expect(fake.requests[0].body).toMatchObject({
      model: 'claude-3-5-haiku',
      system: system.content,
      messages: [{ role: 'user', content: 'Ticket: refund A-1' }],
      tools: [{ name: 'refund', description: 'Refund an order', input_schema: refundTool.function.parameters }],
      tool_choice: { type: 'any' },
      max_tokens: 64,
    });
    expect(runs[0].stage_results[0]).toMatchObject({
      finish_reason: 'tool_calls',
      tool_calls: [{ id: 'toolu_1', name: 'refund', arguments: { order_id: 'A-1' } }],
    });
    expect(runs[0].scores.map((sc: any) => [sc.scorer_name, sc.value])).toEqual([['called', 1]]);
  });

  it('shows the judge the rendered messages the run sent', async () => {
    fake.setResponder((req) => (req.model === 'judge' ? { output: '{"score": 1, "reason": "fine"}' } : undefined));
    const { runs } = await runExperiment(
      { prompts: [chatPrompt], models: ['mock:echo'], inputs: [{ ticket: 'late parcel' }] },
      {
        scorers: [
          {
            name: 'judge',
            type: 'llm_judge',
            params: {
              // Judge models resolve in the project: here the instance Anthropic provider.
              model: 'anthropic:judge',
              rubric: 'Conversation:\n{{run.prompt}}\nAnswer: {{output}}\nJSON: {{run.messages}}',
              scale: { min: 0, max: 1 },
            },
          },
        ],
      },
    );
    expect(runs[0].scores.map((sc: any) => [sc.scorer_name, sc.value])).toEqual([['judge', 1]]);
    const judged = fake.requests.find((r) => r.model === 'judge');
    const rendered = [system, { role: 'user', content: 'Ticket: late parcel' }];
    expect(judged?.prompt).toBe(
      `Conversation:\nsystem: ${system.content}\n\nuser: Ticket: late parcel\n` +
        `Answer: ${system.content}\n\nTicket: late parcel\nJSON: ${JSON.stringify(rendered)}`,
    );
  });

  it("announces each stage result's finish_reason and tool_calls in the run's completed event", async () => {
    const created = await createExperiment({
      prompts: ['Refund {{ticket}}'],
      models: ['mock:echo'],
      params: { mock_tool_calls: [{ name: 'refund', arguments: { id: 1 } }] },
      inputs: [{ ticket: 'x' }],
    });
    const events: RunEvent[] = [];
    const sub = t.app
      .get(RunEventsService)
      .stream(created.body.id)
      .subscribe((e) => events.push(e));
    try {
      await request(t.http).post(`/api/experiments/${created.body.id}/launch`).set(bearer(user.token)).send({});
      const done = await waitFor(() => events.find((e) => e.type === 'run.status' && e.status === 'completed'), {
        timeoutMs: 60_000,
        what: 'run completed event',
      });
      expect(done.stage_results).toEqual([
        {
          stage_name: 'main',
          stage_index: 0,
          finish_reason: 'tool_calls',
          tool_calls: [{ id: 'call_0', name: 'refund', arguments: { id: 1 } }],
        },
      ]);
    } finally {
      sub.unsubscribe();
    }
  });

  it('runs an ad-hoc messages prompt, keeping its shape in the config and the hash', async () => {
    const exp = await createExperiment({ prompts: ['x'], models: ['mock:echo'], inputs: [{}] });
    const config = {
      prompt: chatPrompt,
      model: 'mock:echo',
      params: { stop: ['END'] },
      input_data: { ticket: 'late' },
    };
    const res = await request(t.http)
      .post('/api/runs')
      .set(bearer(user.token))
      .send({ experiment_id: exp.body.id, config });
    expect(res.status).toBe(201);
    expect(res.body.config).toEqual(config);
    const text =
      '{"input_data":{"ticket":"late"},"model":"mock:echo","params":{"stop":["END"]},' +
      '"prompt":{"messages":[{"content":"You are a terse support agent.","role":"system"},{"content":"Ticket: {{ticket}}","role":"user"}]}}';
    expect(res.body.config_hash).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    const done = await waitFor(
      async () => {
        const detail = await request(t.http).get(`/api/runs/${res.body.id}`).set(bearer(user.token));
        return detail.body.status === 'completed' ? detail.body : null;
      },
      { timeoutMs: 60_000, what: 'ad-hoc run completed' },
    );
    expect(done.stage_results[0].output).toBe(`${system.content}\n\nTicket: late`);
  });
});
