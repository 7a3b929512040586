import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { RunConfig } from '../../domain/configs';
import { RunStatus } from '../../domain/statuses';

export class RunLeaderboardQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  top_n: number = 10;
}

export class LeaderboardEntryDto {
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ example: '9f2d4c1b7a3e5d6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7' }) config_hash: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { prompt: 'Summarise: {{ticket}}', model: 'mock:echo', params: {}, input_data: { ticket: '…' } },
  })
  config: RunConfig;
  @ApiProperty({ enum: RunStatus, enumName: 'RunStatus', example: RunStatus.Completed }) status: RunStatus;
  @ApiProperty({
    example: 0.85,
    description:
      "Over each scorer's latest score: Σ w·v / Σ w over the scorers with a weight in scoring_config.weights; the plain mean when none has one.",
  })
  weighted_score: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { has_refund: 1, matches: 0.8 },
    description: 'Latest score per scorer.',
  })
  scores: Record<string, number>;
  @ApiProperty({ type: Number, nullable: true, example: 1360 }) duration_ms: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 42 }) tokens_in: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 57 }) tokens_out: number | null;
}

export class LeaderboardResponseDto {
  @ApiProperty({ format: 'uuid' }) experiment_id: string;
  @ApiProperty({ type: [LeaderboardEntryDto], description: 'Best first; ties: earlier completed_at, then run id.' })
  entries: LeaderboardEntryDto[];
  @ApiProperty({
    example: 42,
    description: 'How many runs took part (completed, with at least one score), before top_n.',
  })
  total: number;
}
