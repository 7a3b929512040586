import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../common/principal';
import { invalid, notFound } from '../common/domain-error';
import { Page } from '../common/pagination.dto';
import { Experiment } from '../experiments/experiment.entity';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { ConfigCell, ConfigDimension, configKey, resolveConfigKey } from './config-key';
import { CompareResultDto, ConfigLeaderboardItemDto } from './dto/config-leaderboard.dto';
import {
  CONFIG_LEADERBOARD_SQL,
  ConfigLeaderboardRow,
  EXPERIMENT_CELLS_SQL,
  LEADERBOARD_WORK_MEM,
  ExperimentCellRow,
  PAIRED_VALUES_SQL,
  PairedValueRow,
} from './leaderboard.sql';
import { differences, mean, meanCi95, pairedTTest, tQuantile, wilcoxonSignedRank } from './stats';

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
  constructor(
    @InjectRepository(Experiment) private readonly experiments: Repository<Experiment>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly access: AccessPolicy,
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
    const rows = await queryWithWorkMem<ConfigLeaderboardRow>(this.dataSource, CONFIG_LEADERBOARD_SQL, params);
    // One row per configuration, not per run: sorting and paging them here keeps the key
    // (canonical JSON, which SQL cannot produce faithfully) as the tie-break.
    const items = rows.map(toItem);
    items.sort((x, y) => y.mean - x.mean || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    return { items: items.slice(options.offset, options.offset + options.limit), total: items.length };
  }

  async compare(principal: Principal, experimentId: string, options: CompareOptions): Promise<CompareResultDto> {
    const experiment = await this.readable(principal, experimentId);
    const cellRows: ExperimentCellRow[] = await this.dataSource.query(EXPERIMENT_CELLS_SQL, [experiment.id]);
    const cellsByKey = new Map<string, ExperimentCellRow['cell']>();
    for (const { cell } of cellRows)
      cellsByKey.set(configKey({ prompt: cell[0], model: cell[1], params: cell[2] }), cell);
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
    const va = pairs.map((p) => p.a);
    const vb = pairs.map((p) => p.b);
    const d = differences(va, vb);
    const ci = meanCi95(d);
    let wins = 0;
    let losses = 0;
    for (const x of d) {
      if (x > 0) wins++;
      else if (x < 0) losses++;
    }
    return {
      a,
      b,
      n_pairs: d.length,
      mean_diff: mean(d),
      ci95_low: ci?.low ?? null,
      ci95_high: ci?.high ?? null,
      t_test_p: pairedTTest(va, vb).p,
      wilcoxon_p: wilcoxonSignedRank(va, vb).p,
      wins,
      losses,
      ties: d.length - wins - losses,
    };
  }

  /** The experiment, if the caller may read it: unknown and foreign experiments alike are 404. */
  private async readable(principal: Principal, experimentId: string): Promise<Experiment> {
    const experiment = await this.experiments.findOne({
      where: { id: experimentId },
      select: { id: true, projectId: true, scoringConfig: true },
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

function weightsOf(experiment: Experiment): string {
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
