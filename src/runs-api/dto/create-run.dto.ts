import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IsObjectOrString, IsStringOrObject } from './run-config.validators';
import { type Prompt } from '../../domain/prompt';
import { PROMPT_SCHEMA } from '../../common/prompt-schema';

/** Same rule as experiment stages: the name sits inside `{{stages.<name>.output}}`. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,100}$/;

const PARAMS_MAP: { type: 'object'; additionalProperties: SchemaObject } = {
  type: 'object',
  additionalProperties: {
    description:
      'Any JSON value, sent literally (tools, tool_choice, response_format, stop, seed, mock_tool_calls…). One call: no {"$sweep"}, and a list only on those literal fields.',
  },
};

export class AdHocStageConfigDto {
  @ApiProperty({
    example: 'summarise',
    pattern: STAGE_NAME.source,
    description: 'Unique within the run; later stages refer to it as {{stages.<name>.output}}.',
  })
  @IsString()
  @Matches(STAGE_NAME, {
    message: '$property must be 1-100 letters, digits, "_" or "-" (it is referenced as {{stages.<name>.output}})',
  })
  name: string;

  @ApiProperty({
    ...PROMPT_SCHEMA,
    example: 'Summarise: {{ticket}}',
    description: 'A string or {"messages": [...]}; may use {{stages.<name>.output}} / {{stages.<name>.tool_calls}}.',
  })
  @IsStringOrObject()
  prompt: Prompt;

  @ApiPropertyOptional({ example: 'mock:echo', description: "`provider:model`; defaults to the run's model." })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @ApiPropertyOptional({ ...PARAMS_MAP, description: "Merged over the run's params for this stage." })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;
}

export class AdHocRunConfigDto {
  @ApiProperty({
    ...PROMPT_SCHEMA,
    example: {
      messages: [
        { role: 'system', content: 'You summarise support tickets in one sentence.' },
        { role: 'user', content: 'Summarise: {{ticket}}' },
      ],
    },
    description:
      'A string (one user message) or {"messages": [{role, content, tool_call_id?, tool_calls?}]} with roles system, user, assistant, tool; `{{var}}` is filled from input_data in every content. Kept in this shape in the run config (and the hash).',
  })
  @IsStringOrObject()
  prompt: Prompt;

  @ApiProperty({ example: 'mock:echo', description: 'A known `provider:model` id (see GET /api/models).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model: string;

  @ApiPropertyOptional({
    ...PARAMS_MAP,
    example: {
      temperature: 0,
      tools: [
        {
          type: 'function',
          function: { name: 'refund', parameters: { type: 'object', properties: { order_id: { type: 'string' } } } },
        },
      ],
      mock_tool_calls: [{ name: 'refund', arguments: { order_id: 'A-17' } }],
    },
    description:
      "Sent to the provider literally (structured fields too); defaults to {} in the hash. A field the model's provider cannot honour is a 400.",
  })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({
    oneOf: [{ type: 'object', additionalProperties: true }, { type: 'string' }],
    example: { ticket: 'My order arrived broken, I want a refund.' },
    description: 'Template variables (or one string); defaults to "" in the hash.',
  })
  @IsOptional()
  @IsObjectOrString()
  input_data?: Record<string, unknown> | string;

  @ApiPropertyOptional({
    type: [AdHocStageConfigDto],
    nullable: true,
    description: "A multi-stage pipeline; the run output is the last stage's.",
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => AdHocStageConfigDto)
  stages?: AdHocStageConfigDto[] | null;

  @ApiPropertyOptional({ default: true, description: 'false: never served from the cache (outside the hash).' })
  @IsOptional()
  @IsBoolean()
  cache?: boolean;
}

/**
 * Whole-body example of POST /api/runs. `experiment_id` must be the id of an experiment of yours:
 * the placeholder is replaced by one (e.g. the `id` answered by the POST /api/experiments example).
 */
export const CREATE_RUN_EXAMPLES = {
  adHoc: {
    summary: 'One mock:echo run in an experiment of yours',
    description: 'Replace experiment_id with the id of one of your experiments (POST /api/experiments answers one).',
    value: {
      experiment_id: '0b7e3c0e-1d7a-4f43-9a1e-6a8f5d2c4b90',
      config: {
        prompt: 'Summarise: {{ticket}}',
        model: 'mock:echo',
        params: { temperature: 0 },
        input_data: { ticket: 'My order arrived broken, I want a refund.' },
      },
    },
  },
};

export class CreateRunDto {
  @ApiProperty({
    format: 'uuid',
    example: '0b7e3c0e-1d7a-4f43-9a1e-6a8f5d2c4b90',
    description: 'An experiment you can edit (the run is grouped with its runs); GET /api/experiments lists yours',
  })
  @IsUUID()
  experiment_id: string;

  @ApiProperty({ type: AdHocRunConfigDto })
  @IsObject()
  @ValidateNested()
  @Type(() => AdHocRunConfigDto)
  config: AdHocRunConfigDto;
}
