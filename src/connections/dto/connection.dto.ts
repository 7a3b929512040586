import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsEnum,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { ConnectionKind } from '../connection.entity';

export const CONNECTION_NAME = /^[a-z][a-z0-9-]{0,30}$/;

const PRICES_EXAMPLE = { 'llama3.1': { input: 0, output: 0 }, 'gpt-4o-mini': { input: 0.15, output: 0.6 } };

/**
 * Whole-body examples of POST /api/projects/{project_id}/connections: each succeeds as sent (no
 * base_url, so no address to resolve; the keys are placeholders). Models then go by the name as prefix,
 * e.g. `work-openai:gpt-4o-mini` beside `mock:echo` in one experiment.
 */
export const CREATE_CONNECTION_EXAMPLES = {
  'openai-compatible': {
    summary: 'An OpenAI key of the team, limited and priced',
    description:
      'No base_url: the provider default. A local Ollama or vLLM would set e.g. `"base_url": "http://localhost:11434/v1"` ' +
      '(loopback is accepted only with ALLOW_PRIVATE_URLS=true, the embedded default). Experiments then use ' +
      '`"models": ["mock:echo", "work-openai:gpt-4o-mini"]`; prices make it usable under a budget.',
    value: {
      name: 'work-openai',
      kind: 'openai',
      api_key: 'sk-example-not-a-real-key-0001',
      max_concurrency: 8,
      rpm_limit: 500,
      prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
    },
  },
  anthropic: {
    summary: 'An Anthropic key with a shared token limit',
    value: { name: 'team-claude', kind: 'anthropic', api_key: 'sk-ant-example-not-a-real-key-0002', tpm_limit: 200000 },
  },
};

/** Whole-body examples of PATCH /api/connections/{id} (each succeeds on a connection of the examples above). */
export const UPDATE_CONNECTION_EXAMPLES = {
  'rotate-key': {
    summary: 'Rotate the key: calls that start afterwards use the new one',
    value: { api_key: 'sk-example-not-a-real-key-rotated-0003' },
  },
  limits: {
    summary: 'Change the shared limits; null removes one',
    value: { rpm_limit: 100, max_concurrency: null },
  },
};

export class CreateConnectionDto {
  @ApiProperty({
    example: 'work-openai',
    description:
      'The model prefix inside this project (`work-openai:gpt-4o-mini`), `[a-z][a-z0-9-]{0,30}`, unique per project. ' +
      '`openai` or `anthropic` replace the instance-wide provider for this project only; `mock` is reserved.',
  })
  @IsString()
  @Matches(CONNECTION_NAME, { message: 'name must match [a-z][a-z0-9-]{0,30}' })
  name: string;

  @ApiProperty({
    enum: ConnectionKind,
    example: ConnectionKind.OpenAi,
    description: 'openai: any OpenAI-compatible endpoint',
  })
  @IsEnum(ConnectionKind)
  kind: ConnectionKind;

