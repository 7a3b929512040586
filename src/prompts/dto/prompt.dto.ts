import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { PROMPT_NAME } from '../prompt-ref';
import { type PromptTemplate } from '../prompt-template';

export class CreatePromptDto {
  @ApiProperty({
    maxLength: 120,
    example: 'summarise-ticket',
    description: 'Letters, digits, ".", "_" or "-" (starting with a letter or digit); unique within the project',
  })
  @IsString()
  @Matches(PROMPT_NAME, {
    message: 'name must be 1-120 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  name: string;

  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 10000, example: 'Support-ticket summaries' })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string | null;
}

export class PromptMessageDto {
  @ApiProperty({ enum: ['system', 'user', 'assistant', 'tool'], example: 'system' }) role: string;
  @ApiProperty({ example: 'You summarise support tickets in one sentence.', description: '{{var}} works here' })
  content: string;
  @ApiPropertyOptional({ description: 'Required for role "tool"' }) tool_call_id?: string;
}

@ApiExtraModels(PromptMessageDto)
export class ChatTemplateDto {
  @ApiProperty({ type: [PromptMessageDto] }) messages: PromptMessageDto[];
}

const TEMPLATE_SCHEMA = {
  oneOf: [{ type: 'string' }, { $ref: getSchemaPath(ChatTemplateDto) }],
  description: 'A string (one user message) or {"messages": [{role, content}, …]}; {{var}} placeholders allowed',
};

@ApiExtraModels(ChatTemplateDto)
export class CreatePromptVersionDto {
  @ApiProperty({
    ...TEMPLATE_SCHEMA,
    example: {
      messages: [
        { role: 'system', content: 'You summarise support tickets in one sentence.' },
        { role: 'user', content: 'Summarise: {{ticket}}' },
      ],
    },
  })
  @IsDefined()
  template: PromptTemplate;

  @ApiPropertyOptional({
    example: { temperature: 0.2, max_tokens: 256 },
    description:
      "Defaults for runs of this version; an experiment's params override them key by key. Taken literally (a list here is not a sweep).",
  })
  @IsOptional() // checked with the template by the service, so one 400 lists every problem
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 10000, example: 'Shorter system prompt' })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  note?: string | null;
}

export class MoveLabelDto {
  @ApiProperty({ example: 2, minimum: 1, description: 'An existing version of this prompt' })
  @IsInt()
  @Min(1)
  version: number;
}

export class PromptDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) project_id: string;
  @ApiProperty({ example: 'summarise-ticket' }) name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 3 }) latest_version: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { production: 2, staging: 3 },
    description: '{label: version}',
  })
  labels: Record<string, number>;
  @ApiProperty() created_at: string;
}

export class PromptListDto {
  @ApiProperty({ type: [PromptDto] }) items: PromptDto[];
  @ApiProperty() total: number;
}

@ApiExtraModels(ChatTemplateDto)
export class PromptVersionDto {
  @ApiProperty({ format: 'uuid' }) prompt_id: string;
  @ApiProperty({ example: 3 }) version: number;
  @ApiProperty({ ...TEMPLATE_SCHEMA, example: 'Summarise: {{ticket}}' }) template: PromptTemplate;
  @ApiProperty({ example: { temperature: 0.2 } }) params: Record<string, unknown>;
  @ApiProperty({ nullable: true, type: String }) note: string | null;
  @ApiProperty() created_at: string;
}

export class LabelMoveDto {
  @ApiProperty({ example: 'production' }) label: string;
  @ApiProperty({ example: 3 }) version: number;
  @ApiProperty({ nullable: true, type: Number, example: 2, description: 'Where the label pointed before; null if new' })
  previous_version: number | null;
}
