import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

export const DEFAULT_TOP_REGRESSIONS = 10;
export const MAX_TOP_REGRESSIONS = 100;

const KEY_REF_DESCRIPTION =
  'A configuration key (from the leaderboard) or a unique prefix of it, at least 8 hex digits; optional where that ' +
  'experiment has exactly one configuration.';

/** a / b / scorer as both compare-to and the gate take them. */
export class ConfigurationChoiceDto {
  @ApiPropertyOptional({ description: `Candidate configuration. ${KEY_REF_DESCRIPTION}`, example: '3f2a9c1d' })
  @IsOptional()
  @IsString()
  @MinLength(8)
  @MaxLength(64)
  a?: string;

  @ApiPropertyOptional({ description: `Baseline configuration. ${KEY_REF_DESCRIPTION}`, example: '9b8e7d6c' })
  @IsOptional()
  @IsString()
  @MinLength(8)
  @MaxLength(64)
  b?: string;

  @ApiPropertyOptional({
    description:
      "Compare this scorer's latest scores instead of the weighted scores; runs without a score from it take no part.",
    example: 'matches',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  scorer?: string;
}

export class CompareToQueryDto extends ConfigurationChoiceDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_TOP_REGRESSIONS,
    default: DEFAULT_TOP_REGRESSIONS,
    description: 'How many of the pairs with the largest drop to list in `regressions`.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_TOP_REGRESSIONS)
  top_regressions: number = DEFAULT_TOP_REGRESSIONS;
}

export class ScorerDeltaDto {
  @ApiProperty({ description: 'Pairs in which both runs have a latest score from this scorer.' })
  n_pairs: number;

  @ApiProperty({ type: Number, nullable: true, description: "Mean of a − b of this scorer's latest scores." })
  mean_diff: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Two-sided paired t-test (scipy.stats.ttest_rel).' })
  t_test_p: number | null;
}

export class RegressionDto {
  @ApiProperty({
    description:
      "The dataset item key of the pair's input; for inline inputs the SHA-256 hex of the canonical JSON of input_data " +
      '(what a dataset item without an `id` gets).',
  })
  item_key: string;

  @ApiProperty({ type: Object, description: 'The input both runs answered.', example: { ticket: 'My order is late' } })
  input_data: Record<string, unknown> | string;

  @ApiProperty({ description: 'Value of the candidate run.' })
  value_a: number;

  @ApiProperty({ description: 'Value of the baseline run (> value_a).' })
  value_b: number;

  @ApiProperty({ type: String, nullable: true, description: "The candidate run's output." })
  output_a: string | null;

  @ApiProperty({ type: String, nullable: true, description: "The baseline run's output." })
  output_b: string | null;
}

export class CompareToResultDto {
  @ApiProperty({ description: 'Candidate experiment id.' })
  experiment_id: string;

  @ApiProperty({ description: 'Baseline experiment id.' })
  baseline_experiment_id: string;

  @ApiProperty({ description: 'Full key of the candidate configuration.' })
  a: string;

  @ApiProperty({ description: 'Full key of the baseline configuration.' })
  b: string;

  @ApiProperty({
    description:
      'Pairs of runs (candidate a, baseline b) with the same dataset_item_key (else the same input_data) and repetition, both valued.',
  })
  n_pairs: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Mean value of the candidate runs over the pairs.' })
  mean_a: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Mean value of the baseline runs over the pairs.' })
  mean_b: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Mean of a − b over the pairs; null without pairs.' })
  mean_diff: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'mean_diff − t(0.975, n − 1) · sd / √n; null for < 2 pairs.',
  })
  ci95_low: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'mean_diff + t(0.975, n − 1) · sd / √n; null for < 2 pairs.',
  })
  ci95_high: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Two-sided paired t-test as scipy.stats.ttest_rel(a, b); null where SciPy gives nan.',
  })
  t_test_p: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Two-sided Wilcoxon signed-rank test as scipy.stats.wilcoxon(a, b) (SciPy 1.17 defaults); null where SciPy gives nan.',
  })
  wilcoxon_p: number | null;

  @ApiProperty({ description: 'Pairs where a > b.' })
  wins: number;

  @ApiProperty({ description: 'Pairs where a < b.' })
  losses: number;

  @ApiProperty({ description: 'Pairs where a = b.' })
  ties: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/ScorerDeltaDto' },
    description: "Per scorer seen in the pairs: the same comparison on that scorer's latest scores.",
    example: { has_refund: { n_pairs: 8, mean_diff: -0.125, t_test_p: 0.35 } },
  })
  per_scorer: Record<string, ScorerDeltaDto>;

  @ApiProperty({
    type: [RegressionDto],
    description: 'The pairs where the candidate scored lower than the baseline, largest drop first (top_regressions).',
  })
  regressions: RegressionDto[];
}
