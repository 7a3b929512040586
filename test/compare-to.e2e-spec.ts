import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { expectCloseToScipy, type FixtureNumber, loadStatsFixture } from './fixtures/stats/scipy-fixtures';
import { createTestApp, type TestApp } from './support/app';
import { addMember, bearer, registerUser, type TestUser } from './support/factories';
import { waitFor } from './support/wait';

/** A case of paired.json (SciPy's ttest_rel and wilcoxon on a and b). */
interface PairedCase {
  name: string;
  a: number[];
  b: number[];
  mean_diff: number;
  ci95: { low: number; high: number } | null;
  t_test: { pvalue: FixtureNumber };
  wilcoxon: { pvalue: FixtureNumber };
}

const paired = loadStatsFixture<PairedCase>('paired.json');
/** 10 pairs, every difference positive, t-test p ≈ 0.00034: a clear shift. */
const SHIFTED = paired.cases.find((c) => c.name === 'shifted n=10')!;
const INPUTS = 5;
const REPETITIONS = 2;
/** The fixture's i-th pair is input i % 5, repetition ⌊i / 5⌋. */
const pairIndex = (input: number, repetition: number): number => repetition * INPUTS + input;

/** The contract's canonical JSON for the flat objects used here, written out by hand. */
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const inputKey = (q: string): string => sha256(`{"q":"${q}"}`);
const configKeyOf = (prompt: string): string => sha256(`{"model":"mock:echo","params":{},"prompt":"${prompt}"}`);

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
const meanOf = (xs: number[]): number => sum(xs) / xs.length;

