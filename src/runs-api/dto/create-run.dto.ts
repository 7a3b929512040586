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
import { IsObjectOrString, IsScalarRecord } from './run-config.validators';

/** Same rule as experiment stages: the name sits inside `{{stages.<name>.output}}`. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,100}$/;

const SCALAR_MAP: { type: 'object'; additionalProperties: SchemaObject } = {
  type: 'object',
  additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], nullable: true },
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

  @ApiProperty({ example: 'Summarise: {{ticket}}' })
  @IsString()
  @IsNotEmpty()
  prompt: string;

  @ApiPropertyOptional({ example: 'mock:echo', description: "`provider:model`; defaults to the run's model." })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @ApiPropertyOptional({ ...SCALAR_MAP, description: "Merged over the run's params for this stage." })
  @IsOptional()
  @IsScalarRecord()
  params?: Record<string, string | number | boolean | null>;
}

export class AdHocRunConfigDto {
  @ApiProperty({ example: 'Summarise: {{ticket}}', description: '`{{var}}` is filled from input_data.' })
  @IsString()
  @IsNotEmpty()
  prompt: string;

  @ApiProperty({ example: 'mock:echo', description: 'A known `provider:model` id (see GET /api/models).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model: string;

  @ApiPropertyOptional({
    ...SCALAR_MAP,
    example: { temperature: 0 },
    description: 'Scalars only; defaults to {} in the hash.',
  })
  @IsOptional()
  @IsScalarRecord()
  params?: Record<string, string | number | boolean | null>;

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
