import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsEnum,
  IsNumber,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination.dto';
import { ExperimentStatus } from '../../domain/statuses';
import { PROMPT_SCHEMA } from '../../common/prompt-schema';

/** Documentation of `config` only: the service validates it (every problem in one 400). */
export class StageConfigDto {
  @ApiProperty({
    example: 'critique',
    description: 'Letters, digits, "_" or "-"; unique; referenced as {{stages.<name>.output}}',
  })
  name: string;
  @ApiProperty({
    ...PROMPT_SCHEMA,
    example: 'Critique this summary: {{stages.draft.output}}',
    description:
      'A string or {"messages": [...]}; may use input variables, and {{stages.<name>.output}} or {{stages.<name>.tool_calls}} (JSON) of earlier stages',
  })
  prompt: unknown;
  @ApiPropertyOptional({ example: 'mock:echo', description: "Defaults to the run's model" })
  model?: string;
  @ApiPropertyOptional({
    description: "Merged over the run's params, taken literally (not swept)",
    example: { temperature: 0 },
  })
  params?: Record<string, unknown>;
}

/** `config.dataset`: a dataset of the experiment's project, a version pinned at creation. */
export class DatasetRefDto {
  @ApiProperty({ format: 'uuid', example: '7d2f0a64-2c5e-4b8a-9f13-0e6b1c4d5a97' })
  id: string;
  @ApiPropertyOptional({
    minimum: 1,
    example: 1,
    description:
      'Omitted: the latest version when the experiment is created (or its config patched); the stored config always shows the pinned number',
  })
  version?: number;
}

export class ExperimentConfigDto {
  @ApiProperty({
    type: 'array',
    items: {
      oneOf: [
        PROMPT_SCHEMA,
        {
          type: 'object',
          properties: { ref: { type: 'string', example: 'summarise@production' } },
          required: ['ref'],
        },
      ],
    },
    example: [
      'Summarise: {{ticket}}',
      {
        messages: [
          { role: 'system', content: 'You are a support agent. Answer in one sentence.' },
          { role: 'user', content: 'TL;DR of this ticket: {{ticket}}' },
        ],
      },
    ],
    description:
      'Templates: a string (one user message) or {"messages": [{role: system|user|assistant|tool, content, tool_call_id?, ' +
      'tool_calls?}]}; or {"ref": "<name>@<label or version>"} of the project\'s prompt registry, resolved when the ' +
      'experiment is created or its config patched and stored resolved ({ref, prompt_id, name, version, template, params}; ' +
      "the version's params merge under the experiment's params; a chat ({messages}) version runs as messages). " +
      'Every {{var}} in every message must exist in every input (or dataset item). A run keeps its prompt in this shape (inside the config hash).',
  })
  prompts: unknown[];
  @ApiProperty({
    type: [String],
    example: ['mock:echo'],
    description:
      '"provider:model" ids known to the provider registry or the project connections; a model without usable credentials, or that cannot honour a param or message, is a 400',
  })
  models: string[];
  @ApiPropertyOptional({
    example: {
      temperature: [0, 0.7],
      max_tokens: 256,
      seed: { $sweep: [1, 2] },
      response_format: { type: 'json_object' },
      mock_tool_calls: [{ name: 'refund', arguments: { order_id: 'A-17' } }],
    },
    description:
      'A list value is a sweep axis (non-empty, distinct values), anything else is fixed. The structured request fields tools, tool_choice, response_format, stop, seed (and mock_tool_calls) are taken literally, lists too; {"$sweep": [v1, v2, ...]} sweeps any param explicitly. Each run carries one value per param.',
  })
  params?: Record<string, unknown>;
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object' },
    example: [{ ticket: 'My refund never arrived', expected: 'refund' }],
    description: 'Inline inputs; exactly one of inputs and dataset',
  })
  inputs?: Record<string, unknown>[];
  @ApiPropertyOptional({
    type: DatasetRefDto,
    description:
      "Instead of inputs: each item's data is a run's input_data, and runs carry dataset_item_key. Every {{var}} must " +
      'be a key of every item (400 naming the first offending item keys). 404 for a dataset of another project',
  })
  dataset?: DatasetRefDto;
  @ApiPropertyOptional({
    type: [StageConfigDto],
    nullable: true,
    description: "A pipeline; the run's output is the last stage's",
    example: [
      { name: 'draft', prompt: 'Summarise: {{ticket}}' },
      { name: 'critique', prompt: 'Critique this summary: {{stages.draft.output}}', params: { temperature: 0 } },
    ],
  })
  stages?: StageConfigDto[] | null;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 1 })
  repetitions?: number;
  @ApiPropertyOptional({
    default: true,
    description: 'false: never serve these runs from the cache (outside the config hash)',
  })
  cache?: boolean;
}

