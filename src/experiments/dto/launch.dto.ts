import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';

export const DEFAULT_MAX_RUNS = 10_000;
export const MAX_RUNS_CEILING = 1_000_000;

export class LaunchExperimentDto {
  @ApiPropertyOptional({ default: false, description: 'Plan and estimate only: creates nothing (runs_created 0)' })
  @IsOptional()
  @IsBoolean()
  dry_run?: boolean;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_RUNS_CEILING,
    default: DEFAULT_MAX_RUNS,
    description: 'A grid larger than this is refused with 400',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RUNS_CEILING)
  max_runs?: number;
}

export class LaunchResultDto {
  @ApiProperty({ description: 'Cells of the grid: prompts × models × sweep combinations × inputs × repetitions' })
  runs_planned: number;
  @ApiProperty({ description: '0 for a dry run' }) runs_created: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'USD estimate: tokens in ≈ ⌈words of the filled prompt × 1.3⌉, tokens out = max_tokens (or max_completion_tokens / ' +
      'max_output_tokens) else 256, one call per run (with stages: one per stage), × repetitions, priced by the price table ' +
      '(mock:echo = 0). null when a model has no known price. llm_judge scorer calls are not included.',
  })
  estimated_cost: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Dry run: the experiment budget (USD), if any' })
  budget_usd?: number | null;
  @ApiPropertyOptional({
    nullable: true,
    type: Boolean,
    description: 'Dry run: whether estimated_cost fits budget_usd (null without a budget or an estimate)',
  })
  fits_budget?: boolean | null;
}

export class CancelResultDto {
  @ApiProperty({ description: 'Pending and running runs moved to cancelled by this call' }) runs_cancelled: number;
}

export class RetryFailedResultDto {
  @ApiProperty({ description: 'Failed runs moved back to pending with a new attempt' }) runs_requeued: number;
}

export class RescoreResultDto {
  @ApiProperty({ description: 'Finished runs whose automatic scores were recomputed' }) runs_rescored: number;
}

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export class ExportQueryDto {
  @ApiPropertyOptional({ enum: EXPORT_FORMATS, default: 'csv' })
  @IsOptional()
  @IsIn(EXPORT_FORMATS, { message: 'format must be one of: csv, jsonl' })
  format?: ExportFormat;
}

export class EventsTicketDto {
  @ApiProperty({
    description:
      'Opens GET /api/experiments/{id}/events?ticket=… (this experiment only) without an Authorization header, ' +
      'for EventSource. A secret: valid until it expires (so EventSource can reconnect), not logged by the server.',
    example: 'sset_eyJlIjoi….Qm9x…',
  })
  ticket: string;

  @ApiProperty({ description: 'Seconds the ticket stays valid for opening the stream', example: 60 })
  expires_in: number;
}
