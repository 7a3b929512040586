import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { CompareToResultDto, ConfigurationChoiceDto } from './compare-to.dto';

const finite = { allowNaN: false, allowInfinity: false } as const;

export class GateRequestDto extends ConfigurationChoiceDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The experiment to compare against (needed by max_mean_drop and b).',
    example: '6f1c2a4e-8d3b-4f5a-9c7e-1b2d3e4f5a6b',
  })
  @IsOptional()
  @IsUUID('all')
  baseline_experiment_id?: string;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: "The candidate configuration's mean value must be ≥ this.",
  })
  @IsOptional()
  @IsNumber(finite)
  @Min(0)
  @Max(1)
  min_mean?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: "The candidate configuration's share of runs with value ≥ pass_threshold must be ≥ this.",
  })
  @IsOptional()
  @IsNumber(finite)
  @Min(0)
  @Max(1)
  min_pass_rate?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, default: 0.5, description: 'A run passes when its value is ≥ this.' })
  @IsOptional()
  @IsNumber(finite)
  @Min(0)
  @Max(1)
  pass_threshold?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description:
      'Fails only on a significant drop against the baseline: mean_diff (a − b) < −max_mean_drop and paired t-test p < alpha.',
  })
  @IsOptional()
  @IsNumber(finite)
  @Min(0)
  @Max(1)
  max_mean_drop?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    default: 0.05,
    description: 'Significance level of max_mean_drop (exclusive bounds 0 and 1).',
  })
  @IsOptional()
  @IsNumber(finite)
  @Min(Number.MIN_VALUE)
  @Max(1 - Number.EPSILON)
  alpha?: number;
}

export class GateCheckDto {
  @ApiProperty({
    enum: ['min_mean', 'min_pass_rate', 'max_mean_drop'],
    description: 'The criterion (its option name).',
  })
  name: 'min_mean' | 'min_pass_rate' | 'max_mean_drop';

  @ApiProperty()
  passed: boolean;

  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'min_mean: the mean; min_pass_rate: the pass rate; max_mean_drop: mean_diff (a − b). null when there is nothing to measure.',
  })
  value: number | null;

  @ApiProperty({ description: 'The option given (for max_mean_drop the allowed drop, compared with −value).' })
  threshold: number;

  @ApiPropertyOptional({ type: Number, nullable: true, description: 'max_mean_drop only: the paired t-test p-value.' })
  p_value?: number | null;

  @ApiPropertyOptional({ description: 'max_mean_drop only: the significance level used.' })
  alpha?: number;

  @ApiPropertyOptional({
    description:
      'Why a check could not measure what it states, e.g. fewer than 2 pairs (no significance test, so max_mean_drop cannot fail) or no scored run.',
  })
  reason?: string;
}

export class GateResultDto {
  @ApiProperty({ description: 'true when every check passed.' })
  passed: boolean;

  @ApiProperty({
    type: [GateCheckDto],
    description: 'One check per criterion given, in the order min_mean, min_pass_rate, max_mean_drop.',
  })
  checks: GateCheckDto[];

  @ApiProperty({ description: 'Full key of the candidate configuration the checks are about.' })
  a: string;

  @ApiProperty({
    type: CompareToResultDto,
    nullable: true,
    description: 'With baseline_experiment_id: the comparison (as GET …/compare-to/{baseline_id}); otherwise null.',
  })
  comparison: CompareToResultDto | null;
}
