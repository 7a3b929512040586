import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { addMember, bearer, createApiKey, registerUser, type TestUser } from './support/factories';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('prompt registry (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let http: TestApp['http'];

  beforeAll(async () => {
    t = await createTestApp();
    http = t.http;
    owner = await registerUser(http);
  });
  afterAll(async () => {
    await t.close();
  });

  const createPrompt = async (user: TestUser, name = `p-${Math.random().toString(36).slice(2)}`) => {
    const res = await request(http)
      .post(`/api/projects/${user.projectId}/prompts`)
      .set(bearer(user.token))
      .send({ name });
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string };
  };
  const addVersion = (token: string, id: string, body: Record<string, unknown>) =>
    request(http).post(`/api/prompts/${id}/versions`).set(bearer(token)).send(body);
  const moveLabel = (token: string, id: string, label: string, version: unknown) =>
    request(http).put(`/api/prompts/${id}/labels/${label}`).set(bearer(token)).send({ version });

  it('creates prompts with immutable numbered versions (string or messages) and shows labels', async () => {
    const created = await request(http)
      .post(`/api/projects/${owner.projectId}/prompts`)
      .set(bearer(owner.token))
      .send({ name: 'summarise', description: 'ticket summaries' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      project_id: owner.projectId,
      name: 'summarise',
      description: 'ticket summaries',
      latest_version: null,
      labels: {},
      created_at: expect.any(String),
    });
    const id = created.body.id as string;
    expect(
      (
        await request(http)
          .post(`/api/projects/${owner.projectId}/prompts`)
          .set(bearer(owner.token))
          .send({ name: 'summarise' })
      ).status,
    ).toBe(409);
    const badName = await request(http)
      .post(`/api/projects/${owner.projectId}/prompts`)
      .set(bearer(owner.token))
      .send({ name: 'has@at' });
    expect(badName.status).toBe(400);

    const v1 = await addVersion(owner.token, id, { template: 'Summarise: {{ticket}}', params: { temperature: 0.2 } });
    expect(v1.status).toBe(201);
    expect(v1.body).toEqual({
      prompt_id: id,
      version: 1,
      template: 'Summarise: {{ticket}}',
      params: { temperature: 0.2 },
      note: null,
      created_at: expect.any(String),
    });
    const messages = {
      messages: [
        { role: 'system', content: 'You summarise tickets.' },
        { role: 'user', content: 'Summarise: {{ticket}}' },
      ],
    };
    const v2 = await addVersion(owner.token, id, { template: messages, note: 'chat form' });
    expect(v2.body).toMatchObject({ version: 2, template: messages, params: {}, note: 'chat form' });

    const got = await request(http).get(`/api/prompts/${id}/versions/1`).set(bearer(owner.token));
    expect(got.body).toEqual(v1.body);
    const missing = await request(http).get(`/api/prompts/${id}/versions/3`).set(bearer(owner.token));
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('Prompt version not found');

    const invalid = await addVersion(owner.token, id, {
      template: {
        messages: [
          { role: 'robot', content: 1 },
          { role: 'tool', content: 'x' },
        ],
        extra: true,
      },
      params: [1],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.message).toEqual(
      expect.arrayContaining([
        'template.extra is not allowed (a prompt is a string or {"messages": [...]})',
        'template.messages[0].role must be one of system, user, assistant, tool',
        'template.messages[0].content must be a string',
        'template.messages[1].tool_call_id is required for a tool message',
      ]),
    );
    expect((await addVersion(owner.token, id, { template: '  ' })).status).toBe(400);
    expect((await addVersion(owner.token, id, {})).status).toBe(400);
    expect((await addVersion(owner.token, id, { template: 'x', version: 9 })).status).toBe(400);

    const moved = await moveLabel(owner.token, id, 'production', 1);
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ label: 'production', version: 1, previous_version: null });
    expect((await moveLabel(owner.token, id, 'production', 2)).body).toEqual({
      label: 'production',
      version: 2,
      previous_version: 1,
    });
    await moveLabel(owner.token, id, 'staging', 1);
    const detail = await request(http).get(`/api/prompts/${id}`).set(bearer(owner.token));
    expect(detail.body).toMatchObject({ latest_version: 2, labels: { production: 2, staging: 1 } });
    const list = await request(http).get(`/api/projects/${owner.projectId}/prompts`).set(bearer(owner.token));
    expect(list.body.items.find((p: { id: string }) => p.id === id)).toEqual(detail.body);

    for (const [label, version] of [
      ['Production', 1],
      ['latest', 1],
      ['123', 1],
      ['x'.repeat(41), 1],
      ['ok', 3],
      ['ok', 0],
      ['ok', 'one'],
    ] as const) {
      const res = await moveLabel(owner.token, id, label, version);
      expect(res.status).toBe(400);
    }
    expect((await request(http).get(`/api/prompts/${UNKNOWN_ID}`).set(bearer(owner.token))).body.message).toBe(
      'Prompt not found',
    );
  });

  it('never loses a label move under concurrent requests: the answers chain from the first to the last', async () => {
    const prompt = await createPrompt(owner);
    const versions = 12;
    for (let i = 0; i < versions; i++) await addVersion(owner.token, prompt.id, { template: `v${i + 1}: {{x}}` });
    await moveLabel(owner.token, prompt.id, 'production', 1);

    const targets = Array.from({ length: 24 }, (_, i) => 1 + ((i * 5) % versions));
    const answers = await Promise.all(targets.map((v) => moveLabel(owner.token, prompt.id, 'production', v)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Each move reports the one committed just before it, so the previous versions are the initial
    // one plus every target except the last applied (a read-then-write would report one twice).
    const final = (await request(http).get(`/api/prompts/${prompt.id}`).set(bearer(owner.token))).body.labels
      .production as number;
    const previous = answers.map((a) => a.body.previous_version as number).sort((a, b) => a - b);
    const expected = [1, ...targets];
    expected.splice(expected.lastIndexOf(final), 1);
    expect(previous).toEqual(expected.sort((a, b) => a - b));
  });

  it('keeps versions numbered without gaps under concurrent creation', async () => {
    const prompt = await createPrompt(owner);
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => addVersion(owner.token, prompt.id, { template: `t${i}` })),
    );
    expect(created.map((r) => r.body.version as number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('lets viewers read and editors write; other projects see 404', async () => {
    const editor = await registerUser(http);
    const viewer = await registerUser(http);
    const stranger = await registerUser(http);
    await addMember(http, owner, owner.projectId, editor, 'editor');
    await addMember(http, owner, owner.projectId, viewer, 'viewer');
    const key = await createApiKey(http, owner, owner.projectId);

    const created = await request(http)
      .post(`/api/projects/${owner.projectId}/prompts`)
      .set(bearer(editor.token))
      .send({ name: `by-editor-${Date.now()}` });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await addVersion(key.key, id, { template: 'x' })).status).toBe(201);
    expect((await moveLabel(editor.token, id, 'production', 1)).status).toBe(200);

    expect((await request(http).get(`/api/prompts/${id}`).set(bearer(viewer.token))).status).toBe(200);
    expect((await request(http).get(`/api/prompts/${id}/versions/1`).set(bearer(viewer.token))).status).toBe(200);
    expect((await addVersion(viewer.token, id, { template: 'x' })).status).toBe(403);
    expect((await moveLabel(viewer.token, id, 'production', 1)).status).toBe(403);
    expect(
      (
        await request(http)
          .post(`/api/projects/${owner.projectId}/prompts`)
          .set(bearer(viewer.token))
          .send({ name: 'v' })
      ).status,
    ).toBe(403);

    for (const res of [
      await request(http).get(`/api/prompts/${id}`).set(bearer(stranger.token)),
      await request(http).get(`/api/prompts/${id}/versions/1`).set(bearer(stranger.token)),
      await addVersion(stranger.token, id, { template: 'x' }),
      await moveLabel(stranger.token, id, 'production', 1),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('Prompt not found');
    }
    expect(
      (await request(http).get(`/api/projects/${owner.projectId}/prompts`).set(bearer(stranger.token))).status,
    ).toBe(404);
    expect((await request(http).get(`/api/prompts/not-a-uuid`).set(bearer(owner.token))).status).toBe(400);
  });
});