export class ScorerConfigDto {
  @ApiProperty({ example: 'has_refund' }) name: string;
  @ApiProperty({ example: 'contains', description: 'One of the types listed by GET /api/scorers' }) type: string;
  @ApiPropertyOptional({ example: { value: 'refund', case_sensitive: false } }) params?: Record<string, unknown>;
}

export class ScoringConfigDto {
  @ApiPropertyOptional({ type: [ScorerConfigDto] }) scorers?: ScorerConfigDto[];
  @ApiPropertyOptional({ example: { has_refund: 1 }, description: 'Only for declared scorers; finite numbers ≥ 0' })
  weights?: Record<string, number>;
}

/** Whole-body examples of POST /api/experiments: each succeeds as is on a fresh server (mock:echo, no key). */
export const CREATE_EXPERIMENT_EXAMPLES = {
  grid: {
    summary: '2 prompts × 2 temperatures × 2 inputs on mock:echo, scored',
    description:
      'No project_id: the experiment goes to your personal project. Launch it with POST /api/experiments/{id}/launch.',
    value: {
      name: 'summarise-support-tickets',
      description: 'Which prompt and temperature keep the word refund',
      config: {
        prompts: ['Summarise: {{ticket}}', 'TL;DR of this ticket: {{ticket}}'],
        models: ['mock:echo'],
        params: { temperature: [0, 0.7] },
        inputs: [
          { ticket: 'My refund never arrived', expected: 'refund' },
          { ticket: 'The parcel came broken, I want a refund', expected: 'refund' },
        ],
      },
      scoring_config: {
        scorers: [{ name: 'has_refund', type: 'contains', params: { value: 'refund', case_sensitive: false } }],
        weights: { has_refund: 1 },
      },
    },
  },
  pipeline: {
    summary: "A two-stage pipeline: the second stage reads the first one's output",
    value: {
      name: 'draft-then-critique',
      config: {
        prompts: ['Summarise: {{ticket}}'],
        models: ['mock:echo'],
        inputs: [{ ticket: 'My refund never arrived' }],
        stages: [
          { name: 'draft', prompt: 'Summarise: {{ticket}}' },
          { name: 'critique', prompt: 'Critique this summary: {{stages.draft.output}}' },
        ],
      },
    },
  },
  budget: {
    summary: 'A hard budget: spend (runs and judges) stops the experiment at $1',
    description:
      'mock:echo costs nothing, so this one completes. A priced model, e.g. `work-openai:gpt-4o-mini` of a project ' +
      'connection with prices, reserves each call before it starts; once the budget is spent the remaining runs end ' +
      'cancelled and the experiment stops with stop_reason "budget_exhausted". GET shows `spend` and `budget_usd`.',
    value: {
      name: 'capped-summaries',
      budget_usd: 1,
      config: {
        prompts: ['Summarise: {{ticket}}'],
        models: ['mock:echo'],
        params: { max_tokens: 64 },
        inputs: [{ ticket: 'My refund never arrived' }, { ticket: 'The parcel came broken' }],
      },
    },
  },
};

