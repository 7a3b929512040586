import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../common/principal';
import { invalid, notFound } from '../common/domain-error';
import { Page } from '../common/pagination.dto';
import { Experiment } from '../experiments/experiment.entity';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { ConfigCell, ConfigDimension, configKey, resolveConfigKey } from './config-key';
import { configurationsOf } from './configurations';
import { CompareResultDto, ConfigLeaderboardItemDto } from './dto/config-leaderboard.dto';
import { ScoreReadModel } from '../scoring/score-read-model';
import { MODEL_PASS_THRESHOLD } from '../scoring/score-read-model.sql';
import {
  CACHE_DURATION_PERCENTILES_SQL,
  stalePercentiles,
  CONFIG_LEADERBOARD_FROM_MODEL_SQL,
  CONFIG_LEADERBOARD_SQL,
  MODEL_CELLS_SQL,
  type ModelCellRow,
  PAIRED_VALUES_FROM_MODEL_SQL,
  ConfigLeaderboardRow,
  LEADERBOARD_WORK_MEM,
  PAIRED_VALUES_SQL,
  PairedValueRow,
} from './leaderboard.sql';
import { pairedComparison } from './paired-comparison';
import { tQuantile } from './stats';

const EXPERIMENT_NOT_FOUND = 'Experiment not found';

export interface ConfigLeaderboardOptions {
  groupBy: readonly ConfigDimension[];
  scorer?: string;
  passThreshold: number;
  limit: number;
  offset: number;
}

export interface CompareOptions {
  a: string;
  b: string;
  scorer?: string;
}

/**
 * Ranks an experiment's configurations (prompt × model × params cells) over their inputs and
 * repetitions, and compares two of them pairwise. Aggregation happens in PostgreSQL (one
 * statement per request); Node adds what SQL cannot do well: the canonical-JSON key, the
 * t-quantile of the interval and the paired tests.
 */
@Injectable()
export class ConfigLeaderboardService {
  private readonly logger = new Logger(ConfigLeaderboardService.name);

  constructor(
    @InjectRepository(Experiment) private readonly experiments: Repository<Experiment>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly access: AccessPolicy,
    private readonly readModel: ScoreReadModel,
  ) {}

