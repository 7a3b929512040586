import { latestScoresOfRunSql } from '../domain/latest-score';
import { Injectable, Logger } from '@nestjs/common';
import { Response } from 'express';
import { DataSource, QueryRunner } from 'typeorm';
import { Principal } from '../common/principal';
import { ProjectRole } from '../projects/membership.entity';
import { RunConfig } from '../domain/configs';
import { csvRecord } from './csv';
import { ExportFormat } from './dto/launch.dto';
import { Experiment } from './experiment.entity';
import { ExperimentsService } from './experiments.service';
import { weightedScore } from '../domain/weighted-score';

/** Rows per FETCH: memory stays at one batch whatever the experiment's size. */
export const EXPORT_FETCH_SIZE = 1000;

/**
 * One row per run with the latest score of each scorer (DISTINCT ON over
 * idx_scores_run_scorer_latest). Ordered by id, which for launched grids is the grid order
 * (time-ordered ids, see run-id.ts).
 */
const EXPORT_SQL = `
  SELECT r.id, r.status, r.config->'prompt' AS prompt, r.config->>'model' AS model, r.config->'params' AS params,
         r.dataset_item_key, r.config->'input_data' AS input_data, r.repetition, r.output, r.tokens_in, r.tokens_out, r.cost_estimate::text AS cost_estimate,
         r.duration_ms, r.cache_hit, r.error, ls.finish_reason, ls.tool_calls, sc.scores
    FROM runs r
    LEFT JOIN LATERAL (SELECT ${latestScoresOfRunSql('r.id')} AS scores) sc ON true
    LEFT JOIN LATERAL (
      SELECT s.finish_reason, s.tool_calls FROM stage_results s WHERE s.run_id = r.id ORDER BY s.stage_index DESC LIMIT 1
    ) ls ON true
   WHERE r.experiment_id = $1
   ORDER BY r.id`;

/** Param, input and scorer names that occur in the experiment's runs (ad-hoc runs may add some). */
const COLUMNS_SQL = `
  SELECT
    (SELECT coalesce(array_agg(k ORDER BY k), '{}') FROM (
       SELECT DISTINCT jsonb_object_keys(config->'params') AS k FROM runs
        WHERE experiment_id = $1 AND jsonb_typeof(config->'params') = 'object') p) AS params,
    (SELECT coalesce(array_agg(k ORDER BY k), '{}') FROM (
       SELECT DISTINCT jsonb_object_keys(config->'input_data') AS k FROM runs
        WHERE experiment_id = $1 AND jsonb_typeof(config->'input_data') = 'object') i) AS inputs,
    EXISTS (SELECT 1 FROM runs WHERE experiment_id = $1 AND config ? 'input_data'
               AND jsonb_typeof(config->'input_data') NOT IN ('object', 'null')) AS scalar_input,
    (SELECT coalesce(array_agg(DISTINCT s.scorer_name), '{}') FROM scores s JOIN runs r ON r.id = s.run_id
      WHERE r.experiment_id = $1) AS scorers`;

interface ExportRow {
  id: string;
  status: string;
  /** A string, or the {messages} object (CSV: its JSON text). */
  prompt: unknown;
  model: string;
  params: RunConfig['params'] | null;
  dataset_item_key: string | null;
  input_data: RunConfig['input_data'] | null;
  repetition: number;
  output: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_estimate: string | null;
  duration_ms: number | null;
  cache_hit: boolean;
  error: string | null;
  /** Of the run's last stage. */
  finish_reason: string | null;
  tool_calls: unknown[] | null;
  scores: Record<string, number> | null;
}

/** The export's columns: declared names first (in the experiment's order), then any others. */
export interface ExportColumns {
  params: string[];
  inputs: string[];
  /** Some run has a non-object input_data (an ad-hoc run): exported as the column `input`. */
  scalarInput: boolean;
  scorers: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function mergeOrdered(declared: string[], found: string[]): string[] {
  const set = new Set(found);
  const first = declared.filter((k, i) => set.has(k) && declared.indexOf(k) === i);
  return [...first, ...found.filter((k) => !first.includes(k)).sort()];
}

export function exportColumns(experiment: Experiment, found: ExportColumns): ExportColumns {
  const declaredInputs: string[] = [];
  for (const input of experiment.config.inputs ?? []) {
    if (isObject(input)) for (const k of Object.keys(input)) if (!declaredInputs.includes(k)) declaredInputs.push(k);
  }
  const declaredScorers = (experiment.scoringConfig?.scorers ?? []).map((s) => s.name);
  return {
    params: mergeOrdered(Object.keys(experiment.config.params ?? {}).sort(), found.params),
    inputs: mergeOrdered(declaredInputs, found.inputs),
    scalarInput: found.scalarInput,
    // Declared scorers always get a column, scored or not; human scorer names are added.
    scorers: [...declaredScorers, ...found.scorers.filter((s) => !declaredScorers.includes(s)).sort()],
  };
}

export function csvHeader(c: ExportColumns): string[] {
  return [
    'run_id',
    'status',
    'prompt',
    'model',
    ...c.params.map((p) => `param.${p}`),
    'dataset_item_key',
    ...c.inputs.map((i) => `input.${i}`),
    ...(c.scalarInput ? ['input'] : []),
    'repetition',
    'output',
    'tokens_in',
    'tokens_out',
    'cost_estimate',
    'duration_ms',
    'cache_hit',
    'error',
    'finish_reason',
    'tool_calls',
    ...c.scorers.map((s) => `score.${s}`),
    'weighted_score',
  ];
}

/**
 * GET /api/experiments/:id/export: every run, streamed from a server-side cursor in a read-only
 * repeatable-read transaction (the header and the rows see one snapshot), with back-pressure, so
 * memory stays flat for any number of runs.
 */
@Injectable()
export class ExperimentExportService {
  private readonly logger = new Logger(ExperimentExportService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly experiments: ExperimentsService,
  ) {}

