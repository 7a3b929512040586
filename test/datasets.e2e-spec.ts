import canonicalize from 'canonicalize';
import { createHash } from 'crypto';
import { request as httpRequest } from 'node:http';
import { type AddressInfo } from 'node:net';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { addMember, bearer, createApiKey, registerUser, type TestUser } from './support/factories';

jest.setTimeout(120_000);

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const NDJSON = 'application/x-ndjson';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const keyOf = (item: Record<string, unknown>): string =>
  typeof item.id === 'string' ? item.id : sha256(canonicalize(item)!);
/** The contract's content hash, computed independently of the server. */
const contentHash = (items: Record<string, unknown>[]): string =>
  sha256(items.map((item) => `${canonicalize([keyOf(item), item])}\n`).join(''));
const ndjson = (items: unknown[]): string => items.map((i) => JSON.stringify(i)).join('\n') + '\n';

describe('datasets (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let http: TestApp['http'];

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    http = t.http;
    owner = await registerUser(http);
  });
  afterAll(async () => {
    await t.close();
  });

  const createDataset = async (user: TestUser, projectId = user.projectId) => {
    const name = `ds-${Math.random().toString(36).slice(2)}`;
    const res = await request(http)
      .post(`/api/projects/${projectId}/datasets`)
      .set(bearer(user.token))
      .send({ name, description: 'tickets' });
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string };
  };
  const upload = (token: string, id: string, body: string | Buffer, type = NDJSON, mode?: string) =>
    request(http)
      .post(`/api/datasets/${id}/versions${mode ? `?mode=${mode}` : ''}`)
      .set(bearer(token))
      .set('Content-Type', type)
      .send(body);
  const allItems = async (id: string, version: number) =>
    (await request(http).get(`/api/datasets/${id}/versions/${version}/items?limit=500`).set(bearer(owner.token))).body;
  const itemRows = async (datasetId: string): Promise<number> => {
    const rows: { n: number }[] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM dataset_items i JOIN dataset_versions v ON v.id = i.version_id WHERE v.dataset_id = $1`,
      [datasetId],
    );
    return rows[0].n;
  };

  it('creates, lists and shows datasets; names are unique per project', async () => {
    const created = await request(http)
      .post(`/api/projects/${owner.projectId}/datasets`)
      .set(bearer(owner.token))
      .send({ name: 'tickets', description: 'support tickets' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      project_id: owner.projectId,
      name: 'tickets',
      description: 'support tickets',
      latest_version: null,
      created_at: expect.any(String),
    });
    const again = await request(http)
      .post(`/api/projects/${owner.projectId}/datasets`)
      .set(bearer(owner.token))
      .send({ name: 'tickets' });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('tickets');

    const bad = await request(http)
      .post(`/api/projects/${owner.projectId}/datasets`)
      .set(bearer(owner.token))
      .send({ name: ' ', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(
      expect.arrayContaining(['name must not be blank', 'property extra should not exist']),
    );

    const list = await request(http).get(`/api/projects/${owner.projectId}/datasets?limit=1`).set(bearer(owner.token));
    expect(list.status).toBe(200);
    expect(list.body.total).toBeGreaterThanOrEqual(1);
    expect(list.body.items).toHaveLength(1);

    const detail = await request(http).get(`/api/datasets/${created.body.id}`).set(bearer(owner.token));
    expect(detail.status).toBe(200);
    expect(detail.body).toEqual({ ...created.body, versions: [] });

    expect((await request(http).get(`/api/datasets/not-a-uuid`).set(bearer(owner.token))).status).toBe(400);
    const missing = await request(http).get(`/api/datasets/${UNKNOWN_ID}`).set(bearer(owner.token));
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('Dataset not found');
  });

  it('uploads NDJSON: keys from string ids or content, items in upload order, the contract content hash', async () => {
    const ds = await createDataset(owner);
    const items = [
      { id: 't-3', ticket: 'third in id order, first uploaded' },
      { ticket: 'no id: keyed by content', n: 1.5, nested: { b: 2, a: [1, 'x'] } },
      { id: 7, ticket: 'a numeric id is data, not a key' },
      { id: 't-1', ticket: 'Ünïcödé and "quotes" and \\ backslash\ttab' },
    ];
    const body = '\ufeff' + items.map((i) => JSON.stringify(i)).join('\r\n') + '\r\n\r\n   \r\n';
    const res = await upload(owner.token, ds.id, body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      dataset_id: ds.id,
      version: 1,
      item_count: 4,
      content_hash: contentHash(items),
      created_at: expect.any(String),
    });
    const page = await allItems(ds.id, 1);
    expect(page.total).toBe(4);
    expect(page.items).toEqual(items.map((data) => ({ item_key: keyOf(data), data })));
    expect(page.items[1].item_key).toMatch(/^[0-9a-f]{64}$/);

    const second = await request(http)
      .get(`/api/datasets/${ds.id}/versions/1/items?limit=2&offset=1`)
      .set(bearer(owner.token));
    expect(second.body).toEqual({ items: page.items.slice(1, 3), total: 4 });
    const past = await request(http).get(`/api/datasets/${ds.id}/versions/1/items?offset=10`).set(bearer(owner.token));
    expect(past.body).toEqual({ items: [], total: 4 });
    expect(
      (await request(http).get(`/api/datasets/${ds.id}/versions/1/items?limit=501`).set(bearer(owner.token))).status,
    ).toBe(400);
    const noVersion = await request(http).get(`/api/datasets/${ds.id}/versions/2/items`).set(bearer(owner.token));
    expect(noVersion.status).toBe(404);
    expect(noVersion.body.message).toBe('Dataset version not found');
    expect((await request(http).get(`/api/datasets/${ds.id}/versions/x/items`).set(bearer(owner.token))).status).toBe(
      400,
    );

    const detail = await request(http).get(`/api/datasets/${ds.id}`).set(bearer(owner.token));
    expect(detail.body.latest_version).toBe(1);
    expect(detail.body.versions).toEqual([
      { version: 1, item_count: 4, content_hash: contentHash(items), created_at: res.body.created_at },
    ]);
  });

  it('uploads RFC 4180 CSV (BOM, CRLF, quoted commas, quotes and newlines) with the same hash as equal NDJSON', async () => {
    const ds = await createDataset(owner);
    const csv =
      '\ufeffid,ticket,expected\r\n' +
      'a-1,"Refund, please",refund\r\n' +
      'a-2,"He said ""hi""\r\nthen left\nagain",greeting\r\n' +
      '\r\n' +
      'a-3,,empty ticket\r\n' +
      'a-4,last line without a line end,x';
    const res = await upload(owner.token, ds.id, csv, 'text/csv; charset=utf-8');
    expect(res.status).toBe(201);
    const expected = [
      { id: 'a-1', ticket: 'Refund, please', expected: 'refund' },
      { id: 'a-2', ticket: 'He said "hi"\r\nthen left\nagain', expected: 'greeting' },
      { id: 'a-3', ticket: '', expected: 'empty ticket' },
      { id: 'a-4', ticket: 'last line without a line end', expected: 'x' },
    ];
    expect(res.body.item_count).toBe(4);
    expect(res.body.content_hash).toBe(contentHash(expected));
    expect((await allItems(ds.id, 1)).items.map((i: { data: unknown }) => i.data)).toEqual(expected);

    // The same items as NDJSON and as JSON give the same content hash.
    const other = await createDataset(owner);
    expect((await upload(owner.token, other.id, ndjson(expected))).body.content_hash).toBe(res.body.content_hash);
    const json = await upload(owner.token, other.id, JSON.stringify({ items: expected }), 'application/json');
    expect(json.status).toBe(201);
    expect(json.body).toMatchObject({ version: 2, content_hash: res.body.content_hash });
  });

  it('names the line of a bad CSV row (counting quoted newlines) and of a bad header, creating nothing', async () => {
    const ds = await createDataset(owner);
    const cases: [string, RegExp][] = [
      ['id,text\r\n1,"two\r\nlines"\r\n2,a,extra\r\n3,b\r\n', /^line 4: malformed CSV/],
      ['id,text\n1,a\n\n2,"never closed\n3,b\n', /^line 4: malformed CSV/],
      ['id,id\n1,2\n', /^line 1: the header row names "id" twice/],
      ['id,\n1,2\n', /^line 1: the header row has an empty field name/],
      ['id,text\n1,a\n2,b\n1,c\n', /^line 4: item_key "1" appears twice/],
    ];
    for (const [csv, message] of cases) {
      const res = await upload(owner.token, ds.id, csv, 'text/csv');
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual([expect.stringMatching(message)]);
    }
    expect((await request(http).get(`/api/datasets/${ds.id}`).set(bearer(owner.token))).body).toMatchObject({
      latest_version: null,
      versions: [],
    });
  });

  it('refuses a malformed line in the middle with its line number and leaves no version and no items', async () => {
    const ds = await createDataset(owner);
    expect((await upload(owner.token, ds.id, ndjson([{ id: 'keep', v: 1 }]))).status).toBe(201);
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: `k${i}`, text: `item ${i}` }));
    lines[12_344] = '{"id": "k12344", "text": broken';
    const res = await upload(owner.token, ds.id, lines.join('\n'));
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual([expect.stringMatching(/^line 12345: not valid JSON/)]);
    expect(res.body.error).toBe('Bad Request');

    const detail = await request(http).get(`/api/datasets/${ds.id}`).set(bearer(owner.token));
    expect(detail.body.latest_version).toBe(1);
    expect(detail.body.versions).toHaveLength(1);
    expect(await itemRows(ds.id)).toBe(1);

    const more: [string, RegExp][] = [
      ['{"id":"a"}\n[1,2]\n', /^line 2: an item must be a JSON object/],
      ['{"id":"a"}\n\n{"id":"a"}\n', /^line 3: item_key "a" appears twice in the version/],
      ['{"id":""}\n', /^line 1: "id" must not be empty/],
      ['{"t":"nul \\u0000"}\n', /^line 1: text contains a NUL character/],
      ['{"t":1}\n{"t":1}\n', /^line 2: item_key "[0-9a-f]{64}" appears twice/],
      ['\n\n', /the upload holds no items/],
    ];
    for (const [body, message] of more) {
      const bad = await upload(owner.token, ds.id, body);
      expect(bad.status).toBe(400);
      expect(bad.body.message).toEqual([expect.stringMatching(message)]);
    }
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"id":"a"}\n{"t":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\n'),
    ]);
    const utf8 = await upload(owner.token, ds.id, invalidUtf8);
    expect(utf8.body.message).toEqual(['line 2: not valid UTF-8']);
    expect(await itemRows(ds.id)).toBe(1);
  });

  it('refuses a malformed JSON body or envelope, naming the item', async () => {
    const ds = await createDataset(owner);
    const cases: [string, RegExp][] = [
      ['{"items": [{"id": "a"}, 3]}', /^items\[1\]: an item must be a JSON object/],
      ['{"items": [{"id": "a"}, {"id": "a"}]}', /^items\[1\]: item_key "a" appears twice/],
      ['{"rows": []}', /unknown field "rows"/],
      ['{"items": {"id": "a"}}', /"items" must be an array/],
      ['[{"id": "a"}]', /a JSON body must be/],
      ['{"items": [{"id": "a"}', /the body is not valid JSON/],
      ['{"items": []}', /the upload holds no items/],
    ];
    for (const [body, message] of cases) {
      const res = await upload(owner.token, ds.id, body, 'application/json');
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual([expect.stringMatching(message)]);
    }
    expect(await itemRows(ds.id)).toBe(0);
    const type = await upload(owner.token, ds.id, 'a\tb', 'text/tab-separated-values');
    expect(type.status).toBe(415);
    expect(type.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    expect((await upload(owner.token, ds.id, 'id\n1\n', 'text/csv; charset=latin1')).status).toBe(415);
    expect((await upload(owner.token, ds.id, '{"id":"a"}', NDJSON, 'merge')).status).toBe(400);
  });

  it('appends to the previous version; versions are immutable and hash like a replace of the same items', async () => {
    const ds = await createDataset(owner);
    const first = [{ id: 'a', q: 1 }, { q: 2 }];
    const added = [{ id: 'c', q: 3 }];
    expect((await upload(owner.token, ds.id, ndjson(first))).body.version).toBe(1);
    const appended = await upload(owner.token, ds.id, ndjson(added), NDJSON, 'append');
    expect(appended.status).toBe(201);
    expect(appended.body).toMatchObject({ version: 2, item_count: 3, content_hash: contentHash([...first, ...added]) });
    expect((await allItems(ds.id, 2)).items.map((i: { data: unknown }) => i.data)).toEqual([...first, ...added]);
    expect((await allItems(ds.id, 1)).items.map((i: { data: unknown }) => i.data)).toEqual(first);

    const dup = await upload(owner.token, ds.id, ndjson([{ id: 'a', q: 9 }]), NDJSON, 'append');
    expect(dup.status).toBe(400);
    expect(dup.body.message).toEqual([expect.stringMatching(/^line 1: item_key "a" appears twice/)]);

    const replaced = await upload(owner.token, ds.id, ndjson([...first, ...added]), NDJSON, 'replace');
    expect(replaced.body).toMatchObject({ version: 3, content_hash: appended.body.content_hash });

    // append on a dataset without versions is a plain first version
    const fresh = await createDataset(owner);
    expect((await upload(owner.token, fresh.id, ndjson(added), NDJSON, 'append')).body).toMatchObject({
      version: 1,
      item_count: 1,
    });
  });

  it('takes a 5 MB NDJSON upload streamed through the real HTTP stack, while other routes keep the 1 MiB limit', async () => {
    {
      const port = (t.app.getHttpServer().address() as AddressInfo).port;
      const ds = await createDataset(owner);
      const line = (i: number) => JSON.stringify({ id: `row-${i}`, ticket: `ticket ${i} `.padEnd(200, 'x') }) + '\n';
      const count = 22_000;
      const result = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: `/api/datasets/${ds.id}/versions`,
            headers: { ...bearer(owner.token), 'Content-Type': NDJSON }, // chunked: no Content-Length
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        let i = 0;
        let sent = 0;
        const pump = () => {
          while (i < count) {
            const chunk = Array.from({ length: 500 }, () => line(i++)).join('');
            sent += chunk.length;
            if (!req.write(chunk)) return req.once('drain', pump);
          }
          expect(sent).toBeGreaterThan(5_000_000);
          req.end();
        };
        pump();
      });
      expect(result.status).toBe(201);
      expect(result.body).toMatchObject({ version: 1, item_count: count });
      const last = await request(http)
        .get(`/api/datasets/${ds.id}/versions/1/items?offset=${count - 1}`)
        .set(bearer(owner.token));
      expect(last.body.items).toEqual([{ item_key: `row-${count - 1}`, data: JSON.parse(line(count - 1)) }]);

      const big = JSON.stringify({ name: 'x'.repeat(1_100_000) });
      const elsewhere = await request(http)
        .post(`/api/projects/${owner.projectId}/datasets`)
        .set(bearer(owner.token))
        .set('Content-Type', 'application/json')
        .send(big);
      expect(elsewhere.status).toBe(413);
    }
  });

  it('lets viewers read, editors create and upload, owners delete; other projects see 404', async () => {
    const editor = await registerUser(http);
    const viewer = await registerUser(http);
    const stranger = await registerUser(http);
    await addMember(http, owner, owner.projectId, editor, 'editor');
    await addMember(http, owner, owner.projectId, viewer, 'viewer');
    const key = await createApiKey(http, owner, owner.projectId);

    const ds = await createDataset(editor, owner.projectId);
    expect((await upload(editor.token, ds.id, ndjson([{ id: 'x' }]))).status).toBe(201);
    expect((await upload(key.key, ds.id, ndjson([{ id: 'y' }]))).status).toBe(201);
    for (const path of [`/api/datasets/${ds.id}`, `/api/datasets/${ds.id}/versions/1/items`]) {
      expect((await request(http).get(path).set(bearer(viewer.token))).status).toBe(200);
      const foreign = await request(http).get(path).set(bearer(stranger.token));
      expect(foreign.status).toBe(404);
      expect(foreign.body.message).toBe('Dataset not found');
    }
    expect(
      (await request(http).get(`/api/projects/${owner.projectId}/datasets`).set(bearer(viewer.token))).status,
    ).toBe(200);
    const foreignList = await request(http)
      .get(`/api/projects/${owner.projectId}/datasets`)
      .set(bearer(stranger.token));
    expect(foreignList.status).toBe(404);
    expect(
      (
        await request(http)
          .post(`/api/projects/${owner.projectId}/datasets`)
          .set(bearer(viewer.token))
          .send({ name: 'v' })
      ).status,
    ).toBe(403);
    expect(
      (
        await request(http)
          .post(`/api/projects/${owner.projectId}/datasets`)
          .set(bearer(stranger.token))
          .send({ name: 's' })
      ).status,
    ).toBe(404);
    expect((await upload(viewer.token, ds.id, ndjson([{ id: 'z' }]))).status).toBe(403);
    expect((await upload(stranger.token, ds.id, ndjson([{ id: 'z' }]))).status).toBe(404);
    expect((await request(http).delete(`/api/datasets/${ds.id}`).set(bearer(editor.token))).status).toBe(403);
    expect((await request(http).delete(`/api/datasets/${ds.id}`).set(bearer(key.key))).status).toBe(403);
    expect((await request(http).delete(`/api/datasets/${ds.id}`).set(bearer(stranger.token))).status).toBe(404);
    expect((await request(http).delete(`/api/datasets/${ds.id}`).set(bearer(owner.token))).status).toBe(204);
    expect((await request(http).get(`/api/datasets/${ds.id}`).set(bearer(owner.token))).status).toBe(404);
    expect(await itemRows(ds.id)).toBe(0);
    expect((await request(http).get(`/api/datasets/${ds.id}`)).status).toBe(401);
  });
});

// Its own app: passport strategies are process-wide, so two apps must not overlap in one suite.
describe('dataset limits (e2e)', () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await createTestApp({ env: { DATASET_UPLOAD_MAX_BYTES: '4096', DATASET_MAX_ITEMS: '3' } });
  });
  afterAll(async () => {
    await small.close();
  });

  it('enforces the configured byte and item limits of a version (413 / 400) and creates nothing', async () => {
    const owner = await registerUser(small.http);
    const created = await request(small.http)
      .post(`/api/projects/${owner.projectId}/datasets`)
      .set(bearer(owner.token))
      .send({ name: 'limited' });
    const ds = created.body as { id: string };
    {
      const tooMany = await request(small.http)
        .post(`/api/datasets/${ds.id}/versions`)
        .set(bearer(owner.token))
        .set('Content-Type', NDJSON)
        .send(ndjson([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]));
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.message).toEqual(['line 4: a version holds at most 3 items']);

      const declared = await request(small.http)
        .post(`/api/datasets/${ds.id}/versions`)
        .set(bearer(owner.token))
        .set('Content-Type', NDJSON)
        .send(ndjson([{ a: 'x'.repeat(5000) }]));
      expect(declared.status).toBe(413);
      expect(declared.body).toEqual({
        statusCode: 413,
        message: 'Upload exceeds the 4096 bytes limit of a dataset version',
        error: 'Payload Too Large',
      });
      const rows: { n: number }[] = await small.dataSource.query(`SELECT count(*)::int AS n FROM dataset_items`);
      expect(rows[0].n).toBe(0);

      const ok = await request(small.http)
        .post(`/api/datasets/${ds.id}/versions`)
        .set(bearer(owner.token))
        .set('Content-Type', NDJSON)
        .send(ndjson([{ a: 1 }, { a: 2 }]));
      expect(ok.status).toBe(201);
      const appendOver = await request(small.http)
        .post(`/api/datasets/${ds.id}/versions?mode=append`)
        .set(bearer(owner.token))
        .set('Content-Type', NDJSON)
        .send(ndjson([{ a: 3 }, { a: 4 }]));
      expect(appendOver.body.message).toEqual(['line 2: a version holds at most 3 items']);
    }
  });
});
