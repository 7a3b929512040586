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
  @ApiPropertyOptional({ example: 'https://api.openai.com/v1', nullable: true, type: String })
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

  @ApiPropertyOptional({ example: { 'OpenAI-Organization': 'org-123' }, nullable: true, type: Object })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsObject()
  headers?: Record<string, string> | null;

  @ApiPropertyOptional({ example: 8, nullable: true, type: Number })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(10000)
  max_concurrency?: number | null;

  @ApiPropertyOptional({ example: 500, nullable: true, type: Number })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  rpm_limit?: number | null;

  @ApiPropertyOptional({ example: 200000, nullable: true, type: Number })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(2_000_000_000)
  tpm_limit?: number | null;

  @ApiPropertyOptional({ example: PRICES_EXAMPLE, nullable: true, type: Object })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsObject()
  prices?: Record<string, { input: number; output: number }> | null;
}

export class ConnectionDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) project_id: string;
  @ApiProperty({ example: 'work-openai' }) name: string;
  @ApiProperty({ enum: ConnectionKind }) kind: ConnectionKind;
  @ApiProperty({ nullable: true, type: String, example: 'https://api.openai.com/v1' }) base_url: string | null;
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
  @ApiProperty({ nullable: true, type: Number }) max_concurrency: number | null;
  @ApiProperty({ nullable: true, type: Number }) rpm_limit: number | null;
  @ApiProperty({ nullable: true, type: Number }) tpm_limit: number | null;
  @ApiProperty({ example: PRICES_EXAMPLE }) prices: Record<string, { input: number; output: number }>;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}

export class ConnectionListDto {
  @ApiProperty({ type: [ConnectionDto] }) items: ConnectionDto[];
  @ApiProperty() total: number;
}
