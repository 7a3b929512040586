import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Principal } from '../common/principal';
import { sha256CanonicalJson } from '../domain/canonical-json';
import { invalid } from '../common/domain-error';
import { Experiment } from '../experiments/experiment.entity';
import { ConfigLeaderboardService, queryWithWorkMem, weightsOf } from './config-leaderboard.service';
import { chooseConfiguration, configurationsOf } from './configurations';
import { CompareToResultDto, RegressionDto, ScorerDeltaDto } from './dto/compare-to.dto';
import { COMPARE_TO_SQL, type CompareToRow } from './leaderboard.sql';
import { pairedComparison } from './paired-comparison';
import { mean } from './stats';

export interface CompareToOptions {
  a?: string;
  b?: string;
  scorer?: string;
  topRegressions: number;
}

/**
 * A candidate experiment's configuration against a baseline experiment's, paired on the item
 * and repetition (API.md, "Comparing experiments and gating a change"). The pairing is one SQL
 * statement; Node gets one row of values per pair and the outputs of the listed regressions only.
 */
@Injectable()
export class CompareToService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly leaderboard: ConfigLeaderboardService,
  ) {}

  async compareTo(
    principal: Principal,
    candidateId: string,
    baselineId: string,
    options: CompareToOptions,
  ): Promise<CompareToResultDto> {
    const [candidate, baseline] = await Promise.all([
      this.leaderboard.readable(principal, candidateId),
      this.leaderboard.readable(principal, baselineId),
    ]);
    return this.compareExperiments(candidate, baseline, options);
  }

  /**
   * Both experiments already checked readable. Runs of both sides are valued with the
   * candidate's weights: one definition of "value" across the comparison, whatever weights the
   * baseline had.
   */
  async compareExperiments(
    candidate: Experiment,
    baseline: Experiment,
    options: CompareToOptions,
  ): Promise<CompareToResultDto> {
    const [candidateConfigs, baselineConfigs] = await Promise.all([
      configurationsOf(this.dataSource, candidate.id),
      configurationsOf(this.dataSource, baseline.id),
    ]);
    const a = chooseConfiguration(options.a, candidateConfigs, 'a', 'candidate');
    const b = chooseConfiguration(options.b, baselineConfigs, 'b', 'baseline');
    if (candidate.id === baseline.id && a === b) throw invalid('a and b name the same configuration');

    const rows = await queryWithWorkMem<CompareToRow>(this.dataSource, COMPARE_TO_SQL, [
      candidate.id,
      weightsOf(candidate),
      options.scorer ?? null,
      JSON.stringify(candidateConfigs.get(a)),
      baseline.id,
      JSON.stringify(baselineConfigs.get(b)),
      options.topRegressions,
    ]);
    const va = rows.map((r) => r.a);
    const vb = rows.map((r) => r.b);
    return {
      experiment_id: candidate.id,
      baseline_experiment_id: baseline.id,
      a,
      b,
      ...pairedComparison(va, vb),
      mean_a: mean(va),
      mean_b: mean(vb),
      per_scorer: perScorer(rows),
      regressions: regressionsOf(rows),
    };
  }
}

/** Per scorer, the comparison over the pairs where both runs have that scorer's latest score. */
function perScorer(rows: readonly CompareToRow[]): Record<string, ScorerDeltaDto> {
  const samples = new Map<string, { a: number[]; b: number[] }>();
  for (const row of rows) {
    for (const [scorer, valueA] of Object.entries(row.scores_a)) {
      const valueB = row.scores_b[scorer];
      if (valueB === undefined) continue;
      let sample = samples.get(scorer);
      if (!sample) samples.set(scorer, (sample = { a: [], b: [] }));
      sample.a.push(valueA);
      sample.b.push(valueB);
    }
  }
  const result: Record<string, ScorerDeltaDto> = {};
  for (const scorer of [...samples.keys()].sort()) {
    const { a, b } = samples.get(scorer)!;
    const stats = pairedComparison(a, b);
    result[scorer] = { n_pairs: stats.n_pairs, mean_diff: stats.mean_diff, t_test_p: stats.t_test_p };
  }
  return result;
}

function regressionsOf(rows: readonly CompareToRow[]): RegressionDto[] {
  return rows
    .filter((row) => row.drop_rank !== null)
    .sort((x, y) => x.drop_rank! - y.drop_rank!)
    .map((row) => {
      const input = row.input_data ?? '';
      return {
        item_key: row.item_key ?? sha256CanonicalJson(input),
        input_data: input,
        value_a: row.a,
        value_b: row.b,
        output_a: row.output_a,
        output_b: row.output_b,
      };
    });
}
