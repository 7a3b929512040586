import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/principal';
import { UuidPipe } from '../common/uuid.pipe';
import { CREATE_RUN_EXAMPLES, CreateRunDto } from './dto/create-run.dto';
import { ListRunsQueryDto } from './dto/list-runs.query.dto';
import { LeaderboardResponseDto, RunLeaderboardQueryDto } from './dto/run-leaderboard.dto';
import { RunDetailResponseDto, RunListResponseDto, RunResponseDto } from './dto/run.response.dto';
import { HumanScoreResponseDto, ScoreRunDto } from './dto/score-run.dto';
import { RunLeaderboardService } from './run-leaderboard.service';
import { RunsQueryService } from './runs-query.service';
import { RunsService } from './runs.service';

/** The reference runs router, wire-compatible (API.md, "Runs"). */
@ApiTags('runs')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid or expired token.' })
@Controller('runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly queries: RunsQueryService,
    private readonly leaderboards: RunLeaderboardService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List runs of your projects, newest started first (never-started last, then id)' })
  @ApiOkResponse({ type: RunListResponseDto })
  @ApiBadRequestResponse({
    description:
      'Bad filter: experiment_id not a UUID, unknown status, score outside 0..1 or min_score > max_score, limit outside 1..500, negative offset.',
  })
  @ApiNotFoundResponse({ description: 'Experiment not found (unknown, or of a project you are not in).' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListRunsQueryDto): Promise<RunListResponseDto> {
    return this.queries.list(principal, query);
  }

  // Declared before `:id` so "leaderboard" is never taken for a run id.
  @Get('leaderboard/:experiment_id')
  @ApiOperation({ summary: "Top runs of an experiment by weighted score (each scorer's latest score)" })
  @ApiOkResponse({ type: LeaderboardResponseDto })
  @ApiBadRequestResponse({ description: 'experiment_id not a UUID, or top_n outside 1..100.' })
  @ApiNotFoundResponse({ description: 'Experiment not found.' })
  leaderboard(
    @CurrentPrincipal() principal: Principal,
    @Param('experiment_id', UuidPipe) experimentId: string,
    @Query() query: RunLeaderboardQueryDto,
  ): Promise<LeaderboardResponseDto> {
    return this.leaderboards.leaderboard(principal, experimentId, query.top_n);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A run with its stage results (by stage_index) and scores (oldest first)' })
  @ApiOkResponse({ type: RunDetailResponseDto })
  @ApiBadRequestResponse({ description: 'id is not a UUID.' })
  @ApiNotFoundResponse({ description: 'Run not found.' })
  detail(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<RunDetailResponseDto> {
    return this.queries.detail(principal, id);
  }

  @Post()
  @ApiOperation({ summary: 'Create an ad-hoc run (editor); dispatched once the pending row is committed' })
  @ApiBody({ type: CreateRunDto, examples: CREATE_RUN_EXAMPLES })
  @ApiCreatedResponse({ type: RunResponseDto, description: 'The run, `status: "pending"`.' })
  @ApiBadRequestResponse({ description: 'Invalid body or config (every offending field listed), unknown model.' })
  @ApiForbiddenResponse({ description: 'Viewer of the project.' })
  @ApiNotFoundResponse({ description: 'Experiment not found.' })
  create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateRunDto): Promise<RunResponseDto> {
    return this.runs.createAdHoc(principal, dto);
  }

  @Post(':id/score')
  @ApiOperation({ summary: 'Add a human score (editor); the latest score per scorer counts' })
  @ApiCreatedResponse({ type: HumanScoreResponseDto })
  @ApiBadRequestResponse({ description: 'id not a UUID, value outside 0..1, missing scorer_name.' })
  @ApiForbiddenResponse({ description: 'Viewer of the project.' })
  @ApiNotFoundResponse({ description: 'Run not found.' })
  score(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() dto: ScoreRunDto,
  ): Promise<HumanScoreResponseDto> {
    return this.runs.addHumanScore(principal, id, dto);
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Cancel a pending or running run (editor); a running one stops at its next stage boundary' })
  @ApiAcceptedResponse({ type: RunResponseDto, description: 'The run, now `cancelled` with completed_at set.' })
  @ApiBadRequestResponse({ description: 'id is not a UUID.' })
  @ApiForbiddenResponse({ description: 'Viewer of the project.' })
  @ApiNotFoundResponse({ description: 'Run not found.' })
  @ApiConflictResponse({ description: 'Run already finished (completed, failed or cancelled).' })
  cancel(@CurrentPrincipal() principal: Principal, @Param('id', UuidPipe) id: string): Promise<RunResponseDto> {
    return this.runs.cancel(principal, id);
  }
}
