import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { addMember, bearer, registerUser, type TestUser } from './support/factories';
import { waitFor } from './support/wait';
import { iterateGrid } from '../src/experiments/grid-expansion';
import { type ExperimentConfig } from '../src/domain/configs';

jest.setTimeout(120_000);

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const NDJSON = 'application/x-ndjson';
const ndjson = (items: unknown[]): string => items.map((i) => JSON.stringify(i)).join('\n') + '\n';

interface RunBody {
  id: string;
  config: { prompt: unknown; params: Record<string, unknown>; input_data: Record<string, unknown>; repetition: number };
  dataset_item_key: string | null;
  prompt_version: { prompt_id: string; name: string; version: number } | null;
}

/** RFC 4180 records (CRLF-separated, quoted fields), enough for the export's header and cells. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  return records;
}

describe('experiments over datasets and registry prompts (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let editor: TestUser;
  let stranger: TestUser;
  const http = () => request(t.http);

  beforeAll(async () => {
    t = await createTestApp();
    [owner, editor, stranger] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    await addMember(t.http, owner, owner.projectId, editor, 'editor');
  });
  afterAll(async () => {
    await t?.close();
  });

  const createDataset = async (user: TestUser, items?: unknown[]): Promise<string> => {
    const res = await http()
      .post(`/api/projects/${user.projectId}/datasets`)
      .set(bearer(user.token))
      .send({ name: `ds-${Math.random().toString(36).slice(2)}` })
      .expect(201);
    if (items) await upload(user, res.body.id, items);
    return res.body.id as string;
  };
  const upload = async (user: TestUser, datasetId: string, items: unknown[]) =>
    (
      await http()
        .post(`/api/datasets/${datasetId}/versions`)
        .set(bearer(user.token))
        .set('Content-Type', NDJSON)
        .send(ndjson(items))
        .expect(201)
    ).body as { version: number };
  const createExperiment = (user: TestUser, config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    http()
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({ name: `exp-${Math.random().toString(36).slice(2)}`, config, ...extra });
  const runsOf = async (experimentId: string): Promise<RunBody[]> =>
    (
      await http()
        .get('/api/runs')
        .query({ experiment_id: experimentId, limit: 500 })
        .set(bearer(owner.token))
        .expect(200)
    ).body.items;
  const launchAndWait = async (experimentId: string) => {
    const launched = await http().post(`/api/experiments/${experimentId}/launch`).set(bearer(owner.token)).send({});
    expect(launched.status).toBe(202);
    await waitFor(
      async () =>
        (await http().get(`/api/experiments/${experimentId}`).set(bearer(owner.token))).body.status === 'completed',
      { what: `experiment ${experimentId} completed`, timeoutMs: 60_000 },
    );
    return launched.body as { runs_planned: number; runs_created: number };
  };

  const TICKETS = [
    { id: 't1', ticket: 'refund please', expected: 'refund' },
    { id: 't2', ticket: 'where is my parcel', expected: 'parcel' },
    { id: 't3', ticket: 'cancel my order', expected: 'cancel' },
  ];

  describe('config.dataset', () => {
    it('takes exactly one of inputs and dataset, naming both', async () => {
      const id = await createDataset(owner, TICKETS);
      const both = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        inputs: [{ ticket: 'x' }],
        dataset: { id },
      });
      expect(both.status).toBe(400);
      expect(both.body.message).toEqual(
        expect.arrayContaining([expect.stringMatching(/config\.inputs.*config\.dataset.*exactly one/)]),
      );
      const neither = await createExperiment(owner, { prompts: ['S: {{ticket}}'], models: ['mock:echo'] });
      expect(neither.status).toBe(400);
      expect(neither.body.message.join(' ')).toMatch(/config\.inputs.*config\.dataset/);
      const malformed = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        dataset: { id: 'nope', version: 0, extra: 1 },
      });
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toEqual(
        expect.arrayContaining([
          'config.dataset.id must be a UUID',
          expect.stringContaining('config.dataset.version must be a positive integer'),
          expect.stringContaining('config.dataset.extra is not allowed'),
        ]),
      );
      const count = await t.dataSource.query(`SELECT count(*)::int AS n FROM experiments`);
      expect(count[0].n).toBe(0);
    });

    it('answers 404 for a dataset of another project or none, 400 without a version or for an unknown one', async () => {
      const foreign = await createDataset(stranger, TICKETS);
      const config = (dataset: Record<string, unknown>) => ({
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        dataset,
      });
      const res = await createExperiment(owner, config({ id: foreign }));
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('Dataset not found');
      expect((await createExperiment(owner, config({ id: UNKNOWN_ID }))).status).toBe(404);
      const empty = await createDataset(owner);
      const none = await createExperiment(owner, config({ id: empty }));
      expect(none.status).toBe(400);
      expect(none.body.message.join(' ')).toContain('has no version yet');
      const own = await createDataset(owner, TICKETS);
      const unknownVersion = await createExperiment(owner, config({ id: own, version: 7 }));
      expect(unknownVersion.status).toBe(400);
      expect(unknownVersion.body.message.join(' ')).toContain('has no version 7');
    });

    it('pins the latest version at creation; a later upload changes nothing; PATCH pins again', async () => {
      const id = await createDataset(owner, TICKETS);
      const created = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        dataset: { id },
      });
      expect(created.status).toBe(201);
      expect(created.body.config.dataset).toEqual({ id, version: 1 });
      await upload(owner, id, [{ id: 'n1', ticket: 'new data' }]);
      const read = await http().get(`/api/experiments/${created.body.id}`).set(bearer(owner.token)).expect(200);
      expect(read.body.config.dataset).toEqual({ id, version: 1 });
      const runs = await (async () => {
        await launchAndWait(created.body.id);
        return runsOf(created.body.id);
      })();
      expect(runs.map((r) => r.dataset_item_key).sort()).toEqual(['t1', 't2', 't3']);

      const draft = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        dataset: { id, version: 1 },
      });
      expect(draft.body.config.dataset).toEqual({ id, version: 1 });
      const patched = await http()
        .patch(`/api/experiments/${draft.body.id}`)
        .set(bearer(editor.token))
        .send({ config: { prompts: ['S: {{ticket}}'], models: ['mock:echo'], dataset: { id } } });
      expect(patched.status).toBe(200);
      expect(patched.body.config.dataset).toEqual({ id, version: 2 });
      const badPatch = await http()
        .patch(`/api/experiments/${draft.body.id}`)
        .set(bearer(editor.token))
        .send({ config: { prompts: ['S: {{ticket}}'], models: ['mock:echo'], dataset: { id: UNKNOWN_ID } } });
      expect(badPatch.status).toBe(404);
    });

    it("checks every {{var}} against every item in SQL, naming the offending items' keys", async () => {
      const id = await createDataset(owner, [
        { id: 'a', ticket: 'x', lang: 'en' },
        { id: 'b', lang: 'en' },
        { id: 'c', ticket: 'z' },
        { id: 'd', ticket: null, lang: 'fr' },
      ]);
      const res = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        stages: [{ name: 'translate', prompt: 'In {{lang}}: {{ticket}}' }],
        dataset: { id },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual([
        'config.dataset item "b" lacks {{ticket}} (used by config.prompts[0], config.stages[0].prompt)',
        'config.dataset item "c" lacks {{lang}} (used by config.stages[0].prompt)',
      ]);
    });
  });

  describe('launch, runs, export and compare over a dataset', () => {
    let datasetId: string;
    let experimentId: string;

    beforeAll(async () => {
      datasetId = await createDataset(owner, TICKETS);
      const created = await createExperiment(
        owner,
        {
          prompts: ['Summarise: {{ticket}}', 'TL;DR: {{ticket}}'],
          models: ['mock:echo'],
          dataset: { id: datasetId },
          repetitions: 2,
        },
        { scoring_config: { scorers: [{ name: 'has_refund', type: 'contains', params: { value: 'refund' } }] } },
      );
      expect(created.status).toBe(201);
      experimentId = created.body.id;
    });

    it('dry run counts from the item count; max_runs applies', async () => {
      const dry = await http()
        .post(`/api/experiments/${experimentId}/launch`)
        .set(bearer(owner.token))
        .send({ dry_run: true });
      expect(dry.status).toBe(202);
      expect(dry.body).toMatchObject({ runs_planned: 12, runs_created: 0, estimated_cost: 0 });
      const over = await http()
        .post(`/api/experiments/${experimentId}/launch`)
        .set(bearer(owner.token))
        .send({ max_runs: 11 });
      expect(over.status).toBe(400);
      expect(over.body.message.join(' ')).toContain('12 runs');
    });

    it('launches one run per item × cell with dataset_item_key and the item as input_data', async () => {
      const launched = await launchAndWait(experimentId);
      expect(launched).toMatchObject({ runs_planned: 12, runs_created: 12 });
      const runs = await runsOf(experimentId);
      expect(runs).toHaveLength(12);
      const cells = runs
        .map((r) => `${JSON.stringify(r.config.prompt)}|${r.dataset_item_key}|${r.config.repetition}`)
        .sort();
      expect(new Set(cells).size).toBe(12);
      for (const run of runs) {
        const item = TICKETS.find((i) => i.id === run.dataset_item_key)!;
        expect(run.config.input_data).toEqual(item);
        expect(run.prompt_version).toBeNull();
      }
      const detail = await http().get(`/api/runs/${runs[0].id}`).set(bearer(owner.token)).expect(200);
      expect(detail.body.dataset_item_key).toBe(runs[0].dataset_item_key);
      const stored = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM runs WHERE experiment_id = $1 AND dataset_item_key = 't2'`,
        [experimentId],
      );
      expect(stored[0].n).toBe(4);
    });

    it('exports dataset_item_key in CSV and JSONL', async () => {
      const csv = await http().get(`/api/experiments/${experimentId}/export`).set(bearer(owner.token)).buffer(true);
      expect(csv.status).toBe(200);
      const [header, ...rows] = parseCsv(csv.text);
      const col = header.indexOf('dataset_item_key');
      expect(col).toBeGreaterThan(header.indexOf('model'));
      expect(col).toBeLessThan(header.indexOf('input.ticket'));
      expect(rows.map((r) => r[col]).sort()).toEqual([
        't1',
        't1',
        't1',
        't1',
        't2',
        't2',
        't2',
        't2',
        't3',
        't3',
        't3',
        't3',
      ]);
      for (const row of rows) expect(row[header.indexOf('input.id')]).toBe(row[col]);
      const jsonl = await http()
        .get(`/api/experiments/${experimentId}/export?format=jsonl`)
        .set(bearer(owner.token))
        .buffer(true);
      const lines = jsonl.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { dataset_item_key: string; input_data: { id: string } });
      expect(lines).toHaveLength(12);
      for (const line of lines) expect(line.dataset_item_key).toBe(line.input_data.id);
    });

    it('compare-to pairs on dataset_item_key across versions whose items changed, and regressions name the key', async () => {
      // Version 2: the same keys with different data, so input_data alone would pair nothing.
      await upload(
        owner,
        datasetId,
        TICKETS.map((item) => ({
          ...item,
          ticket: item.id === 't2' ? 'parcel lost' : `${item.ticket} (refund)`,
          rev: 2,
        })),
      );
      const candidate = await createExperiment(
        owner,
        { prompts: ['Summarise: {{ticket}}'], models: ['mock:echo'], dataset: { id: datasetId, version: 2 } },
        { scoring_config: { scorers: [{ name: 'has_refund', type: 'contains', params: { value: 'refund' } }] } },
      );
      const baseline = await createExperiment(
        owner,
        { prompts: ['Summarise: {{ticket}}'], models: ['mock:echo'], dataset: { id: datasetId, version: 1 } },
        { scoring_config: { scorers: [{ name: 'has_refund', type: 'contains', params: { value: 'refund' } }] } },
      );
      // has_refund on version 1: t1 = 1, t2 = 0, t3 = 0; on version 2: t1 = 1, t2 = 0, t3 = 1.
      await Promise.all([launchAndWait(candidate.body.id), launchAndWait(baseline.body.id)]);
      // Version 1's experiment as a, version 2's as b: t3 drops from b to a.
      const res = await http()
        .get(`/api/experiments/${baseline.body.id}/compare-to/${candidate.body.id}`)
        .set(bearer(owner.token));
      expect(res.status).toBe(200);
      expect(res.body.n_pairs).toBe(3);
      expect(res.body.regressions).toEqual([
        expect.objectContaining({
          item_key: 't3',
          input_data: TICKETS[2],
          value_a: 0,
          value_b: 1,
          output_a: 'Summarise: cancel my order',
          output_b: 'Summarise: cancel my order (refund)',
        }),
      ]);
    });

    it('refuses to delete a dataset while an experiment uses it (409), then deletes it', async () => {
      const used = await http().delete(`/api/datasets/${datasetId}`).set(bearer(owner.token));
      expect(used.status).toBe(409);
      expect(used.body.message).toContain('used by an experiment');
      const users: Array<{ id: string }> = await t.dataSource.query(
        `SELECT e.id FROM experiments e JOIN dataset_versions v ON v.id = e.dataset_version_id WHERE v.dataset_id = $1`,
        [datasetId],
      );
      expect(users.length).toBe(3);
      for (const { id } of users) await http().delete(`/api/experiments/${id}`).set(bearer(owner.token)).expect(204);
      await http().delete(`/api/datasets/${datasetId}`).set(bearer(owner.token)).expect(204);
    });

    it('inline inputs keep dataset_item_key null', async () => {
      const created = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        inputs: [{ ticket: 'a' }],
      });
      expect(created.status).toBe(201);
      await launchAndWait(created.body.id);
      const runs = await runsOf(created.body.id);
      expect(runs.map((r) => [r.dataset_item_key, r.prompt_version])).toEqual([[null, null]]);
    });
  });

  describe('{"ref"} prompts', () => {
    let promptId: string;
    let chatPromptName: string;
    const name = 'summarise';

    beforeAll(async () => {
      const prompt = await http()
        .post(`/api/projects/${owner.projectId}/prompts`)
        .set(bearer(owner.token))
        .send({ name })
        .expect(201);
      promptId = prompt.body.id;
      await http()
        .post(`/api/prompts/${promptId}/versions`)
        .set(bearer(owner.token))
        .send({ template: 'Reply v1: {{ticket}}', params: { max_tokens: 5, temperature: 0.2 } })
        .expect(201);
      await http()
        .post(`/api/prompts/${promptId}/versions`)
        .set(bearer(owner.token))
        .send({ template: 'Reply v2: {{ticket}}' })
        .expect(201);
      await http()
        .put(`/api/prompts/${promptId}/labels/production`)
        .set(bearer(owner.token))
        .send({ version: 1 })
        .expect(200);
      chatPromptName = 'chatty';
      const chat = await http()
        .post(`/api/projects/${owner.projectId}/prompts`)
        .set(bearer(owner.token))
        .send({ name: chatPromptName })
        .expect(201);
      await http()
        .post(`/api/prompts/${chat.body.id}/versions`)
        .set(bearer(owner.token))
        .send({ template: { messages: [{ role: 'user', content: 'Hi {{ticket}}' }] } })
        .expect(201);
    });

    it('resolves at creation, stores the resolved template, survives a label move, and runs carry prompt_version', async () => {
      const created = await createExperiment(owner, {
        prompts: [{ ref: `${name}@production` }, 'Inline: {{ticket}}'],
        models: ['mock:echo'],
        params: { temperature: 0.9 },
        inputs: [{ ticket: 'hello' }],
      });
      expect(created.status).toBe(201);
      expect(created.body.config.prompts).toEqual([
        {
          ref: `${name}@production`,
          prompt_id: promptId,
          name,
          version: 1,
          template: 'Reply v1: {{ticket}}',
          params: { max_tokens: 5, temperature: 0.2 },
        },
        'Inline: {{ticket}}',
      ]);
      await http()
        .put(`/api/prompts/${promptId}/labels/production`)
        .set(bearer(owner.token))
        .send({ version: 2 })
        .expect(200);
      const read = await http().get(`/api/experiments/${created.body.id}`).set(bearer(owner.token)).expect(200);
      expect(read.body.config.prompts[0].version).toBe(1);

      await launchAndWait(created.body.id);
      const runs = await runsOf(created.body.id);
      const fromRef = runs.find((r) => r.prompt_version !== null)!;
      expect(fromRef.config.prompt).toBe('Reply v1: {{ticket}}');
      // The version's params merge under the experiment's.
      expect(fromRef.config.params).toEqual({ max_tokens: 5, temperature: 0.9 });
      expect(fromRef.prompt_version).toEqual({ prompt_id: promptId, name, version: 1 });
      const inline = runs.find((r) => r.prompt_version === null)!;
      expect(inline.config.params).toEqual({ temperature: 0.9 });
      const detail = await http().get(`/api/runs/${fromRef.id}`).set(bearer(owner.token)).expect(200);
      expect(detail.body.prompt_version).toEqual({ prompt_id: promptId, name, version: 1 });

      // PATCH resolves again: the label now points at version 2.
      const draft = await createExperiment(owner, {
        prompts: [{ ref: `${name}@1` }],
        models: ['mock:echo'],
        inputs: [{ ticket: 'hello' }],
      });
      expect(draft.body.config.prompts[0].version).toBe(1);
      const patched = await http()
        .patch(`/api/experiments/${draft.body.id}`)
        .set(bearer(owner.token))
        .send({
          config: { prompts: [{ ref: `${name}@production` }], models: ['mock:echo'], inputs: [{ ticket: 'x' }] },
        });
      expect(patched.status).toBe(200);
      expect(patched.body.config.prompts[0]).toMatchObject({ version: 2, template: 'Reply v2: {{ticket}}' });
    });

    it('runs a chat (messages) version as messages, with its variables checked against every input', async () => {
      const created = await createExperiment(owner, {
        prompts: [{ ref: `${chatPromptName}@1` }],
        models: ['mock:echo'],
        inputs: [{ ticket: 'refund A-17' }],
      });
      expect(created.status).toBe(201);
      expect(created.body.config.prompts[0]).toMatchObject({
        version: 1,
        template: { messages: [{ role: 'user', content: 'Hi {{ticket}}' }] },
      });
      await launchAndWait(created.body.id);
      const [run] = await runsOf(created.body.id);
      expect(run.config.prompt).toEqual({ messages: [{ role: 'user', content: 'Hi {{ticket}}' }] });
      const detail = await http().get(`/api/runs/${run.id}`).set(bearer(owner.token)).expect(200);
      expect(detail.body.stage_results[0].output).toBe('Hi refund A-17');
      expect(run.prompt_version).toMatchObject({ name: chatPromptName, version: 1 });
      const lacking = await createExperiment(owner, {
        prompts: [{ ref: `${chatPromptName}@1` }],
        models: ['mock:echo'],
        inputs: [{ other: 'x' }],
      });
      expect(lacking.status).toBe(400);
      expect(lacking.body.message).toEqual([expect.stringContaining('lacks {{ticket}}')]);
    });

    it('400 for unknown names, labels and versions, variables the inputs lack, and bad entries', async () => {
      const res = await createExperiment(owner, {
        prompts: [
          { ref: 'nobody@production' },
          { ref: `${name}@staging` },
          { ref: `${name}@9` },
          { ref: 'no-at-sign' },
          { ref: `${name}@1`, extra: true },
        ],
        models: ['mock:echo'],
        inputs: [{ ticket: 'x' }],
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual([
        'config.prompts[0].ref: no prompt named "nobody" in the project',
        `config.prompts[1].ref: prompt "${name}" has no label "staging"`,
        `config.prompts[2].ref: prompt "${name}" has no version 9`,
        expect.stringContaining('config.prompts[3].ref must be'),
        expect.stringContaining('config.prompts[4].extra is not allowed'),
      ]);
      const lacking = await createExperiment(owner, {
        prompts: [{ ref: `${name}@1` }],
        models: ['mock:echo'],
        inputs: [{ other: 'x' }],
      });
      expect(lacking.status).toBe(400);
      expect(lacking.body.message).toEqual(['config.inputs[0] lacks {{ticket}} (used by config.prompts[0])']);
      // A prompt of another project is not found by name.
      const foreign = await createExperiment(stranger, {
        prompts: [{ ref: `${name}@1` }],
        models: ['mock:echo'],
        inputs: [{ ticket: 'x' }],
      });
      expect(foreign.status).toBe(400);
      expect(foreign.body.message).toEqual([`config.prompts[0].ref: no prompt named "${name}" in the project`]);
    });
  });

  // Last: its cancelled 60-second runs would hold execution slots the launches above wait for.
  describe('streamed launch', () => {
    it('streams a version larger than one item batch: every item once, in upload order', async () => {
      const items = Array.from({ length: 2_500 }, (_, i) => ({ id: `k${i}`, ticket: `ticket ${i}` }));
      const id = await createDataset(owner, items);
      const created = await createExperiment(owner, {
        prompts: ['S: {{ticket}}'],
        models: ['mock:echo'],
        params: { mock_latency_ms: 60_000 },
        dataset: { id },
      });
      const launched = await http()
        .post(`/api/experiments/${created.body.id}/launch`)
        .set(bearer(owner.token))
        .send({});
      expect(launched.status).toBe(202);
      expect(launched.body.runs_created).toBe(2_500);
      await http().post(`/api/experiments/${created.body.id}/cancel`).set(bearer(owner.token)).expect(202);
      // Run ids are time-ordered in grid order: ordering by id gives the items' upload order.
      const rows: Array<{ key: string; ticket: string }> = await t.dataSource.query(
        `SELECT dataset_item_key AS key, config->'input_data'->>'ticket' AS ticket FROM runs WHERE experiment_id = $1 ORDER BY id`,
        [created.body.id],
      );
      expect(rows.map((r) => r.key)).toEqual(items.map((i) => i.id));
      expect(rows.map((r) => r.ticket)).toEqual(items.map((i) => i.ticket));
    });

    it('stores every run as the grid plans it (config, hash, repetition, cache, item, prompt version), across insert batches', async () => {
      // 1,001 items × 2 prompts (one a registry version with params) × 2 temperatures × 2 repetitions:
      // insert batches of 5,000 runs that start and end inside item batches of 1,000.
      const items = Array.from({ length: 1_001 }, (_, i) => ({
        id: `g${i}`,
        ticket: `ticket ${i}`,
        n: i,
        tags: [i % 3],
      }));
      const id = await createDataset(owner, items);
      const prompt = await http()
        .post(`/api/projects/${owner.projectId}/prompts`)
        .set(bearer(owner.token))
        .send({ name: `grid-${Math.random().toString(36).slice(2)}` })
        .expect(201);
      await http()
        .post(`/api/prompts/${prompt.body.id}/versions`)
        .set(bearer(owner.token))
        .send({ template: 'Ref: {{ticket}}', params: { max_tokens: 7 } })
        .expect(201);
      const created = await createExperiment(owner, {
        prompts: [{ ref: `${prompt.body.name}@1` }, 'S: {{ticket}}'],
        models: ['mock:echo'],
        params: { temperature: [0, 0.5], mock_latency_ms: 60_000 },
        repetitions: 2,
        cache: false,
        dataset: { id },
      });
      expect(created.status).toBe(201);
      const launched = await http()
        .post(`/api/experiments/${created.body.id}/launch`)
        .set(bearer(owner.token))
        .send({});
      expect(launched.status).toBe(202);
      expect(launched.body.runs_created).toBe(8_008);
      await http().post(`/api/experiments/${created.body.id}/cancel`).set(bearer(owner.token)).expect(202);
      const stored: Array<Record<string, unknown>> = await t.dataSource.query(
        `SELECT config, config_hash, repetition, use_cache, dataset_item_key, prompt_version
           FROM runs WHERE experiment_id = $1 ORDER BY id`,
        [created.body.id],
      );
      const config = created.body.config as ExperimentConfig;
      // The launch reads items 1,000 at a time and expands each batch in grid order (batch-major).
      const batches = [items.slice(0, 1_000), items.slice(1_000)];
      const planned = batches
        .flatMap((batch) =>
          Array.from(
            iterateGrid(
              config,
              batch.map((data) => ({ item_key: data.id, data })),
            ),
          ),
        )
        .map((cell) => ({
          config: cell.config,
          config_hash: cell.configHash,
          repetition: cell.repetition,
          use_cache: cell.useCache,
          dataset_item_key: cell.datasetItemKey,
          prompt_version: cell.promptVersion,
        }));
      expect(stored).toHaveLength(planned.length);
      expect(stored).toEqual(planned);
    });
  });
});
