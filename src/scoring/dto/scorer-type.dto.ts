import { ApiProperty } from '@nestjs/swagger';

export class ScorerTypeDto {
  @ApiProperty({ example: 'contains', description: 'The `type` to use in `scoring_config.scorers[i].type`.' })
  type: string;

  @ApiProperty({ description: 'What the scorer measures and how its value in [0, 1] is computed.' })
  description: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: "JSON Schema of the scorer's `params`." })
  params_schema: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'A complete scorer declaration that validates, ready for `scoring_config.scorers`.',
    example: { name: 'mentions_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } },
  })
  example: { name: string; type: string; params: Record<string, unknown> };
}

export class ScorerTypeListDto {
  @ApiProperty({ type: [ScorerTypeDto] })
  items: ScorerTypeDto[];
}
