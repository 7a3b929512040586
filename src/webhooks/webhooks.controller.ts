import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/principal';
import { PaginationQueryDto } from '../common/pagination.dto';
import { UuidPipe } from '../common/uuid.pipe';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import {
  CreateWebhookDto,
  DeliveryAttemptListDto,
  RedeliveryDto,
  UpdateWebhookDto,
  WebhookDto,
  WebhookListDto,
  WebhookPingDto,
  WebhookWithSecretDto,
} from './dto/webhooks.dto';
import { WEBHOOK_NOT_FOUND, WebhooksService } from './webhooks.service';

const DELIVERY_DOC =
  'Each event is POSTed as the Standard Webhooks body `{type, timestamp, data}` with the headers `webhook-id` ' +
  '(the event id, the same on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature` ' +
  '(`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the base64 part of the secret; two ' +
  'space-separated entries for 24 hours after a rotation). At least once: deduplicate on `webhook-id`. ' +
  'Ordering is not guaranteed. Any non-2xx, a redirect, or no answer within 10 s is retried after about ' +
  '5 s, 1 min, 10 min, 1 h, 6 h and 24 h; 410 Gone or 20 failed attempts in a row disable the subscription.';

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid, expired or revoked token' })
@ApiBadRequestResponse({
  description: 'Invalid body, a refused URL (private or local target), or a path id that is not a UUID',
})
@ApiForbiddenResponse({
  description: 'Not an owner of the project (API keys act as editors: they cannot manage webhooks)',
})
@ApiNotFoundResponse({
  description: '"Webhook not found" / "Project not found" for ids outside the caller\'s projects',
})
@Controller()
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly access: AccessPolicy,
  ) {}

  @ApiOperation({ summary: "Subscribe a URL to a project's events" })
  @Post('projects/:project_id/webhooks')
  @ApiCreatedResponse({
    type: WebhookWithSecretDto,
    description: `Owner only. \`secret\` is shown only here. ${DELIVERY_DOC}`,
  })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Param('project_id', UuidPipe) projectId: string,
    @Body() dto: CreateWebhookDto,
  ): Promise<WebhookWithSecretDto> {
    await this.access.require(principal, projectId, ProjectRole.Owner, 'Project not found');
    return this.webhooks.create(projectId, dto);
  }

  @ApiOperation({ summary: "List a project's webhook subscriptions" })
  @Get('projects/:project_id/webhooks')
  @ApiOkResponse({ type: WebhookListDto, description: 'Owner only. Oldest first; never a secret.' })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Param('project_id', UuidPipe) projectId: string,
    @Query() page: PaginationQueryDto,
  ): Promise<WebhookListDto> {
    await this.access.require(principal, projectId, ProjectRole.Owner, 'Project not found');
    return this.webhooks.list(projectId, page.limit, page.offset);
  }

  @ApiOperation({ summary: 'A webhook subscription' })
  @Get('webhooks/:id')
  @ApiOkResponse({ type: WebhookDto, description: 'Owner only; never a secret.' })
  async get(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<WebhookDto> {
    await this.authorize(principal, id);
    return this.webhooks.get(id);
  }

  @ApiOperation({ summary: 'Change a webhook subscription' })
  @Patch('webhooks/:id')
  @ApiOkResponse({ type: WebhookDto, description: 'Owner only. `enabled: true` also clears a disable by delivery.' })
  async update(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookDto> {
    await this.authorize(principal, id);
    return this.webhooks.update(id, dto);
  }

  @ApiOperation({ summary: 'Delete a webhook subscription' })
  @Delete('webhooks/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Owner only. Deletes its pending deliveries and its log.' })
  async delete(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<void> {
    await this.authorize(principal, id);
    await this.webhooks.delete(id);
  }

  @ApiOperation({ summary: 'Rotate the signing secret (the old one signs too for 24 hours)' })
  @Post('webhooks/:id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({
    type: WebhookWithSecretDto,
    description:
      'Owner only. The new secret (shown only here). The previous one keeps signing beside it until ' +
      '`previous_secret_expires_at` (24 hours); a second rotation within them drops the oldest.',
  })
  async rotate(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
  ): Promise<WebhookWithSecretDto> {
    await this.authorize(principal, id);
    return this.webhooks.rotateSecret(id);
  }

  @ApiOperation({ summary: 'Send a test (ping) delivery' })
  @Post('webhooks/:id/test')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: WebhookPingDto,
    description:
      'Owner only. Sends a `ping` event to this subscription (even a disabled one), logged like any delivery.',
  })
  async test(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<WebhookPingDto> {
    await this.authorize(principal, id);
    return this.webhooks.ping(id);
  }

  @ApiOperation({ summary: 'The delivery log of a subscription' })
  @Get('webhooks/:id/deliveries')
  @ApiOkResponse({
    type: DeliveryAttemptListDto,
    description:
      'Owner only. Every delivery attempt to this subscription, newest first; `total` counts them all. ' +
      'Deliveries finished more than WEBHOOK_RETENTION_DAYS (default 30) days ago leave the log with their attempts.',
  })
  async deliveries(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Query() page: PaginationQueryDto,
  ): Promise<DeliveryAttemptListDto> {
    await this.authorize(principal, id);
    return this.webhooks.deliveryLog(id, page.limit, page.offset);
  }

  @ApiOperation({ summary: 'Deliver an event again' })
  @Post('webhooks/:id/deliveries/:delivery_id/redeliver')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: RedeliveryDto,
    description:
      'Owner only. Sends the event again now with the same `webhook-id`; `deliveryId` is an item `id` of the ' +
      'delivery log (or its `delivery_id`).',
  })
  @ApiConflictResponse({ description: 'The subscription is disabled, or the delivery is being sent right now' })
  async redeliver(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Param('delivery_id', UuidPipe) deliveryId: string,
  ): Promise<RedeliveryDto> {
    await this.authorize(principal, id);
    return this.webhooks.redeliver(id, deliveryId);
  }

  private async authorize(principal: Principal, id: string): Promise<void> {
    const projectId = await this.webhooks.projectOf(id);
    await this.access.require(principal, projectId, ProjectRole.Owner, WEBHOOK_NOT_FOUND);
  }
}