  async rank(
    principal: Principal,
    experimentId: string,
    options: ConfigLeaderboardOptions,
  ): Promise<Page<ConfigLeaderboardItemDto>> {
    const experiment = await this.readable(principal, experimentId);
    const grouped = new Set(options.groupBy);
    const params = [
      experiment.id,
      weightsOf(experiment),
      options.scorer ?? null,
      grouped.has('prompt'),
      grouped.has('model'),
      grouped.has('params'),
      options.passThreshold,
    ];
    // The read model keeps per-configuration sums for the full cell and the default threshold;
    // other groupings, thresholds or a single scorer aggregate the runs in SQL.
    const fromModel =
      grouped.size === 3 &&
      options.scorer === undefined &&
      options.passThreshold === MODEL_PASS_THRESHOLD &&
      (await this.readModel.isCurrent(experiment.id, weightsOf(experiment)));
    const rows = fromModel
      ? await this.dataSource.query<ConfigLeaderboardRow[]>(CONFIG_LEADERBOARD_FROM_MODEL_SQL, [experiment.id])
      : await queryWithWorkMem<ConfigLeaderboardRow>(this.dataSource, CONFIG_LEADERBOARD_SQL, params);
    if (fromModel) await this.cachePercentiles(experiment.id, rows);
    // One row per configuration, not per run: sorting and paging them here keeps the key
    // (canonical JSON, which SQL cannot produce faithfully) as the tie-break.
    const items = rows.map(toItem);
    items.sort((x, y) => y.mean - x.mean || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    return { items: items.slice(options.offset, options.offset + options.limit), total: items.length };
  }

  async compare(principal: Principal, experimentId: string, options: CompareOptions): Promise<CompareResultDto> {
    const experiment = await this.readable(principal, experimentId);
    const fromModel = await this.pairFromModel(experiment, options);
    if (fromModel) return this.comparison(fromModel.a, fromModel.b, fromModel.pairs);
    const cellsByKey = await configurationsOf(this.dataSource, experiment.id);
    const a = resolveConfigKey(options.a, cellsByKey.keys(), 'a');
    const b = resolveConfigKey(options.b, cellsByKey.keys(), 'b');
    if (a === b) throw invalid('a and b name the same configuration');

    const pairs: PairedValueRow[] = await this.dataSource.query(PAIRED_VALUES_SQL, [
      experiment.id,
      weightsOf(experiment),
      options.scorer ?? null,
      JSON.stringify(cellsByKey.get(a)),
      JSON.stringify(cellsByKey.get(b)),
    ]);
    return this.comparison(a, b, pairs);
  }

  /**
   * The pairs from the score read model, when it can answer exactly: no single scorer, weights
   * current, and both configurations named by their full key among the configurations it holds
   * (a prefix must be checked against every configuration of the experiment, valued or not).
   */
  private async pairFromModel(
    experiment: Experiment,
    options: CompareOptions,
  ): Promise<{ a: string; b: string; pairs: PairedValueRow[] } | null> {
    const fullKey = /^[0-9a-f]{64}$/;
    if (options.scorer !== undefined || !fullKey.test(options.a) || !fullKey.test(options.b) || options.a === options.b)
      return null;
    if (!(await this.readModel.isCurrent(experiment.id, weightsOf(experiment)))) return null;
    const cells: ModelCellRow[] = await this.dataSource.query(MODEL_CELLS_SQL, [experiment.id]);
    const md5Of = new Map(
      cells.map((c) => [configKey({ prompt: c.cell[0], model: c.cell[1], params: c.cell[2] }), c.cell_key]),
    );
    const a = md5Of.get(options.a);
    const b = md5Of.get(options.b);
    if (a === undefined || b === undefined) return null;
    const pairs: PairedValueRow[] = await this.dataSource.query(PAIRED_VALUES_FROM_MODEL_SQL, [experiment.id, a, b]);
    return { a: options.a, b: options.b, pairs };
  }

  private comparison(a: string, b: string, pairs: PairedValueRow[]): CompareResultDto {
    return {
      a,
      b,
      ...pairedComparison(
        pairs.map((p) => p.a),
        pairs.map((p) => p.b),
      ),
    };
  }

  /**
   * Keeps the percentiles just computed for configurations whose cache was stale, so the next read
   * of an unchanged configuration reads two columns instead of walking its durations. Best effort:
   * a failure only means the next read computes them again.
   */
  private async cachePercentiles(experimentId: string, rows: ConfigLeaderboardRow[]): Promise<void> {
    const stale = stalePercentiles(rows);
    if (stale === null) return;
    try {
      await this.dataSource.query(CACHE_DURATION_PERCENTILES_SQL, [experimentId, stale]);
    } catch (error) {
      this.logger.warn(`experiment ${experimentId}: could not cache duration percentiles: ${(error as Error).message}`);
    }
  }

  /** The experiment, if the caller may read it: unknown and foreign experiments alike are 404. */
  async readable(principal: Principal, experimentId: string): Promise<Experiment> {
    const experiment = await this.experiments.findOne({
      where: { id: experimentId },
      select: { id: true, projectId: true, scoringConfig: true, status: true },
    });
    if (!experiment) throw notFound(EXPERIMENT_NOT_FOUND);
    await this.access.require(principal, experiment.projectId, ProjectRole.Viewer, EXPERIMENT_NOT_FOUND);
    return experiment;
  }
}

/**
 * The weights as the jsonb parameter of the SQL: {} without weights (every run gets the plain
 * mean). Anything but an object counts as no weights (jsonb_each would fail on it); non-numeric
 * entries are ignored in SQL.
 */
/** Runs one statement in its own transaction with LEADERBOARD_WORK_MEM for its sorts and hashes. */
export function queryWithWorkMem<T>(dataSource: DataSource, sql: string, params: unknown[]): Promise<T[]> {
  return dataSource.transaction(async (em) => {
    await em.query(`SET LOCAL work_mem = '${LEADERBOARD_WORK_MEM}'`);
    return em.query<T[]>(sql, params);
  });
}

export function weightsOf(experiment: Experiment): string {
  const weights: unknown = experiment.scoringConfig?.weights;
  const isObject = typeof weights === 'object' && weights !== null && !Array.isArray(weights);
  return JSON.stringify(isObject ? weights : {});
}

function toItem(row: ConfigLeaderboardRow): ConfigLeaderboardItemDto {
  const cell: ConfigCell = { prompt: row.cell[0], model: row.cell[1], params: row.cell[2] };
  let ci95Low: number | null = null;
  let ci95High: number | null = null;
  if (row.stddev !== null && row.n > 1) {
    const half = (tQuantile(0.975, row.n - 1) * row.stddev) / Math.sqrt(row.n);
    ci95Low = row.mean - half;
    ci95High = row.mean + half;
  }
  return {
    key: configKey(cell),
    ...cell,
    n: row.n,
    mean: row.mean,
    stddev: row.stddev,
    ci95_low: ci95Low,
    ci95_high: ci95High,
    pass_rate: row.pass_rate,
    mean_cost: row.mean_cost,
    p50_duration_ms: row.p50_duration_ms,
    p95_duration_ms: row.p95_duration_ms,
    scores: row.scores,
  };
}
