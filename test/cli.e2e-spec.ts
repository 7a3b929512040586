import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { buildCli, CLI_BUILD_DIR, type CliResult, runCli } from './support/cli';
import { bearer, createApiKey, registerUser, type TestUser } from './support/factories';
import { freePort } from './support/free-port';
import { waitFor } from './support/wait';
import { startAll } from './support/start-all';

/** Four tickets, two of which mention a refund. */
const TICKETS = ['I want a refund', 'Where is my parcel?', 'Refund me now', 'The app crashes'];

/** An experiment file as a team would keep it in its repository: YAML, a two-stage chain, two prompts. */
function chainYaml(name: string): string {
  return `# support triage
name: ${name}
config:
  prompts:
    - "Summarise: {{ticket}}"
    - "TL;DR: {{ticket}}"
  models: [mock:echo]
  inputs:
${TICKETS.map((t) => `    - ticket: "${t}"`).join('\n')}
  stages:
    - name: draft
      prompt: "Draft for {{ticket}}"
    - name: final
      prompt: "Final: {{stages.draft.output}}"
scoring_config:
  scorers:
    - name: has_refund
      type: contains
      params: { value: refund, case_sensitive: false }
`;
}

/** One configuration whose prompt decides the score: "Refund check: …" always contains "refund". */
function singleYaml(name: string, prompt: string): string {
  return JSON.stringify({
    name,
    config: { prompts: [prompt], models: ['mock:echo'], inputs: TICKETS.map((ticket) => ({ ticket })) },
    scoring_config: {
      scorers: [{ name: 'has_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } }],
    },
  });
}

describe('promptlooper CLI (e2e: the binary in a child process against the app on a loopback port)', () => {
  let t: TestApp;
  let owner: TestUser;
  let bin: string;
  let env: Record<string, string>;
  let dir: string;

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> =>
    runCli(bin, args, { ...env, ...extraEnv });
  const parseJson = (result: CliResult) => {
    try {
      return JSON.parse(result.stdout);
    } catch {
      throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
    }
  };

  beforeAll(async () => {
    await startAll([createTestApp({ listen: true }).then((a) => (t = a)), buildCli().then((b) => (bin = b))]);
    owner = await registerUser(t.http);
    const key = await createApiKey(t.http, owner, owner.projectId, 'ci');
    env = { PROMPTLOOPER_URL: (await t.app.getUrl()).replace('[::1]', '127.0.0.1'), PROMPTLOOPER_API_KEY: key.key };
    dir = mkdtempSync(join(tmpdir(), 'promptlooper-cli-'));
    // tsc over src/cli and an app start: well over Jest's default on a busy machine.
  }, 240_000);
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    rmSync(CLI_BUILD_DIR, { recursive: true, force: true });
  });

  it('runs a YAML experiment with a stage chain to its end and prints the configuration leaderboard', async () => {
    const result = await cli(['run', file('chain.yaml', chainYaml('chain'))]);
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    const [first, header, rule, ...rows] = result.stdout.trimEnd().split('\n');
    const id = /^experiment ([0-9a-f-]{36}) completed$/.exec(first)![1];
    expect(header.split(/\s{2,}/)).toEqual([
      '#',
      'key',
      'model',
      'prompt',
      'params',
      'n',
      'mean',
      'ci95',
      'pass',
      'p50 ms',
    ]);
    expect(rule).toMatch(/^-+( +-+)+$/);
    // The server's own leaderboard, row by row.
    const board = await request(t.http).get(`/api/experiments/${id}/leaderboard`).set(bearer(owner.token)).expect(200);
    expect(board.body.items).toHaveLength(2);
    expect(rows).toHaveLength(2);
    board.body.items.forEach(
      (
        item: { key: string; n: number; mean: number; ci95_low: number; ci95_high: number; pass_rate: number },
        i: number,
      ) => {
        const cells = rows[i].split(/\s{2,}/);
        expect(cells.slice(0, 3)).toEqual([String(i + 1), item.key.slice(0, 12), 'mock:echo']);
        expect(cells[4]).toBe('{}');
        expect(cells[5]).toBe(String(item.n));
        expect(cells[6]).toBe(item.mean.toFixed(3));
        expect(cells[7]).toBe(`${item.ci95_low.toFixed(3)}..${item.ci95_high.toFixed(3)}`);
        expect(cells[8]).toBe(item.pass_rate.toFixed(2));
      },
    );
    // The chain ran: the final stage saw the draft's output (mock:echo echoes its prompt).
    const runs = await request(t.http).get('/api/runs').query({ experiment_id: id }).set(bearer(owner.token));
    expect(runs.body.total).toBe(8);
    const detail = await request(t.http).get(`/api/runs/${runs.body.items[0].id}`).set(bearer(owner.token));
    expect(detail.body.stage_results.map((s: { stage_name: string }) => s.stage_name)).toEqual(['draft', 'final']);
    expect(detail.body.stage_results[1].output).toBe(`Final: ${detail.body.stage_results[0].output}`);
    // Progress went to stderr, never into the table.
    expect(result.stderr).toMatch(/experiment [0-9a-f-]{36} launched: 8 runs/);
  });

  it('--json prints one machine-readable document; a failed gate exits 1, a passed one 0', async () => {
    const path = file('single.json', singleYaml('summary', 'Summary: {{ticket}}'));
    const failed = await cli(['run', path, '--json', '--gate', 'min_mean=0.75']);
    expect(failed.code).toBe(1);
    const body = parseJson(failed);
    expect(body).toMatchObject({ status: 'completed', progress: { total: 4, completed: 4 }, comparison: null });
    // Two of the four tickets mention a refund.
    expect(body.leaderboard).toEqual([expect.objectContaining({ n: 4, mean: 0.5 })]);
    expect(body.gate).toMatchObject({
      passed: false,
      checks: [{ name: 'min_mean', passed: false, value: 0.5, threshold: 0.75 }],
    });
    const passed = await cli(['run', path, '--json', '--gate', 'min_mean=0.5', '--gate', 'min_pass_rate=0.5']);
    expect(passed.code).toBe(0);
    expect(parseJson(passed).gate).toMatchObject({
      passed: true,
      checks: [{ name: 'min_mean' }, { name: 'min_pass_rate' }],
    });
  });

  it('gates against a baseline on both sides of alpha, with the gate read from the file too', async () => {
    const baseline = await cli([
      'run',
      file('baseline.json', singleYaml('baseline', 'Refund check: {{ticket}}')),
      '--json',
    ]);
    expect(baseline.code).toBe(0);
    const baselineId = parseJson(baseline).experiment_id as string;
    // Candidate values 1,0,1,0 against 1,1,1,1: mean_diff −0.5, paired t = −√3 with 3 df, p = 0.1817… (SciPy ttest_rel).
    const candidate = file('candidate.yaml', `${chainless('candidate')}gate:\n  max_mean_drop: 0.1\n`);
    const lenient = await cli(['run', candidate, '--baseline', baselineId]);
    expect({ code: lenient.code, stderr: lenient.stderr }).toMatchObject({ code: 0 });
    expect(lenient.stdout).toMatch(/^gate: PASSED$/m);
    expect(lenient.stdout).toMatch(/ok {3}max_mean_drop: mean_diff -0\.5000 vs −0\.1, p 0\.182 vs alpha 0\.05/);
    const strict = await cli(['run', candidate, '--baseline', baselineId, '--gate', 'alpha=0.2', '--json']);
    expect(strict.code).toBe(1);
    const verdict = parseJson(strict).gate;
    expect(verdict.checks).toEqual([
      expect.objectContaining({ name: 'max_mean_drop', passed: false, value: -0.5, threshold: 0.1, alpha: 0.2 }),
    ]);
    expect(verdict.checks[0].p_value).toBeCloseTo(0.18169011381620936, 12);
    expect(verdict.comparison).toMatchObject({ n_pairs: 4, losses: 2, ties: 2 });
  });

  it('--no-wait prints the id of the launched experiment; export streams it as CSV and JSONL', async () => {
    const launched = await cli(['run', file('nowait.json', singleYaml('nowait', 'Summary: {{ticket}}')), '--no-wait']);
    expect(launched.code).toBe(0);
    const id = launched.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await waitForCompleted(id);
    const jsonl = await cli(['export', id, '--format', 'jsonl']);
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.output).sort()).toEqual(TICKETS.map((x) => `Summary: ${x}`).sort());
    const csv = await cli(['export', id]);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\r\n')[0].split(',').slice(0, 2)).toEqual(['run_id', 'status']);
  });

  it('exits 2 with the line of a YAML error, the server message, or the network failure', async () => {
    const bad = await cli(['run', file('bad.yaml', 'name: bad\nconfig:\n  prompts: ["a"\n  models: [mock:echo]\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:4:\d+: invalid YAML: /);
    expect(bad.stdout).toBe('');
    const dup = await cli(['run', file('dup.yaml', 'name: a\nname: b\n')]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/dup\.yaml:2:1: invalid YAML: Map keys must be unique/);

    const invalid = await cli(['run', file('invalid.json', singleYaml('x', 'Hi {{missing}}'))]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^promptlooper: server answered 400 Bad Request: .*missing/m);
    const unauthorised = await cli(['export', '00000000-0000-4000-8000-000000000000'], {
      PROMPTLOOPER_API_KEY: 'pl_nope',
    });
    expect(unauthorised.code).toBe(2);
    expect(unauthorised.stderr).toMatch(/server answered 401/);
    const unknown = await cli(['export', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.stderr).toMatch(/server answered 404 Not Found: Experiment not found/);
    const port = await freePort();
    const down = await cli(['export', '00000000-0000-4000-8000-000000000000'], {
      PROMPTLOOPER_URL: `http://127.0.0.1:${port}`,
    });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  describe('datasets (the real dataset routes)', () => {
    /** CSV with an id column (the item keys), a quoted comma and a quoted newline. */
    const CSV = 'id,ticket\r\nt1,I want a refund\r\nt2,"Where, is my parcel?"\r\nt3,"Refund me\nnow"\r\n';
    const CSV_ITEMS = [
      { item_key: 't1', data: { id: 't1', ticket: 'I want a refund' } },
      { item_key: 't2', data: { id: 't2', ticket: 'Where, is my parcel?' } },
      { item_key: 't3', data: { id: 't3', ticket: 'Refund me\nnow' } },
    ];
    const items = async (id: string, version: number) =>
      (await request(t.http).get(`/api/datasets/${id}/versions/${version}/items`).set(bearer(owner.token)).expect(200))
        .body as { items: Array<{ item_key: string; data: unknown }>; total: number };

    it('datasets push creates the dataset, then uploads each push as its next version (CSV, JSONL, --json)', async () => {
      const first = await cli(['datasets', 'push', 'cli-tickets', file('tickets.csv', CSV)]);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
      const [, id, hash] = /^dataset ([0-9a-f-]{36}) version 1: 3 items \(([0-9a-f]{64})\)\n$/.exec(first.stdout)!;
      const detail = await request(t.http).get(`/api/datasets/${id}`).set(bearer(owner.token)).expect(200);
      expect(detail.body).toMatchObject({ name: 'cli-tickets', project_id: owner.projectId });
      expect(detail.body.versions).toEqual([
        expect.objectContaining({ version: 1, item_count: 3, content_hash: hash }),
      ]);
      const v1 = await items(id, 1);
      expect(v1.items.map(({ item_key, data }) => ({ item_key, data }))).toEqual(CSV_ITEMS);

      // The name exists now (409 on create): the CLI finds it and adds version 2, streamed as NDJSON.
      const jsonl = file('more.jsonl', '{"id": "t4", "ticket": "The app crashes"}\n\n{"ticket": "no id"}\n');
      const second = await cli(['datasets', 'push', 'cli-tickets', jsonl, '--json', '--project', owner.projectId]);
      expect(second.code).toBe(0);
      const version = parseJson(second);
      expect(version).toMatchObject({ dataset_id: id, version: 2, item_count: 2 });
      expect(version.content_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(version.content_hash).not.toBe(hash);
      const v2 = await items(id, 2);
      expect(v2.items.map((i) => i.data)).toEqual([{ id: 't4', ticket: 'The app crashes' }, { ticket: 'no id' }]);
      expect(v2.items[0].item_key).toBe('t4');
      // Version 1 is untouched.
      expect((await items(id, 1)).total).toBe(3);
    });

    it('datasets push exits 2 with the server message for a malformed file and creates no version', async () => {
      const bad = await cli(['datasets', 'push', 'cli-bad', file('bad.jsonl', '{"ticket": "ok"}\nnot json\n')]);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(/^promptlooper: server answered 400 Bad Request: .*line 2/m);
      const list = await request(t.http)
        .get(`/api/projects/${owner.projectId}/datasets?limit=500`)
        .set(bearer(owner.token))
        .expect(200);
      const created = (list.body.items as Array<{ id: string; name: string }>).find((d) => d.name === 'cli-bad');
      // The empty dataset exists (created before the upload), with no version.
      const detail = await request(t.http).get(`/api/datasets/${created!.id}`).set(bearer(owner.token)).expect(200);
      expect(detail.body.versions).toEqual([]);

      const unknownType = await cli(['datasets', 'push', 'x', file('items.txt', 'a')]);
      expect(unknownType.code).toBe(2);
      expect(unknownType.stderr).toMatch(/items\.txt: expected a \.csv, \.jsonl, \.ndjson or \.json file/);
      const missing = await cli(['datasets', 'push', 'x', join(dir, 'nowhere.csv')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/cannot read .*nowhere\.csv: ENOENT/);
    });

    it('run FILE with config.dataset: ./file uploads it (relative to FILE) and runs the experiment on that version', async () => {
      file('triage-items.csv', CSV);
      const yaml = `name: dataset-run
config:
  prompts: ["Triage: {{ticket}}"]
  models: [mock:echo]
  dataset: ./triage-items.csv
scoring_config:
  scorers:
    - name: has_refund
      type: contains
      params: { value: refund, case_sensitive: false }
`;
      // Run from another directory: the path is relative to the experiment file, not the working directory.
      const result = await runCli(bin, ['run', file('dataset-run.yaml', yaml), '--json'], env, tmpdir());
      expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
      const out = parseJson(result);
      const experimentId = out.experiment_id as string;
      expect(out).toMatchObject({ status: 'completed', progress: { completed: 3 } });
      expect(out.leaderboard).toHaveLength(1);
      expect(out.leaderboard[0].n).toBe(3);

      const list = await request(t.http)
        .get(`/api/projects/${owner.projectId}/datasets?limit=500`)
        .set(bearer(owner.token))
        .expect(200);
      const dataset = (list.body.items as Array<{ id: string; name: string }>).find((d) => d.name === 'triage-items');
      expect(dataset).toBeDefined();
      const experiment = await request(t.http)
        .get(`/api/experiments/${experimentId}`)
        .set(bearer(owner.token))
        .expect(200);
      expect(experiment.body.status).toBe('completed');
      expect(experiment.body.config.dataset).toEqual({ id: dataset!.id, version: 1 });
      const runs = await request(t.http)
        .get(`/api/runs?experiment_id=${experimentId}&limit=100`)
        .set(bearer(owner.token))
        .expect(200);
      expect(
        (runs.body.items as Array<{ dataset_item_key: string; output: string; status: string }>)
          .map((r) => [r.dataset_item_key, r.status])
          .sort(),
      ).toEqual([
        ['t1', 'completed'],
        ['t2', 'completed'],
        ['t3', 'completed'],
      ]);
      const detail = await request(t.http)
        .get(`/api/runs/${runs.body.items[0].id}`)
        .set(bearer(owner.token))
        .expect(200);
      const item = CSV_ITEMS.find((i) => i.item_key === detail.body.dataset_item_key)!;
      expect(detail.body.stage_results.map((s: { output: string }) => s.output)).toEqual([
        `Triage: ${item.data.ticket}`,
      ]);
      expect(detail.body.config.input_data).toEqual(item.data);

      // A second run of the same file uploads the file again as the next version and pins that one.
      const again = await runCli(bin, ['run', join(dir, 'dataset-run.yaml'), '--no-wait'], env, tmpdir());
      expect(again.code).toBe(0);
      const pinned = await request(t.http)
        .get(`/api/experiments/${again.stdout.trim()}`)
        .set(bearer(owner.token))
        .expect(200);
      expect(pinned.body.config.dataset).toEqual({ id: dataset!.id, version: 2 });
      await waitForCompleted(again.stdout.trim());
    });

    it('run FILE exits 2 when config.dataset names a file that does not exist', async () => {
      const yaml = `name: no-items\nconfig:\n  prompts: ["x {{ticket}}"]\n  models: [mock:echo]\n  dataset: ./missing.csv\n`;
      const result = await cli(['run', file('no-items.yaml', yaml)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot read .*missing\.csv: ENOENT/);
    });
  });

  it('exits 2 on usage errors and 0 for --help', async () => {
    expect((await cli(['nope'])).code).toBe(2);
    expect((await cli(['run'])).code).toBe(2);
    expect((await cli(['export', 'x', '--format', 'xml'])).code).toBe(2);
    const gate = await cli(['run', file('g.json', singleYaml('g', 'Hi {{ticket}}')), '--gate', 'min_mean']);
    expect(gate.code).toBe(2);
    expect(gate.stderr).toMatch(/--gate min_mean: expected KEY=VALUE/);
    const unknownKey = await cli(['run', file('g2.json', singleYaml('g', 'Hi {{ticket}}')), '--gate', 'max=1']);
    expect(unknownKey.stderr).toMatch(/unknown gate option "max"/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: promptlooper/);
  });

  async function waitForCompleted(id: string): Promise<void> {
    await waitFor(
      async () =>
        (await request(t.http).get(`/api/experiments/${id}`).set(bearer(owner.token))).body.status === 'completed',
      { what: `experiment ${id} completed` },
    );
  }
});

/** The single-configuration candidate as YAML (prompt "Summary: …"). */
function chainless(name: string): string {
  return `name: ${name}
config:
  prompts: ["Summary: {{ticket}}"]
  models: [mock:echo]
  inputs:
${TICKETS.map((t) => `    - ticket: "${t}"`).join('\n')}
scoring_config:
  scorers:
    - { name: has_refund, type: contains, params: { value: refund, case_sensitive: false } }
`;
}
