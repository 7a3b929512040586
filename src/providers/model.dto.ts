import { ApiProperty } from '@nestjs/swagger';

export class ModelDto {
  @ApiProperty({
    example: 'openai:gpt-4o-mini',
    description: 'The `provider:model` id to use in an experiment or run.',
  })
  id: string;

  @ApiProperty({ example: 'openai', enum: ['openai', 'anthropic', 'mock'] })
  provider: string;

  @ApiProperty({ example: 0.15, description: 'USD per million input (prompt) tokens.' })
  input_price_per_mtok: number;

  @ApiProperty({ example: 0.6, description: 'USD per million output (completion) tokens.' })
  output_price_per_mtok: number;
}

export class ModelListDto {
  @ApiProperty({ type: [ModelDto] })
  items: ModelDto[];
}