  @ApiPropertyOptional({
    example: 'https://api.openai.com/v1',
    description:
      'Absent: the provider default. Loopback, private, link-local and metadata targets are refused unless ALLOW_PRIVATE_URLS=true (the embedded default).',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  base_url?: string;

  @ApiPropertyOptional({
    example: 'sk-proj-…',
    description:
      'Encrypted at rest (AES-256-GCM); never returned — responses show `api_key_set` and (owner) `api_key_last4`.',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  api_key?: string;

  @ApiPropertyOptional({
    example: { 'OpenAI-Organization': 'org-123' },
    description:
      'Extra request headers (encrypted at rest: they may carry credentials); responses show the names only.',
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    example: 8,
    description: 'Calls in flight at once per worker process (default PROVIDER_CONCURRENCY)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  max_concurrency?: number;

  @ApiPropertyOptional({ example: 500, description: 'Calls per 60-second window across every worker process' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  rpm_limit?: number;

  @ApiPropertyOptional({
    example: 200000,
    description: 'Tokens (in + out) per 60-second window across every worker process',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_000_000_000)
  tpm_limit?: number;

  @ApiPropertyOptional({
    example: PRICES_EXAMPLE,
    description:
      'USD per million tokens, keyed by the model name after the prefix; needed for budgets on unlisted models',
  })
  @IsOptional()
  @IsObject()
  prices?: Record<string, { input: number; output: number }>;
}

/** Every field optional; `null` clears an optional one (`api_key: null` removes the key). */
export class UpdateConnectionDto {
  @ApiPropertyOptional({
    example: 'https://api.openai.com/v1',
    nullable: true,
    type: String,
    description: 'New endpoint (checked like at creation); null: back to the provider default',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(2000)
  base_url?: string | null;

  @ApiPropertyOptional({
    example: 'sk-proj-new…',
    nullable: true,
    type: String,
    description: 'Rotates the key: calls that start afterwards use the new one',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  api_key?: string | null;

  @ApiPropertyOptional({
    example: { 'OpenAI-Organization': 'org-123' },
    nullable: true,
    type: Object,
    description: 'Replaces every extra header (encrypted at rest); null removes them',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsObject()
  headers?: Record<string, string> | null;

  @ApiPropertyOptional({
    example: 8,
    nullable: true,
    type: Number,
    description: 'Calls in flight at once per worker process; null: PROVIDER_CONCURRENCY',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(10000)
  max_concurrency?: number | null;

  @ApiPropertyOptional({
    example: 500,
    nullable: true,
    type: Number,
    description: 'Calls per 60-second window across every worker process; null: no limit',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  rpm_limit?: number | null;

  @ApiPropertyOptional({
    example: 200000,
    nullable: true,
    type: Number,
    description: 'Tokens (in + out) per 60-second window across every worker process; null: no limit',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(2_000_000_000)
  tpm_limit?: number | null;

  @ApiPropertyOptional({
    example: PRICES_EXAMPLE,
    nullable: true,
    type: Object,
    description: 'Replaces the price list (USD per million tokens by model name after the prefix); null clears it',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsObject()
  prices?: Record<string, { input: number; output: number }> | null;
}

export class ConnectionDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', description: 'The project whose experiments may use it' }) project_id: string;
  @ApiProperty({ example: 'work-openai', description: 'The model prefix in the project (`work-openai:gpt-4o-mini`)' })
  name: string;
  @ApiProperty({ enum: ConnectionKind, example: ConnectionKind.OpenAi, description: 'The API it speaks' })
  kind: ConnectionKind;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'https://api.openai.com/v1',
    description: 'null: the provider default',
  })
  base_url: string | null;
  @ApiProperty({ description: 'Whether a key is stored (the key itself is never returned)' }) api_key_set: boolean;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    example: 'x9Qa',
    description: 'Last 4 characters of the key; present for owners only',
  })
  api_key_last4?: string | null;
  @ApiProperty({
    type: [String],
    example: ['OpenAI-Organization'],
    description: 'Names of the extra headers (values hidden)',
  })
  header_names: string[];
  @ApiProperty({ nullable: true, type: Number, example: 8, description: 'Calls in flight per worker process' })
  max_concurrency: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 500, description: 'Calls per 60 s across every worker' })
  rpm_limit: number | null;
  @ApiProperty({ nullable: true, type: Number, example: null, description: 'Tokens per 60 s across every worker' })
  tpm_limit: number | null;
  @ApiProperty({ example: PRICES_EXAMPLE, description: 'USD per million tokens by model name after the prefix' })
  prices: Record<string, { input: number; output: number }>;
  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' }) created_at: string;
  @ApiProperty({ example: '2026-01-01T12:00:00.000Z', description: 'Changes when the connection is PATCHed' })
  updated_at: string;
}

export class ConnectionListDto {
  @ApiProperty({ type: [ConnectionDto], description: 'Ordered by name' }) items: ConnectionDto[];
  @ApiProperty({ example: 2 }) total: number;
}