describe('compare-to and gate (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let viewer: TestUser;
  let stranger: TestUser;
  /** Prompt "New: …", quality = the fixture's a values. */
  let high: string;
  /** Prompt "Old: …", quality = the fixture's b values, and one extra input no candidate has. */
  let low: string;
  /** Two configurations. */
  let twoConfigs: string;
  let strangerExperiment: string;

  const http = () => request(t.http);

  async function createAndRun(user: TestUser, name: string, prompts: string[], inputs: string[]): Promise<string> {
    const created = await http()
      .post('/api/experiments')
      .set(bearer(user.token))
      .send({
        name,
        config: {
          prompts,
          models: ['mock:echo'],
          inputs: inputs.map((q) => ({ q })),
          repetitions: REPETITIONS,
        },
        scoring_config: {
          scorers: [
            { name: 'is_new', type: 'contains', params: { value: 'New:' } },
            // 0 for every output; the human scores posted later are the latest, so they count.
            { name: 'quality', type: 'contains', params: { value: 'never in an output' } },
          ],
          // Only quality is weighted: a run's value is its quality.
          weights: { quality: 1 },
        },
      });
    if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    await http().post(`/api/experiments/${id}/launch`).set(bearer(user.token)).send({}).expect(202);
    await waitFor(
      async () => (await http().get(`/api/experiments/${id}`).set(bearer(user.token))).body.status === 'completed',
      { what: `${name} completed` },
    );
    return id;
  }

  /** Posts a human `quality` score on each run: values[pairIndex(input, repetition)] where the input is in the fixture. */
  async function scoreQuality(user: TestUser, experimentId: string, values: number[]): Promise<void> {
    const runs = await http()
      .get('/api/runs')
      .query({ experiment_id: experimentId, limit: 500 })
      .set(bearer(user.token))
      .expect(200);
    for (const run of runs.body.items) {
      const input = Number(/^q(\d+)$/.exec(run.config.input_data.q)![1]);
      const value = input < INPUTS ? values[pairIndex(input, run.config.repetition)] : 0.99;
      await http()
        .post(`/api/runs/${run.id}/score`)
        .set(bearer(user.token))
        .send({ scorer_name: 'quality', value })
        .expect(201);
    }
  }

  beforeAll(async () => {
    t = await createTestApp();
    [owner, viewer, stranger] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    await addMember(t.http, owner, owner.projectId, viewer, 'viewer');
    const questions = Array.from({ length: INPUTS }, (_, i) => `q${i}`);
    // The candidate lists its inputs in another order: pairing is by input, never by position.
    [high, low, twoConfigs, strangerExperiment] = await Promise.all([
      createAndRun(owner, 'high', ['New: {{q}}'], [...questions].reverse()),
      createAndRun(owner, 'low', ['Old: {{q}}'], [...questions, 'q9']),
      createAndRun(owner, 'two', ['New: {{q}}', 'Other: {{q}}'], questions),
      createAndRun(stranger, 'foreign', ['New: {{q}}'], questions),
    ]);
    await scoreQuality(owner, high, SHIFTED.a);
    await scoreQuality(owner, low, SHIFTED.b);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('pairs on input and repetition and reports every statistic as SciPy and the test compute them', async () => {
    const res = await http().get(`/api/experiments/${high}/compare-to/${low}`).set(bearer(viewer.token));
    expect(res.status).toBe(200);
    const body = res.body;
    const d = SHIFTED.a.map((x, i) => x - SHIFTED.b[i]);
    expect(body).toMatchObject({
      experiment_id: high,
      baseline_experiment_id: low,
      a: configKeyOf('New: {{q}}'),
      b: configKeyOf('Old: {{q}}'),
      n_pairs: 10,
      wins: d.filter((x) => x > 0).length,
      losses: d.filter((x) => x < 0).length,
      ties: d.filter((x) => x === 0).length,
      regressions: [],
    });
    expect(body.wins).toBe(10);
    expectCloseToScipy(body.mean_diff, SHIFTED.mean_diff, 'mean_diff');
    expectCloseToScipy(body.ci95_low, SHIFTED.ci95!.low, 'ci95_low');
    expectCloseToScipy(body.ci95_high, SHIFTED.ci95!.high, 'ci95_high');
    expectCloseToScipy(body.t_test_p, SHIFTED.t_test.pvalue, 't_test_p');
    expectCloseToScipy(body.wilcoxon_p, SHIFTED.wilcoxon.pvalue, 'wilcoxon_p');
    expect(body.mean_a).toBeCloseTo(meanOf(SHIFTED.a), 12);
    expect(body.mean_b).toBeCloseTo(meanOf(SHIFTED.b), 12);
    // Per scorer: quality is the value itself; is_new is 1 for every candidate output ("New: q3") and 0 for
    // every baseline one, a constant difference (SciPy: t = inf, p = 0).
    expect(Object.keys(body.per_scorer)).toEqual(['is_new', 'quality']);
    expect(body.per_scorer.is_new).toEqual({ n_pairs: 10, mean_diff: 1, t_test_p: 0 });
    expect(body.per_scorer.quality.n_pairs).toBe(10);
    expectCloseToScipy(body.per_scorer.quality.mean_diff, SHIFTED.mean_diff, 'quality mean_diff');
    expectCloseToScipy(body.per_scorer.quality.t_test_p, SHIFTED.t_test.pvalue, 'quality t_test_p');
  });

  it('lists the largest drops with both outputs, and the same p-values the other way round', async () => {
    const res = await http()
      .get(`/api/experiments/${low}/compare-to/${high}`)
      .query({ top_regressions: 3 })
      .set(bearer(owner.token));
    expect(res.status).toBe(200);
    expect(res.body.n_pairs).toBe(10);
    expect(res.body.losses).toBe(10);
    expectCloseToScipy(res.body.mean_diff, -SHIFTED.mean_diff, 'mean_diff');
    expectCloseToScipy(res.body.t_test_p, SHIFTED.t_test.pvalue, 't_test_p');
    expectCloseToScipy(res.body.wilcoxon_p, SHIFTED.wilcoxon.pvalue, 'wilcoxon_p');
    const expected = SHIFTED.b
      .map((valueA, i) => ({ i, valueA, valueB: SHIFTED.a[i] }))
      .sort((x, y) => y.valueB - y.valueA - (x.valueB - x.valueA))
      .slice(0, 3)
      .map(({ i, valueA, valueB }) => {
        const q = `q${i % INPUTS}`;
        return {
          item_key: inputKey(q),
          input_data: { q },
          value_a: valueA,
          value_b: valueB,
          output_a: `Old: ${q}`,
          output_b: `New: ${q}`,
        };
      });
    expect(res.body.regressions).toEqual(expected);
    const none = await http()
      .get(`/api/experiments/${low}/compare-to/${high}`)
      .query({ top_regressions: 0 })
      .set(bearer(owner.token));
    expect(none.body.regressions).toEqual([]);
  });

  it('compares one scorer with scorer=', async () => {
    const res = await http()
      .get(`/api/experiments/${high}/compare-to/${low}`)
      .query({ scorer: 'is_new' })
      .set(bearer(owner.token));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ n_pairs: 10, mean_a: 1, mean_b: 0, mean_diff: 1, t_test_p: 0, wins: 10 });
  });

  it('selects configurations: required where there are several (listing the keys), by prefix, 404 when unknown', async () => {
    const keys = [configKeyOf('New: {{q}}'), configKeyOf('Other: {{q}}')].sort();
    const missing = await http().get(`/api/experiments/${twoConfigs}/compare-to/${low}`).set(bearer(owner.token));
    expect(missing.status).toBe(400);
    expect(missing.body.message).toEqual([
      `a is required: the candidate experiment has 2 configurations: ${keys[0]}, ${keys[1]}`,
    ]);
    const other = configKeyOf('Other: {{q}}');
    const byPrefix = await http()
      .get(`/api/experiments/${twoConfigs}/compare-to/${low}`)
      .query({ a: other.slice(0, 8), b: configKeyOf('Old: {{q}}').slice(0, 10).toUpperCase() })
      .set(bearer(owner.token));
    expect(byPrefix.status).toBe(200);
    expect(byPrefix.body).toMatchObject({ a: other, b: configKeyOf('Old: {{q}}') });
    // Without human scores, each run's value is its automatic quality: 0.
    expect(byPrefix.body).toMatchObject({ n_pairs: 10, mean_a: 0 });
    const unknown = await http()
      .get(`/api/experiments/${twoConfigs}/compare-to/${low}`)
      .query({ a: 'ffffffff' })
      .set(bearer(owner.token));
    expect(unknown.status).toBe(404);
    const sameConfig = await http().get(`/api/experiments/${high}/compare-to/${high}`).set(bearer(owner.token));
    expect(sameConfig.status).toBe(400);
    const badTop = await http()
      .get(`/api/experiments/${high}/compare-to/${low}`)
      .query({ top_regressions: 101 })
      .set(bearer(owner.token));
    expect(badTop.status).toBe(400);
  });

  it('answers 404 unless both experiments are readable, 400 for a non-UUID', async () => {
    for (const [id, baseline] of [
      [high, strangerExperiment],
      [strangerExperiment, high],
      [high, randomUUID()],
    ]) {
      const res = await http().get(`/api/experiments/${id}/compare-to/${baseline}`).set(bearer(owner.token));
      expect(res.status).toBe(404);
      expect(res.body.message).toBe('Experiment not found');
    }
    expect((await http().get(`/api/experiments/${high}/compare-to/nope`).set(bearer(owner.token))).status).toBe(400);
    expect((await http().get(`/api/experiments/${high}/compare-to/${low}`)).status).toBe(401);
  });

  describe('gate', () => {
    const gate = (id: string, body: Record<string, unknown>, user = owner) =>
      http().post(`/api/experiments/${id}/gate`).set(bearer(user.token)).send(body);
    // The candidate "low" against the baseline "high": mean_diff = −0.1058…, p = 0.00034.
    const drop = -SHIFTED.mean_diff;
    const p = SHIFTED.t_test.pvalue as number;

    it('fails a significant drop larger than allowed, and passes on the other side of either threshold', async () => {
      const cases = [
        { max_mean_drop: 0.1, alpha: 0.05, passed: false },
        { max_mean_drop: 0.11, alpha: 0.05, passed: true },
        { max_mean_drop: 0.1, alpha: 0.0004, passed: false },
        { max_mean_drop: 0.1, alpha: 0.0003, passed: true },
      ];
      expect(drop).toBeLessThan(-0.1);
      expect(drop).toBeGreaterThan(-0.11);
      expect(p).toBeGreaterThan(0.0003);
      expect(p).toBeLessThan(0.0004);
      for (const c of cases) {
        const res = await gate(low, { baseline_experiment_id: high, max_mean_drop: c.max_mean_drop, alpha: c.alpha });
        expect(res.status).toBe(200);
        expect(res.body.passed).toBe(c.passed);
        expect(res.body.checks).toHaveLength(1);
        const [check] = res.body.checks;
        expect(check).toMatchObject({
          name: 'max_mean_drop',
          passed: c.passed,
          threshold: c.max_mean_drop,
          alpha: c.alpha,
        });
        expectCloseToScipy(check.value, drop, 'value');
        expectCloseToScipy(check.p_value, p, 'p_value');
        expect(check.reason).toBeUndefined();
        expect(res.body.comparison.n_pairs).toBe(10);
      }
      // The other direction is an improvement: never a failure, whatever the thresholds.
      const better = await gate(high, { baseline_experiment_id: low, max_mean_drop: 0, alpha: 0.5 });
      expect(better.body).toMatchObject({ passed: true, checks: [{ name: 'max_mean_drop', passed: true }] });
    });

    it('checks min_mean and min_pass_rate on the candidate configuration, one check each', async () => {
      const mean = meanOf(SHIFTED.b.concat([0.99, 0.99]));
      const passRate = (threshold: number) =>
        SHIFTED.b.concat([0.99, 0.99]).filter((v) => v >= threshold).length / (SHIFTED.b.length + 2);
      const res = await gate(low, { min_mean: 0.4, min_pass_rate: 0.5, pass_threshold: 0.3 });
      expect(res.status).toBe(200);
      expect(res.body.a).toBe(configKeyOf('Old: {{q}}'));
      expect(res.body.comparison).toBeNull();
      expect(res.body.checks.map((c: { name: string }) => c.name)).toEqual(['min_mean', 'min_pass_rate']);
      const [meanCheck, rateCheck] = res.body.checks;
      expect(meanCheck.value).toBeCloseTo(mean, 12);
      expect(meanCheck).toMatchObject({ threshold: 0.4, passed: mean >= 0.4 });
      expect(rateCheck).toMatchObject({ value: passRate(0.3), threshold: 0.5, passed: passRate(0.3) >= 0.5 });
      expect(res.body.passed).toBe(meanCheck.passed && rateCheck.passed);
      const strict = await gate(low, { min_mean: 0.99 });
      expect(strict.body).toMatchObject({
        passed: false,
        checks: [{ name: 'min_mean', passed: false, threshold: 0.99 }],
      });
    });

    it('reports why the significance check cannot fail with fewer than 2 pairs', async () => {
      const single = await createAndRun(owner, 'single', ['New: {{q}}'], ['q0']);
      const res = await gate(single, { baseline_experiment_id: low, max_mean_drop: 0 });
      expect(res.status).toBe(200);
      // q0 × 2 repetitions.
      expect(res.body.comparison.n_pairs).toBe(2);
      const none = await createAndRun(owner, 'unpaired', ['New: {{q}}'], ['zz']);
      const unpaired = await gate(none, { baseline_experiment_id: low, max_mean_drop: 0 });
      expect(unpaired.body).toEqual({
        passed: true,
        a: configKeyOf('New: {{q}}'),
        checks: [
          {
            name: 'max_mean_drop',
            passed: true,
            value: null,
            threshold: 0,
            p_value: null,
            alpha: 0.05,
            reason:
              '0 pairs of runs matched the baseline: a paired t-test needs at least 2, so no drop can be shown significant',
          },
        ],
        comparison: expect.objectContaining({ n_pairs: 0, mean_diff: null, regressions: [] }),
      });
    });

    it('answers 409 until the candidate and the baseline have ended', async () => {
      const draft = await http()
        .post('/api/experiments')
        .set(bearer(owner.token))
        .send({ name: 'draft', config: { prompts: ['New: {{q}}'], models: ['mock:echo'], inputs: [{ q: 'q0' }] } });
      const running = await http()
        .post('/api/experiments')
        .set(bearer(owner.token))
        .send({
          name: 'slow',
          config: {
            prompts: ['New: {{q}}'],
            models: ['mock:echo'],
            params: { mock_latency_ms: 60_000 },
            inputs: [{ q: 'q0' }],
          },
        });
      await http().post(`/api/experiments/${running.body.id}/launch`).set(bearer(owner.token)).send({}).expect(202);
      const early = await gate(running.body.id, { min_mean: 0.5 });
      expect(early.status).toBe(409);
      expect(early.body.message).toMatch(/^The candidate experiment .* has not ended \(status running\)/);
      expect((await gate(draft.body.id, { min_mean: 0.5 })).status).toBe(409);
      const baselineRunning = await gate(high, { baseline_experiment_id: running.body.id, max_mean_drop: 0.1 });
      expect(baselineRunning.status).toBe(409);
      expect(baselineRunning.body.message).toMatch(/^The baseline experiment/);
      // Cancelled has ended: the gate answers.
      await http().post(`/api/experiments/${running.body.id}/cancel`).set(bearer(owner.token)).expect(202);
      await waitFor(
        async () =>
          (await http().get(`/api/experiments/${running.body.id}`).set(bearer(owner.token))).body.status ===
          'cancelled',
        { what: 'cancelled' },
      );
      const after = await gate(running.body.id, { min_mean: 0.5 });
      expect(after.status).toBe(200);
      expect(after.body.checks[0]).toMatchObject({ passed: false, value: null, reason: expect.any(String) });
    });

    it('rejects a gate without criteria, max_mean_drop or b without a baseline, and out-of-range values', async () => {
      const none = await gate(high, {});
      expect(none.status).toBe(400);
      expect(none.body.message).toEqual(['give at least one criterion: min_mean, min_pass_rate or max_mean_drop']);
      const noBaseline = await gate(high, { max_mean_drop: 0.1, b: 'abcdef01' });
      expect(noBaseline.body.message).toEqual([
        'max_mean_drop needs baseline_experiment_id',
        'b needs baseline_experiment_id',
      ]);
      for (const body of [
        { min_mean: 2 },
        { min_mean: 0.5, alpha: 0 },
        { min_mean: 0.5, extra: 1 },
        { min_mean: '0.5' },
      ]) {
        expect((await gate(high, body)).status).toBe(400);
      }
      expect((await gate(high, { min_mean: 0.5 }, stranger)).status).toBe(404);
      expect((await gate(high, { baseline_experiment_id: strangerExperiment, max_mean_drop: 0.1 })).status).toBe(404);
    });
  });
});
