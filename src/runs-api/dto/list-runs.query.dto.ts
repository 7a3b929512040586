import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsNumber, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination.dto';
import { RunStatus } from '../../domain/statuses';

/** `Number('')` is 0: an empty query value must fail validation, not mean zero. */
export const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (value.trim() === '' ? Number.NaN : Number(value)) : value;

export class ListRunsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only runs of this experiment (404 when it is not visible to the caller).',
  })
  @IsOptional()
  @IsUUID()
  experiment_id?: string;

  @ApiPropertyOptional({ enum: RunStatus, enumName: 'RunStatus' })
  @IsOptional()
  @IsEnum(RunStatus)
  status?: RunStatus;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: 'Keeps runs whose average of all their scores is ≥ this (runs without scores drop out).',
  })
  @IsOptional()
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  min_score?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    description: 'Keeps runs whose average of all their scores is ≤ this (runs without scores drop out).',
  })
  @IsOptional()
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  max_score?: number;
}
