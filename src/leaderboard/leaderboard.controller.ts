import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/principal';
import { UuidPipe } from '../common/uuid.pipe';
import { ConfigLeaderboardService } from './config-leaderboard.service';
import {
  CompareQueryDto,
  CompareResultDto,
  ConfigLeaderboardPageDto,
  ConfigLeaderboardQueryDto,
} from './dto/config-leaderboard.dto';

@ApiTags('leaderboard')
@ApiBearerAuth()
@Controller('experiments')
export class LeaderboardController {
  constructor(private readonly leaderboard: ConfigLeaderboardService) {}

  @Get(':id/leaderboard')
  @ApiOperation({
    summary: 'Rank configurations (prompt × model × params) across their inputs and repetitions',
    description:
      "A run's value is its weighted score (Σ w·v / Σ w over its scorers' latest scores that have a weight; the plain mean " +
      "when Σ w = 0 or without weights), or with `scorer=` that scorer's latest score. Only completed runs with at least one " +
      'score take part. Per group: n, mean, sample standard deviation, 95 % t-interval of the mean, pass rate, mean cost, ' +
      'p50/p95 duration and per-scorer means. Viewer role.',
  })
  @ApiOkResponse({ type: ConfigLeaderboardPageDto })
  @ApiBadRequestResponse({ description: 'Not a UUID, or an invalid group_by / pass_threshold / limit / offset.' })
  @ApiNotFoundResponse({ description: 'Experiment not found (or not in a project of the caller).' })
  rank(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Query() query: ConfigLeaderboardQueryDto,
  ): Promise<ConfigLeaderboardPageDto> {
    return this.leaderboard.rank(principal, id, {
      groupBy: query.group_by,
      scorer: query.scorer,
      passThreshold: query.pass_threshold,
      limit: query.limit,
      offset: query.offset,
    });
  }

  @Get(':id/compare')
  @ApiOperation({
    summary: 'Compare two configurations on paired runs (same input and repetition)',
    description:
      'a and b are configuration keys as in the leaderboard (all three dimensions), or unique prefixes of at least 8 hex digits. ' +
      "Differences are a − b. p-values are two-sided and equal SciPy 1.17's ttest_rel and wilcoxon with default options. Viewer role.",
  })
  @ApiOkResponse({ type: CompareResultDto })
  @ApiBadRequestResponse({ description: 'Not a UUID, a malformed or ambiguous key prefix, or a = b.' })
  @ApiNotFoundResponse({ description: 'Experiment not found, or no configuration of it matches a or b.' })
  compare(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Query() query: CompareQueryDto,
  ): Promise<CompareResultDto> {
    return this.leaderboard.compare(principal, id, { a: query.a, b: query.b, scorer: query.scorer });
  }
}
