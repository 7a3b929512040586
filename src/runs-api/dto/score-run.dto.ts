import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ScoreRunDto {
  @ApiProperty({ example: 'human_quality' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  scorer_name: string;

  @ApiProperty({ minimum: 0, maximum: 1, example: 0.8 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  value: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { reviewer: 'grace', note: 'concise, but misses the order id' },
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

/** The reference's `ScoreResponse` (no `source`: this route only writes human scores). */
export class HumanScoreResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ example: 'human_quality' }) scorer_name: string;
  @ApiProperty({ minimum: 0, maximum: 1, example: 0.8 }) value: number;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { reviewer: 'grace' } })
  scorer_metadata: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}