export class CreateExperimentDto {
  @ApiProperty({ maxLength: 200, example: 'summarise-support-tickets' })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 10000 })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      "The project to create it in (GET /api/projects lists yours; you need the editor role). Omit it to use the caller's " +
      'personal project (created at registration, `default_project_id`); an API key always uses its own project.',
  })
  @IsOptional()
  @IsUUID()
  project_id?: string;

  @ApiProperty({ type: ExperimentConfigDto })
  @IsObject()
  config: Record<string, unknown>;

  @ApiPropertyOptional({ type: ScoringConfigDto, nullable: true })
  @IsOptional()
  @IsObject()
  scoring_config?: Record<string, unknown> | null;

  @ApiPropertyOptional({
    nullable: true,
    type: Number,
    example: 5,
    description:
      'USD (> 0) for run and LLM-judge calls together. Once reached no provider call starts: remaining runs are cancelled ' +
      '("budget exhausted") and the experiment ends cancelled with stop_reason "budget_exhausted". Every model ' +
      '(judges included) needs a price (else 400). null removes it.',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1_000_000_000)
  budget_usd?: number | null;
}

export class UpdateExperimentDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @ValidateIf((o: UpdateExperimentDto) => o.name !== undefined)
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 10000 })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;

  @ApiPropertyOptional({
    type: ExperimentConfigDto,
    description: 'Only while the experiment is a draft (409 once launched)',
  })
  @ValidateIf((o: UpdateExperimentDto) => o.config !== undefined)
  @IsObject()
  config?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: ScoringConfigDto,
    nullable: true,
    description: 'Changeable after launch; POST …/rescore applies it to finished runs',
  })
  @IsOptional()
  @IsObject()
  scoring_config?: Record<string, unknown> | null;

  @ApiPropertyOptional({
    nullable: true,
    type: Number,
    example: 5,
    description:
      'USD (> 0) for run and LLM-judge calls together. Once reached no provider call starts: remaining runs are cancelled ' +
      '("budget exhausted") and the experiment ends cancelled with stop_reason "budget_exhausted". Every model ' +
      '(judges included) needs a price (else 400). null removes it.',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1_000_000_000)
  budget_usd?: number | null;
}

export class ListExperimentsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only this project (a project the caller is not in yields no items)',
  })
  @IsOptional()
  @IsUUID()
  project_id?: string;

  @ApiPropertyOptional({ enum: ExperimentStatus })
  @IsOptional()
  @IsEnum(ExperimentStatus)
  status?: ExperimentStatus;
}

export class ProgressDto {
  @ApiProperty({ description: 'Every run of the experiment = pending + running + completed + failed + cancelled' })
  total: number;
  @ApiProperty() pending: number;
  @ApiProperty() running: number;
  @ApiProperty() completed: number;
  @ApiProperty() failed: number;
  @ApiProperty() cancelled: number;
  @ApiProperty({ description: 'Completed runs served from the cache (a subset of completed)' }) cached: number;
}

export class SpendDto {
  @ApiProperty({ example: 0.0123, description: 'USD of run calls so far' }) cost_usd: number;
  @ApiProperty({ example: 0.002, description: 'USD of LLM-judge calls so far' }) judge_cost_usd: number;
}

export class ExperimentDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) project_id: string;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ type: ExperimentConfigDto }) config: Record<string, unknown>;
  @ApiProperty({ type: ScoringConfigDto, nullable: true }) scoring_config: Record<string, unknown> | null;
  @ApiProperty({ enum: ExperimentStatus }) status: ExperimentStatus;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
  @ApiProperty({ nullable: true, type: String }) launched_at: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When it became completed or cancelled' }) completed_at:
    string | null;
  @ApiProperty({ nullable: true, type: Number, example: 5 }) budget_usd: number | null;
  @ApiProperty({ type: SpendDto }) spend: SpendDto;
  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description: '"budget_exhausted" when the budget stopped it',
  })
  stop_reason: string | null;
}

export class ExperimentDetailDto extends ExperimentDto {
  @ApiProperty({ type: ProgressDto }) progress: ProgressDto;
}

export class ExperimentListDto {
  @ApiProperty({ type: [ExperimentDto] }) items: ExperimentDto[];
  @ApiProperty() total: number;
}
