import { randomUUID } from 'crypto';
import { type DataSource } from 'typeorm';
import { DomainError, ErrorCode } from '../../src/common/domain-error';
import { type Principal } from '../../src/common/principal';
import { type ScoringConfig } from '../../src/domain/configs';
import { RunStatus } from '../../src/domain/statuses';
import { ScoringService } from '../../src/scoring/scoring.service';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  insertExperiment,
  insertProject,
  insertRun,
  insertScore,
  type RunSeed,
  runRow,
  scoreRows,
} from '../support/factories';
import { createIntegrationModule, type IntegrationModule, truncateRunData } from '../support/integration-module';

const SCORERS: ScoringConfig = {
  scorers: [
    { name: 'exact', type: 'exact_match', params: { expected_field: 'expected', trim: true } },
    { name: 'refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
    { name: 'short', type: 'length', params: { max: 3, unit: 'words' } },
    { name: 'cheap', type: 'cost', params: { max_usd: 0.01 } },
  ],
};

/** ScoringService against PostgreSQL: automatic scores, errors, human scores, rescoring. */
describe('ScoringService (integration)', () => {
  let database: TestDatabase;
  let m: IntegrationModule;
  let ds: DataSource;
  let scoring: ScoringService;
  let projectId: string;
  let experimentId: string;
  const principal = (): Principal => ({ kind: 'api_key', apiKeyId: randomUUID(), projectId });
  const completed = (output: string, s: RunSeed = {}) =>
    insertRun(ds, experimentId, projectId, {
      config: { prompt: 'p', model: 'mock:echo', input_data: { expected: 'Refund issued' } },
      status: RunStatus.Completed,
      output,
      startedMsAgo: 100,
      completedMsAgo: 0,
      durationMs: 100,
      costEstimate: 0.001,
      ...s,
    });
  const values = async (runId: string) =>
    (await scoreRows(ds, runId)).map((s) => [s.scorer_name, s.source, s.value] as const);

  beforeAll(async () => {
    database = await createTestDatabase();
    m = await createIntegrationModule({ database });
    ds = m.dataSource;
    scoring = m.get(ScoringService);
    projectId = await insertProject(ds);
  });

  beforeEach(async () => {
    await truncateRunData(ds);
    experimentId = await insertExperiment(ds, projectId, { scoringConfig: SCORERS });
  });

  afterAll(async () => {
    await m?.close();
    await database?.drop();
  });

  it('writes one automatic score per declared scorer and stamps scored_at; a second call writes nothing', async () => {
    const id = await completed(' Refund issued ');
    const first = await scoring.scoreRun(id);
    expect(first.scored).toBe(true);
    expect(first.errors).toEqual({});
    expect(first.written.map((w) => [w.scorerName, w.value]).sort()).toEqual([
      ['cheap', 1],
      ['exact', 1],
      ['refund', 1],
      ['short', 1],
    ]);
    expect(await values(id)).toEqual([
      ['cheap', 'auto', 1],
      ['exact', 'auto', 1],
      ['refund', 'auto', 1],
      ['short', 'auto', 1],
    ]);
    const row = await runRow(ds, id);
    expect(row).toMatchObject({ scoring_errors: null, scored_at: expect.any(Date) });

    const ids = (await scoreRows(ds, id)).map((s) => s.id);
    expect(await scoring.scoreRun(id)).toEqual({ scored: true, written: [], errors: {} });
    expect((await scoreRows(ds, id)).map((s) => s.id)).toEqual(ids);
    expect((await runRow(ds, id)).scored_at).toEqual(row.scored_at);
  });

  it('scores what fails and what passes: values 0, and the throwing scorers in scoring_errors only', async () => {
    const id = await completed('no money back for you at all', {
      costEstimate: null,
      config: { prompt: 'p', model: 'mock:echo', input_data: {} },
    });
    const result = await scoring.scoreRun(id);
    expect(Object.keys(result.errors).sort()).toEqual(['cheap', 'exact']);
    expect(await values(id)).toEqual([
      ['refund', 'auto', 0],
      ['short', 'auto', 0],
    ]);
    expect((await runRow(ds, id)).scoring_errors).toEqual(result.errors);
    // A later call tries only the scorers without a score, and they still throw.
    const again = await scoring.scoreRun(id);
    expect(again.written).toEqual([]);
    expect(Object.keys(again.errors).sort()).toEqual(['cheap', 'exact']);
    expect(await scoreRows(ds, id)).toHaveLength(2);
  });

  it('does nothing for runs that are not completed, or do not exist', async () => {
    for (const status of [RunStatus.Pending, RunStatus.Running, RunStatus.Failed, RunStatus.Cancelled]) {
      const id = await insertRun(ds, experimentId, projectId, { status, output: 'refund' });
      expect(await scoring.scoreRun(id)).toEqual({ scored: false, written: [], errors: {} });
      expect(await scoreRows(ds, id)).toEqual([]);
      expect((await runRow(ds, id)).scored_at).toBeNull();
    }
    expect(await scoring.scoreRun(randomUUID())).toEqual({ scored: false, written: [], errors: {} });
  });

  it('adds human scores beside the automatic ones, recording who gave them, and validates them', async () => {
    const id = await completed('Refund issued');
    await scoring.scoreRun(id);
    const who = principal();
    const human = await scoring.addHumanScore(id, 'refund', 0.25, { note: 'partly' }, who);
    expect(human).toMatchObject({ runId: id, scorerName: 'refund', value: 0.25, source: 'human' });
    const rows = await scoreRows(ds, id);
    expect(rows.filter((s) => s.scorer_name === 'refund').map((s) => [s.source, s.value])).toEqual([
      ['auto', 1],
      ['human', 0.25],
    ]);
    expect(rows.find((s) => s.source === 'human')?.scorer_metadata).toEqual({
      note: 'partly',
      scored_by: { kind: 'api_key', id: who.kind === 'api_key' ? who.apiKeyId : null },
    });

    const invalid = await scoring.addHumanScore(id, ' ', 2, null, who).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(DomainError);
    expect((invalid as DomainError).code).toBe(ErrorCode.Invalid);
    expect((invalid as DomainError).messages).toEqual([
      'scorer_name must be a non-empty string',
      'value must be a number between 0 and 1',
    ]);
    const missing = await scoring.addHumanScore(randomUUID(), 'refund', 1, null, who).catch((e: unknown) => e);
    expect((missing as DomainError).code).toBe(ErrorCode.NotFound);
    expect(await scoreRows(ds, id)).toHaveLength(5);
  });

  it('rescores the completed runs with the current config: automatic scores replaced, human scores and other runs kept', async () => {
    const a = await completed('Refund issued');
    const b = await completed('nothing');
    const pending = await insertRun(ds, experimentId, projectId);
    await scoring.scoreRun(a);
    await scoring.scoreRun(b);
    await insertScore(ds, a, { scorerName: 'refund', value: 0.5, source: 'human' });
    const before = new Set((await scoreRows(ds, a)).map((s) => s.id));
    await ds.query(`UPDATE experiments SET scoring_config = $2 WHERE id = $1`, [
      experimentId,
      JSON.stringify({ scorers: [{ name: 'has_issued', type: 'contains', params: { value: 'issued' } }] }),
    ]);

    expect(await scoring.rescoreExperiment(experimentId)).toEqual({ runs_rescored: 2 });
    const after = await scoreRows(ds, a);
    expect(after.map((s) => [s.scorer_name, s.source, s.value])).toEqual([
      ['has_issued', 'auto', 1],
      ['refund', 'human', 0.5],
    ]);
    // The human score is the same row; the automatic one is new.
    expect(after.filter((s) => before.has(s.id)).map((s) => s.source)).toEqual(['human']);
    expect(await values(b)).toEqual([['has_issued', 'auto', 0]]);
    expect(await scoreRows(ds, pending)).toEqual([]);
    await expect(scoring.rescoreExperiment(randomUUID())).rejects.toThrow('Experiment not found');
  });
});
