import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Response } from 'express';
import { AcceptsSseTicket } from '../auth/sse-ticket.service';
import { CurrentPrincipal, Principal } from '../common/principal';
import { Page } from '../common/pagination.dto';
import { UuidPipe } from '../common/uuid.pipe';
import {
  CREATE_EXPERIMENT_EXAMPLES,
  CreateExperimentDto,
  ExperimentDetailDto,
  ExperimentDto,
  ExperimentListDto,
  ListExperimentsQueryDto,
  UpdateExperimentDto,
} from './dto/experiment.dto';
import {
  CancelResultDto,
  EventsTicketDto,
  ExportQueryDto,
  LaunchExperimentDto,
  LaunchResultDto,
  RescoreResultDto,
  RetryFailedResultDto,
} from './dto/launch.dto';
import { ExperimentEventsService } from './experiment-events.service';
import { ExperimentExportService } from './experiment-export.service';
import { ExperimentLaunchService } from './experiment-launch.service';
import { ExperimentsService } from './experiments.service';

@ApiTags('experiments')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'Experiment not found (or not in a project of the caller)' })
@Controller('experiments')
export class ExperimentsController {
  constructor(
    private readonly experiments: ExperimentsService,
    private readonly launcher: ExperimentLaunchService,
    private readonly exporter: ExperimentExportService,
    private readonly events: ExperimentEventsService,
  ) {}

  @Post()
  @ApiOperation({
    summary:
      "Create a draft experiment (editor). project_id defaults to the caller's personal project, or an API key's project",
  })
  @ApiBody({ type: CreateExperimentDto, examples: CREATE_EXPERIMENT_EXAMPLES })
  @ApiCreatedResponse({ type: ExperimentDto })
  @ApiBadRequestResponse({
    description: 'Every problem of the body, config and scoring_config, each naming its field or input index',
  })
  create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateExperimentDto): Promise<ExperimentDto> {
    return this.experiments.create(principal, dto);
  }

  @Get()
  @ApiOperation({ summary: "The caller's experiments, newest first" })
  @ApiOkResponse({ type: ExperimentListDto })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListExperimentsQueryDto,
  ): Promise<Page<ExperimentDto>> {
    return this.experiments.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'An experiment with its progress counters (viewer)' })
  @ApiOkResponse({ type: ExperimentDetailDto })
  get(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<ExperimentDetailDto> {
    return this.experiments.get(principal, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change name, description, config (drafts only) or scoring_config (editor)' })
  @ApiOkResponse({ type: ExperimentDto })
  @ApiConflictResponse({ description: 'config changed after launch' })
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: UpdateExperimentDto,
  ): Promise<ExperimentDto> {
    return this.experiments.update(principal, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the experiment with its runs, stage results and scores (editor)' })
  @ApiNoContentResponse()
  remove(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<void> {
    return this.experiments.remove(principal, id);
  }

  @Post(':id/launch')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Expand the grid into pending runs and dispatch them (editor)',
    description:
      'Runs are inserted in batches in one transaction with the status change and handed to the queue right after the ' +
      'answer (a failed hand-over is repaired by the sweeper). dry_run plans and estimates ' +
      'without writing. A grid over max_runs (default 10,000, at most 1,000,000) → 400, for dry runs too.',
  })
  @ApiAcceptedResponse({ type: LaunchResultDto })
  @ApiBadRequestResponse({ description: 'Grid over the limit, or a bad body' })
  @ApiConflictResponse({ description: 'Already launched' })
  launch(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: LaunchExperimentDto,
  ): Promise<LaunchResultDto> {
    return this.launcher.launch(principal, id, dto);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Cancel: pending and running runs become cancelled at once; a running run stops at its next stage boundary (editor)',
    description: 'Idempotent on a cancelled experiment. 409 for a draft or a completed experiment.',
  })
  @ApiAcceptedResponse({ type: CancelResultDto })
  @ApiConflictResponse({ description: 'Not launched, or already completed' })
  cancel(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<CancelResultDto> {
    return this.launcher.cancel(principal, id);
  }

  @Post(':id/retry-failed')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Failed runs back to pending with a new attempt, re-dispatched; the experiment runs again (editor)',
  })
  @ApiAcceptedResponse({ type: RetryFailedResultDto })
  @ApiConflictResponse({ description: 'Not launched' })
  retryFailed(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
  ): Promise<RetryFailedResultDto> {
    return this.launcher.retryFailed(principal, id);
  }

  @Post(':id/rescore')
  @HttpCode(202)
  @ApiOperation({
    summary: "Recompute the automatic scores of finished runs with the experiment's current scoring_config (editor)",
  })
  @ApiAcceptedResponse({ type: RescoreResultDto })
  rescore(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<RescoreResultDto> {
    return this.experiments.rescore(principal, id);
  }

  @Post(':id/events/ticket')
  @HttpCode(201)
  @ApiOperation({
    summary: 'A short-lived ticket for the event stream, for browsers (viewer)',
    description:
      "EventSource cannot set headers: pass the ticket as `?ticket=` to this experiment's events. Valid for " +
      '`expires_in` seconds, for this experiment only; the stream it opens keeps running past the expiry.',
  })
  @ApiCreatedResponse({ type: EventsTicketDto })
  eventsTicket(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<EventsTicketDto> {
    return this.events.ticket(principal, id);
  }

  @Get(':id/events')
  @AcceptsSseTicket()
  @ApiOperation({
    summary: 'Server-sent events (viewer)',
    description:
      'First `experiment.progress` (current counters), then one event per run state change (`run.status`), score ' +
      '(`run.scored`), progress and experiment status, each as `id: <id>` + `event: <type>` + `data: <json>`; heartbeat ' +
      'comments every 15 s. The stream ends after the experiment ends (`experiment.status` completed or cancelled). ' +
      'Reconnecting with `Last-Event-ID` (or `?last_event_id=`) resumes after that event, without the first ' +
      'snapshot; when the server no longer has the events after it, the stream starts over with the snapshot. ' +
      'Authorization: a bearer token, or `?ticket=` from POST /api/experiments/{id}/events/ticket.',
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'ticket', required: false, description: 'From POST /api/experiments/{id}/events/ticket' })
  @ApiQuery({ name: 'last_event_id', required: false, description: 'Like the Last-Event-ID header' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The `id` of the last event received' })
  @ApiOkResponse({ description: 'text/event-stream' })
  async eventStream(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Query('last_event_id') lastEventIdQuery: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const lastEventId = lastEventIdHeader ?? (typeof lastEventIdQuery === 'string' ? lastEventIdQuery : null);
    await this.events.stream(principal, id, res, lastEventId || null);
  }

  @Get(':id/export')
  @ApiOperation({
    summary: 'Every run, streamed (viewer)',
    description:
      'csv (default, RFC 4180): run_id, status, prompt, model, param.<name>…, input.<field>…, repetition, output, tokens_in, ' +
      'tokens_out, cost_estimate, duration_ms, cache_hit, error, finish_reason, tool_calls (of the last stage; JSON text), ' +
      'score.<scorer>… (latest score of each declared or human scorer), weighted_score. Prompts and param values that are ' +
      'objects or lists are written as JSON text. jsonl: one object per run with prompt, params, input_data, tool_calls ' +
      'and scores nested. Rows in grid order.',
  })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({ description: 'An attachment' })
  @ApiBadRequestResponse({ description: 'format other than csv or jsonl' })
  async export(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Query() query: ExportQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    await this.exporter.export(principal, id, query.format ?? 'csv', res);
  }
}
