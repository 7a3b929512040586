import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Principal } from '../common/principal';
import { conflict, ErrorCode, invalid } from '../common/domain-error';
import { ExperimentStatus } from '../domain/statuses';
import { Experiment } from '../experiments/experiment.entity';
import { CompareToService } from './compare-to.service';
import { CONFIG_DIMENSIONS } from './config-key';
import { ConfigLeaderboardService } from './config-leaderboard.service';
import { chooseConfiguration, configurationsOf } from './configurations';
import { type CompareToResultDto, DEFAULT_TOP_REGRESSIONS } from './dto/compare-to.dto';
import { type GateCheckDto, type GateRequestDto, type GateResultDto } from './dto/gate.dto';

export const DEFAULT_PASS_THRESHOLD = 0.5;
export const DEFAULT_ALPHA = 0.05;

const ENDED: readonly ExperimentStatus[] = [ExperimentStatus.Completed, ExperimentStatus.Cancelled];

/**
 * The CI verdict on a candidate experiment (API.md, "gate"): one check per criterion given.
 * min_mean and min_pass_rate read the candidate configuration's row of the configuration
 * leaderboard; max_mean_drop reads compare-to and fails only for a significant drop.
 */
@Injectable()
export class GateService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly leaderboard: ConfigLeaderboardService,
    private readonly compare: CompareToService,
  ) {}

  async gate(principal: Principal, experimentId: string, body: GateRequestDto): Promise<GateResultDto> {
    const baselineId = body.baseline_experiment_id;
    const problems: string[] = [];
    if (body.min_mean === undefined && body.min_pass_rate === undefined && body.max_mean_drop === undefined) {
      problems.push('give at least one criterion: min_mean, min_pass_rate or max_mean_drop');
    }
    if (baselineId === undefined) {
      if (body.max_mean_drop !== undefined) problems.push('max_mean_drop needs baseline_experiment_id');
      if (body.b !== undefined) problems.push('b needs baseline_experiment_id');
    }
    if (problems.length > 0) throw invalid(problems);

    const [candidate, baseline] = await Promise.all([
      this.leaderboard.readable(principal, experimentId),
      baselineId === undefined ? null : this.leaderboard.readable(principal, baselineId),
    ]);
    requireEnded(candidate, 'candidate');
    if (baseline) requireEnded(baseline, 'baseline');

    const options = { a: body.a, b: body.b, scorer: body.scorer, topRegressions: DEFAULT_TOP_REGRESSIONS };
    const comparison = baseline ? await this.compare.compareExperiments(candidate, baseline, options) : null;
    const a =
      comparison?.a ??
      chooseConfiguration(body.a, await configurationsOf(this.dataSource, candidate.id), 'a', 'candidate');

    const checks: GateCheckDto[] = [];
    if (body.min_mean !== undefined || body.min_pass_rate !== undefined) {
      const passThreshold = body.pass_threshold ?? DEFAULT_PASS_THRESHOLD;
      const board = await this.leaderboard.rank(principal, candidate.id, {
        groupBy: CONFIG_DIMENSIONS,
        scorer: body.scorer,
        passThreshold,
        limit: Number.MAX_SAFE_INTEGER,
        offset: 0,
      });
      const row = board.items.find((item) => item.key === a) ?? null;
      const reason = row ? undefined : 'no completed run of configuration a has a score';
      if (body.min_mean !== undefined) checks.push(atLeast('min_mean', row?.mean ?? null, body.min_mean, reason));
      if (body.min_pass_rate !== undefined) {
        checks.push(atLeast('min_pass_rate', row?.pass_rate ?? null, body.min_pass_rate, reason));
      }
    }
    if (body.max_mean_drop !== undefined && comparison) {
      checks.push(meanDropCheck(comparison, body.max_mean_drop, body.alpha ?? DEFAULT_ALPHA));
    }
    return { passed: checks.every((c) => c.passed), checks, a, comparison };
  }
}

function requireEnded(experiment: Experiment, role: string): void {
  if (!ENDED.includes(experiment.status)) {
    throw conflict(
      `The ${role} experiment ${experiment.id} has not ended (status ${experiment.status}): gate it once every run has ended`,
      ErrorCode.ExperimentNotEnded,
    );
  }
}

function atLeast(
  name: 'min_mean' | 'min_pass_rate',
  value: number | null,
  threshold: number,
  reason: string | undefined,
): GateCheckDto {
  return { name, passed: value !== null && value >= threshold, value, threshold, ...(reason ? { reason } : {}) };
}

/** Fails only when the candidate is worse by more than the allowed drop and the paired t-test says it is no accident. */
export function meanDropCheck(comparison: CompareToResultDto, maxMeanDrop: number, alpha: number): GateCheckDto {
  const { n_pairs: n, mean_diff: diff, t_test_p: p } = comparison;
  const base = { name: 'max_mean_drop' as const, value: diff, threshold: maxMeanDrop, p_value: p, alpha };
  if (n < 2) {
    return {
      ...base,
      passed: true,
      reason:
        `${n} pair${n === 1 ? '' : 's'} of runs matched the baseline: a paired t-test needs at least 2, ` +
        'so no drop can be shown significant',
    };
  }
  if (p === null) {
    // SciPy's nan: every difference is zero, so there is no drop at all.
    return { ...base, passed: true, reason: 'every pair has the same value on both sides: no drop' };
  }
  const significantDrop = diff !== null && diff < -maxMeanDrop && p < alpha;
  return { ...base, passed: !significantDrop };
}
