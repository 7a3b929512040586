import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { SUBSCRIBABLE_EVENT_TYPES } from '../../outbox/outbox-event-types';

const URL_DESCRIPTION =
  'Receiver of the POSTs: an absolute http(s) URL without credentials. Loopback, private, link-local and ' +
  'metadata addresses are refused (400) unless ALLOW_PRIVATE_URLS=true; the check is repeated on the resolved ' +
  'addresses at every delivery. Redirects are never followed.';
const HEADERS_DESCRIPTION =
  "Custom request headers sent with every delivery, e.g. a receiver's own token (at most 20; values up to " +
  '4000 characters, one line). Values are treated as secrets: stored encrypted, never returned or logged — ' +
  'responses show `header_names` only. Hop-by-hop headers (Connection, Keep-Alive, Transfer-Encoding, TE, ' +
  'Trailer, Upgrade, Proxy-*), the ones the sender sets (Host, Content-Length, Content-Type, Content-Encoding, ' +
  'Expect, User-Agent) and the signature headers (webhook-id, webhook-timestamp, webhook-signature) are refused (400).';
const EVENTS_DESCRIPTION =
  'Event types to receive. `run.completed` and `run.failed` are opt-in: one event per run. `ping` is sent ' +
  'only by POST /api/webhooks/{id}/test and need not be listed.';

export class CreateWebhookDto {
  @ApiProperty({ description: URL_DESCRIPTION, example: 'https://ci.example.com/hooks/promptlooper' })
  @IsString()
  @MaxLength(2048)
  url: string;

  @ApiProperty({
    description: EVENTS_DESCRIPTION,
    enum: SUBSCRIBABLE_EVENT_TYPES,
    isArray: true,
    example: ['experiment.completed', 'experiment.cancelled'],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(SUBSCRIBABLE_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE_EVENT_TYPES, { each: true })
  events: string[];

  @ApiPropertyOptional({
    description: 'Free text for people',
    example: 'CI gate: tell the pipeline when a nightly eval ends',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ description: 'false: created switched off (no events are recorded for it)', default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    description: HEADERS_DESCRIPTION,
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'X-Receiver-Token': 'rt_3f9c2b7e' },
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ description: URL_DESCRIPTION, example: 'https://ci.example.com/hooks/promptlooper-v2' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({
    description: EVENTS_DESCRIPTION,
    enum: SUBSCRIBABLE_EVENT_TYPES,
    isArray: true,
    example: ['experiment.completed', 'run.failed'],
  })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(SUBSCRIBABLE_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE_EVENT_TYPES, { each: true })
  events?: string[];

  @ApiPropertyOptional({ description: 'null clears it', nullable: true, type: String, example: 'nightly evals' })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({
    description:
      'true re-enables a subscription that delivery disabled (410 Gone or 20 failures in a row) and resets its failure count',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    description: `Replaces the whole map; null or {} removes every custom header. ${HEADERS_DESCRIPTION}`,
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    example: { 'X-Receiver-Token': 'rt_8d41a0c5' },
  })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsObject()
  headers?: Record<string, string> | null;
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) project_id: string;
  @ApiProperty({ example: 'https://ci.example.com/hooks/promptlooper' }) url: string;
  @ApiProperty({ enum: SUBSCRIBABLE_EVENT_TYPES, isArray: true }) events: string[];
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty() enabled: boolean;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why delivery disabled it: "the receiver answered 410 Gone" or "20 failed attempts in a row"',
  })
  disabled_reason: string | null;
  @ApiProperty({ nullable: true, type: String }) disabled_at: string | null;
  @ApiProperty({ description: 'Failed attempts in a row (any event); 20 disable the subscription' })
  consecutive_failures: number;
  @ApiProperty({
    type: [String],
    example: ['X-Receiver-Token'],
    description: 'Names of the custom headers sent with each delivery (values are never shown)',
  })
  header_names: string[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Until then the secret before the last rotation signs too (a second `v1,` entry)',
  })
  previous_secret_expires_at: string | null;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;
}

export class WebhookWithSecretDto extends WebhookDto {
  @ApiProperty({
    description:
      'The signing secret, `whsec_` + base64 of 32 random bytes. Shown only in this response; stored encrypted. ' +
      'Verify with any Standard Webhooks library.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4ukJSV3nW8E=',
  })
  secret: string;
}

export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto] }) items: WebhookDto[];
  @ApiProperty() total: number;
}

export class WebhookPingDto {
  @ApiProperty({ format: 'uuid', description: 'The `webhook-id` the ping is sent with' }) event_id: string;
}

export class DeliveryAttemptDto {
  @ApiProperty({ format: 'uuid', description: 'This attempt; POST …/deliveries/{id}/redeliver accepts it' }) id: string;
  @ApiProperty({ format: 'uuid', description: 'The delivery (one event to this subscription) it belongs to' })
  delivery_id: string;
  @ApiProperty({ format: 'uuid', description: 'The `webhook-id` header: the same on every attempt' }) event_id: string;
  @ApiProperty({ example: 'experiment.completed' }) event_type: string;
  @ApiProperty({ description: '1 for the first attempt of the delivery' }) attempt: number;
  @ApiProperty({ nullable: true, type: Number, description: 'null when no answer arrived' }) status_code: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'HTTP 500: upstream unavailable' }) error: string | null;
  @ApiProperty() duration_ms: number;
  @ApiProperty() created_at: string;
  @ApiProperty({ nullable: true, type: String, description: 'When the retry after this attempt is due; null: none' })
  next_attempt_at: string | null;
  @ApiProperty({
    enum: ['pending', 'delivering', 'succeeded', 'failed', 'abandoned'],
    description: "The delivery's state now",
  })
  delivery_status: string;
}

export class DeliveryAttemptListDto {
  @ApiProperty({ type: [DeliveryAttemptDto] }) items: DeliveryAttemptDto[];
  @ApiProperty() total: number;
}

export class RedeliveryDto {
  @ApiProperty({ format: 'uuid' }) delivery_id: string;
  @ApiProperty({ description: 'Attempts so far; the redelivery is the next one' }) attempts: number;
}
