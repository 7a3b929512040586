import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RunConfig } from '../../domain/configs';
import { RunStatus } from '../../domain/statuses';
import { ScoreSource } from '../../scoring/score.entity';

const EXAMPLE_CONFIG = {
  prompt: 'Summarise: {{ticket}}',
  model: 'openai:gpt-4o-mini',
  params: { temperature: 0.7, max_tokens: 256 },
  input_data: { ticket: 'My order arrived broken, I want a refund.' },
};

/** The registry prompt version a run used (`{"ref": "name@label"}` prompts). */
export class RunPromptVersionDto {
  @ApiProperty({ format: 'uuid', example: '3c1a9e52-7f0b-4d8e-a1c3-5b2e9f6d7a10' }) prompt_id: string;
  @ApiProperty({ example: 'summarise' }) name: string;
  @ApiProperty({ example: 3 }) version: number;
}

/** The reference's `RunResponse`, field for field. */
export class RunResponseDto {
  @ApiProperty({ format: 'uuid', example: '5f0c6a2e-8b1d-4c1e-9a57-2f7b0f0b8d11' }) id: string;
  @ApiProperty({ format: 'uuid', example: '0b7e3c0e-1d7a-4f43-9a1e-6a8f5d2c4b90' }) experiment_id: string;
  @ApiProperty({
    description: 'Lowercase hex SHA-256 of the RFC 8785 canonical JSON of {prompt, model, params, input_data}.',
    example: '9f2d4c1b7a3e5d6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7',
  })
  config_hash: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: EXAMPLE_CONFIG }) config: RunConfig;
  @ApiProperty({ enum: RunStatus, enumName: 'RunStatus', example: RunStatus.Completed }) status: RunStatus;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-04-07T08:24:56.120Z' }) started_at:
    string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-04-07T08:24:57.480Z' })
  completed_at: string | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Milliseconds spent in provider calls: the sum of its stages’ durations, each the last attempt of its call ' +
      '(not waits for a concurrency slot or retry backoffs). A cache hit shows the duration of the run it copies.',
    example: 1360,
  })
  duration_ms: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Milliseconds from dispatch (the run became pending) to its claim by a worker; null before a claim.',
    example: 12,
  })
  queue_ms: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Provider calls made for the run’s stages, retries included (0 for a cache hit); null before it ended.',
    example: 1,
  })
  attempts: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 42 }) tokens_in: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 57 }) tokens_out: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'USD; null when the model has no known price.',
    example: 0.0000405,
  })
  cost_estimate: number | null;
  @ApiProperty({
    description: 'Served from a completed run with the same hash and repetition (no provider call).',
    example: false,
  })
  cache_hit: boolean;
  @ApiProperty({ type: String, nullable: true, example: null }) error: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The item_key of the dataset item the run came from (config.dataset); null for inline inputs.',
    example: 'ticket-0042',
  })
  dataset_item_key: string | null;
  @ApiProperty({
    type: RunPromptVersionDto,
    nullable: true,
    description:
      'The registry version of a {"ref": "name@label|version"} prompt, resolved at creation; null otherwise.',
  })
  prompt_version: RunPromptVersionDto | null;
}

export class RunListResponseDto {
  @ApiProperty({ type: [RunResponseDto] }) items: RunResponseDto[];
  @ApiProperty({ description: 'Every match before limit/offset.', example: 1 }) total: number;
}

export class StageResultResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ example: 'summarise' }) stage_name: string;
  @ApiProperty({ example: 0 }) stage_index: number;
  @ApiProperty({
    description:
      'The rendered prompt sent to the model: the text of a string prompt, or the JSON text of the rendered messages of a {messages} prompt.',
    example: 'Summarise: My order arrived broken, I want a refund.',
  })
  prompt: string;
  @ApiProperty({ type: String, nullable: true, example: 'Customer wants a refund for a broken order.' }) output:
    string | null;
  @ApiProperty({ example: 'openai:gpt-4o-mini' }) model: string;
  @ApiProperty({ type: Number, nullable: true, example: 42 }) tokens_in: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 57 }) tokens_out: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Milliseconds of the provider call’s last attempt (not slot waits or retry backoffs).',
    example: 1340,
  })
  duration_ms: number | null;
  @ApiProperty({ type: String, nullable: true, example: null }) error: string | null;
  @ApiProperty({
    type: 'array',
    nullable: true,
    items: {
      type: 'object',
      required: ['id', 'name', 'arguments'],
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        arguments: { description: 'Parsed JSON (the raw text when the provider sent arguments that are not JSON)' },
      },
    },
    example: [{ id: 'call_0', name: 'refund', arguments: { order_id: 'A-17' } }],
    description: 'The tool calls the model made; null when it called none.',
  })
  tool_calls: Array<{ id: string; name: string; arguments: unknown }> | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'tool_calls',
    description:
      "Why the model stopped, in OpenAI's words (stop, length, tool_calls, content_filter); null when unknown.",
  })
  finish_reason: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class ScoreResponseDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) run_id: string;
  @ApiProperty({ example: 'has_refund' }) scorer_name: string;
  @ApiProperty({ minimum: 0, maximum: 1, example: 1 }) value: number;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { reason: 'found "refund"' } })
  scorer_metadata: Record<string, unknown> | null;
  @ApiProperty({
    enum: ScoreSource,
    enumName: 'ScoreSource',
    description: '`auto` from a scorer, `human` from POST /api/runs/{id}/score.',
  })
  source: ScoreSource;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class RunDetailResponseDto extends RunResponseDto {
  @ApiProperty({ type: [StageResultResponseDto], description: 'Ordered by stage_index.' })
  stage_results: StageResultResponseDto[];
  @ApiProperty({ type: [ScoreResponseDto], description: 'Oldest first (created_at, then id).' })
  scores: ScoreResponseDto[];
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description:
      'Beyond the reference: present only when a scorer threw while scoring this run. Scorer name → error message; such a scorer wrote no score and the run did not fail.',
    example: { matches: 'expected field "expected" is missing from input_data' },
  })
  scoring_errors?: Record<string, string>;
}
