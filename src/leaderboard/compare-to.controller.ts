import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/principal';
import { UuidPipe } from '../common/uuid.pipe';
import { CompareToService } from './compare-to.service';
import { CompareToQueryDto, CompareToResultDto, ScorerDeltaDto } from './dto/compare-to.dto';
import { GateRequestDto, GateResultDto } from './dto/gate.dto';
import { GateService } from './gate.service';

@ApiTags('leaderboard')
@ApiBearerAuth()
@ApiExtraModels(ScorerDeltaDto)
@Controller('experiments')
export class CompareToController {
  constructor(
    private readonly compare: CompareToService,
    private readonly gates: GateService,
  ) {}

  @Get(':id/compare-to/:baseline_id')
  @ApiOperation({
    summary: "Compare a candidate experiment's configuration with a baseline experiment's (viewer of both)",
    description:
      'Pairs configuration a of experiment {id} with configuration b of {baseline_id} on the same dataset_item_key (else the ' +
      'same input_data) and repetition; differences are a − b, both sides valued with the candidate experiment’s weights. ' +
      'a / b may be omitted where that experiment has exactly one configuration. The statistics are those of `compare`.',
  })
  @ApiOkResponse({ type: CompareToResultDto })
  @ApiBadRequestResponse({
    description:
      'Not a UUID; a or b missing while that experiment has several configurations (the message lists the keys); a malformed ' +
      'or ambiguous prefix; top_regressions out of 0..100.',
  })
  @ApiNotFoundResponse({
    description: 'Either experiment not found (or not readable by the caller), or no configuration matches a or b.',
  })
  compareTo(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Param('baseline_id', UuidPipe) baselineId: string,
    @Query() query: CompareToQueryDto,
  ): Promise<CompareToResultDto> {
    return this.compare.compareTo(principal, id, baselineId, {
      a: query.a,
      b: query.b,
      scorer: query.scorer,
      topRegressions: query.top_regressions,
    });
  }

  @Post(':id/gate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pass or fail a candidate experiment, for CI (viewer; changes nothing)',
    description:
      'One check per criterion given: min_mean and min_pass_rate on the candidate configuration (its configuration-leaderboard ' +
      'mean and pass rate), max_mean_drop against the baseline, failing only for a significant drop (mean_diff < −max_mean_drop ' +
      'and paired t-test p < alpha). With fewer than 2 pairs, max_mean_drop passes and says why in `reason`.',
  })
  @ApiBody({
    type: GateRequestDto,
    examples: {
      regression: {
        summary: 'No significant drop against the baseline, and a floor on the mean',
        value: {
          baseline_experiment_id: '6f1c2a4e-8d3b-4f5a-9c7e-1b2d3e4f5a6b',
          max_mean_drop: 0.02,
          alpha: 0.05,
          min_mean: 0.7,
        },
      },
      floor: { summary: 'Only absolute floors', value: { min_mean: 0.7, min_pass_rate: 0.9, pass_threshold: 0.5 } },
    },
  })
  @ApiOkResponse({ type: GateResultDto })
  @ApiBadRequestResponse({
    description:
      'Not a UUID; no criterion; max_mean_drop or b without baseline_experiment_id; a value out of range; a / b as in compare-to.',
  })
  @ApiNotFoundResponse({ description: 'Either experiment not found (or not readable by the caller).' })
  @ApiConflictResponse({ description: 'The candidate or the baseline experiment has not ended (draft or running).' })
  gate(
    @CurrentPrincipal() principal: Principal,
    @Param('id', UuidPipe) id: string,
    @Body() body: GateRequestDto,
  ): Promise<GateResultDto> {
    return this.gates.gate(principal, id, body);
  }
}