  async export(principal: Principal, id: string, format: ExportFormat, res: Response): Promise<void> {
    const experiment = await this.experiments.findAccessible(principal, id, ProjectRole.Viewer);
    const weights = experiment.scoringConfig?.weights ?? null;
    const runner = this.dataSource.createQueryRunner();
    let aborted = false;
    const onClose = () => {
      aborted = !res.writableFinished;
    };
    res.on('close', onClose);
    try {
      await runner.connect();
      await runner.query('START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // Plan for reading every row, not the first tenth (the cursor default): otherwise a full
      // primary-key scan of all runs could be chosen to return rows in id order sooner.
      await runner.query('SET LOCAL cursor_tuple_fraction = 1.0');
      const [found] = (await runner.query(COLUMNS_SQL, [id])) as Array<{
        params: string[];
        inputs: string[];
        scalar_input: boolean;
        scorers: string[];
      }>;
      const columns = exportColumns(experiment, {
        params: found.params,
        inputs: found.inputs,
        scalarInput: found.scalar_input,
        scorers: found.scorers,
      });
      await runner.query(`DECLARE export_runs NO SCROLL CURSOR FOR ${EXPORT_SQL}`, [id]);

      const filename = `experiment-${experiment.id}.${format}`;
      res.status(200);
      res.setHeader(
        'Content-Type',
        format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      );
      res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
      res.setHeader('Cache-Control', 'no-store');
      if (format === 'csv') await write(res, csvRecord(csvHeader(columns)));

      const fetchBatch = () => runner.query(`FETCH ${EXPORT_FETCH_SIZE} FROM export_runs`) as Promise<ExportRow[]>;
      // One batch ahead: PostgreSQL produces the next rows while this one is formatted and sent.
      let next = fetchBatch();
      for (;;) {
        const rows = await next;
        if (rows.length === 0 || aborted) break;
        next = fetchBatch();
        next.catch(() => undefined); // awaited on the next turn; never an unhandled rejection meanwhile
        const text = rows
          .map((row) => (format === 'csv' ? csvLine(row, columns, weights) : jsonLine(row, weights)))
          .join('');
        await write(res, text);
      }
      await runner.query('CLOSE export_runs');
      await runner.query('COMMIT');
      if (!aborted) res.end();
    } catch (error) {
      await rollback(runner);
      if (!res.headersSent) throw error;
      // Mid-stream: the status is sent; cutting the chunked body tells the client it is incomplete.
      this.logger.error(
        `export of experiment ${id} failed mid-stream: ${(error as Error).message}`,
        (error as Error).stack,
      );
      res.destroy();
    } finally {
      res.off('close', onClose);
      await runner.release();
    }
  }
}

function csvLine(row: ExportRow, c: ExportColumns, weights: Record<string, number> | null): string {
  const params = row.params ?? {};
  const input = row.input_data;
  const inputObj = isObject(input) ? input : {};
  const scores = row.scores ?? {};
  return csvRecord([
    row.id,
    row.status,
    row.prompt,
    row.model,
    ...c.params.map((p) => params[p]),
    row.dataset_item_key,
    ...c.inputs.map((i) => inputObj[i]),
    ...(c.scalarInput ? [isObject(input) ? null : input] : []),
    row.repetition,
    row.output,
    row.tokens_in,
    row.tokens_out,
    row.cost_estimate === null ? null : Number(row.cost_estimate),
    row.duration_ms,
    row.cache_hit,
    row.error,
    row.finish_reason,
    row.tool_calls,
    ...c.scorers.map((s) => scores[s]),
    weightedScore(scores, weights),
  ]);
}

function jsonLine(row: ExportRow, weights: Record<string, number> | null): string {
  const scores = row.scores ?? {};
  return (
    JSON.stringify({
      run_id: row.id,
      status: row.status,
      prompt: row.prompt,
      model: row.model,
      params: row.params ?? {},
      dataset_item_key: row.dataset_item_key,
      input_data: row.input_data ?? null,
      repetition: row.repetition,
      output: row.output,
      tokens_in: row.tokens_in,
      tokens_out: row.tokens_out,
      cost_estimate: row.cost_estimate === null ? null : Number(row.cost_estimate),
      duration_ms: row.duration_ms,
      cache_hit: row.cache_hit,
      error: row.error,
      finish_reason: row.finish_reason ?? null,
      tool_calls: row.tool_calls ?? null,
      scores,
      weighted_score: weightedScore(scores, weights),
    }) + '\n'
  );
}

/** Writes and waits for the socket to drain when its buffer is full (or for the client to leave). */
function write(res: Response, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function rollback(runner: QueryRunner): Promise<void> {
  try {
    await runner.query('ROLLBACK');
  } catch {
    // The connection may be gone already; release() below still returns or discards it.
  }
}
