import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination.dto';
import { CONFIG_DIMENSIONS, ConfigDimension } from '../config-key';

/** `a,b` (or the parameter repeated) → ['a', 'b']; anything else is left for the validators to reject. */
const commaList = ({ value }: { value: unknown }): unknown => {
  const parts = Array.isArray(value) ? value : [value];
  if (!parts.every((p) => typeof p === 'string')) return value;
  return parts.flatMap((p) => p.split(',')).map((p) => p.trim());
};

const SCORER_DESCRIPTION =
  "Rank by this scorer's latest score instead of the weighted score; runs without a score from it take no part.";
const COMPARE_SCORER_DESCRIPTION =
  "Compare this scorer's latest scores instead of the weighted scores; runs without a score from it take no part.";

export class ConfigLeaderboardQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    type: String,
    example: 'prompt,model,params',
    default: 'prompt,model,params',
    description:
      'Comma-separated dimensions to group runs by (any of prompt, model, params). A dimension left out is not part of the ' +
      'group: its field is null in every item, and the item `key` is the SHA-256 of the canonical JSON of ' +
      '{prompt, model, params} with that field null (so a model-only group has a key of its own, never equal to a full configuration key).',
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayNotEmpty({ message: 'group_by must name at least one of prompt, model, params' })
  @IsIn(CONFIG_DIMENSIONS, { each: true, message: 'group_by may only contain prompt, model, params' })
  group_by: ConfigDimension[] = [...CONFIG_DIMENSIONS];

  @ApiPropertyOptional({ description: SCORER_DESCRIPTION, example: 'matches' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  scorer?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, default: 0.5, description: 'A run passes when its value is ≥ this.' })
  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  pass_threshold: number = 0.5;
}

export class ConfigLeaderboardItemDto {
  @ApiProperty({
    description:
      'Lowercase hex SHA-256 of the canonical JSON of {prompt, model, params} (null for a dimension not grouped on).',
  })
  key: string;

  @ApiProperty({
    // OpenAPI 3.0: `nullable` needs a `type` beside it, so one alternative carries it.
    anyOf: [
      { type: 'string', nullable: true },
      { type: 'object', properties: { messages: { type: 'array', items: { type: 'object' } } } },
    ],
    description: 'The prompt as configured (a string or {messages}); null when not grouped on prompt',
  })
  prompt: unknown;

  @ApiProperty({ type: String, nullable: true, description: 'null when not grouped on model' })
  model: string | null;

  @ApiProperty({
    type: Object,
    nullable: true,
    description: 'Scalar params of the cell ({} when none); null when not grouped on params',
  })
  params: Record<string, unknown> | null;

  @ApiProperty({
    description: 'Runs that took part: completed, with at least one score (with `scorer=`, one from that scorer).',
  })
  n: number;

  @ApiProperty({ description: "Mean of the runs' values (weighted score, or the chosen scorer's score)." })
  mean: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Sample standard deviation (n − 1); null when n = 1.' })
  stddev: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'mean − t(0.975, n − 1) · stddev / √n; null when n = 1.' })
  ci95_low: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'mean + t(0.975, n − 1) · stddev / √n; null when n = 1.' })
  ci95_high: number | null;

  @ApiProperty({ description: 'Share of runs whose value ≥ pass_threshold.' })
  pass_rate: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Mean cost_estimate (USD) over runs with a known cost; null when none is known.',
  })
  mean_cost: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Median duration (continuous percentile, as PostgreSQL percentile_cont).',
  })
  p50_duration_ms: number | null;

  @ApiProperty({ type: Number, nullable: true, description: '95th percentile duration (continuous percentile).' })
  p95_duration_ms: number | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: "Per scorer, the mean of its latest scores over the group's runs that have one.",
    example: { has_refund: 0.75, matches: 0.62 },
  })
  scores: Record<string, number>;
}

export class ConfigLeaderboardPageDto {
  @ApiProperty({ type: [ConfigLeaderboardItemDto], description: 'Best mean first; ties by key.' })
  items: ConfigLeaderboardItemDto[];

  @ApiProperty({ description: 'Number of groups before limit/offset.' })
  total: number;
}

const KEY_REF = {
  description: 'A configuration key (from the leaderboard) or a unique prefix of it, at least 8 hex digits.',
  example: '3f2a9c1d',
} as const;

export class CompareQueryDto {
  @ApiProperty(KEY_REF)
  @IsString()
  @MinLength(8)
  @MaxLength(64)
  a: string;

  @ApiProperty(KEY_REF)
  @IsString()
  @MinLength(8)
  @MaxLength(64)
  b: string;

  @ApiPropertyOptional({ description: COMPARE_SCORER_DESCRIPTION, example: 'matches' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  scorer?: string;
}

export class CompareResultDto {
  @ApiProperty({ description: 'Full key of configuration a.' })
  a: string;

  @ApiProperty({ description: 'Full key of configuration b.' })
  b: string;

  @ApiProperty({
    description: 'Pairs of runs (one of a, one of b) with the same input_data and repetition, both valued.',
  })
  n_pairs: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Mean of a − b over the pairs; null without pairs.' })
  mean_diff: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'mean_diff − t(0.975, n − 1) · sd / √n; null for fewer than 2 pairs.',
  })
  ci95_low: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'mean_diff + t(0.975, n − 1) · sd / √n; null for fewer than 2 pairs.',
  })
  ci95_high: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Two-sided paired t-test, as scipy.stats.ttest_rel(a, b); null where SciPy gives nan (< 2 pairs, all differences zero).',
  })
  t_test_p: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Two-sided Wilcoxon signed-rank test, as scipy.stats.wilcoxon(a, b) with the defaults of SciPy 1.17 (zero differences dropped, ' +
      'no continuity correction; exact distribution up to 50 pairs without ties or zeros, exhaustive sign-flip permutation up to 13 pairs ' +
      'with ties or zeros, normal approximation with tie correction otherwise); null where SciPy gives nan or no result.',
  })
  wilcoxon_p: number | null;

  @ApiProperty({ description: 'Pairs where a > b.' })
  wins: number;

  @ApiProperty({ description: 'Pairs where a < b.' })
  losses: number;

  @ApiProperty({ description: 'Pairs where a = b.' })
  ties: number;
}
