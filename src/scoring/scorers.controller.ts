import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ScorerTypeListDto } from './dto/scorer-type.dto';
import { ScoringService } from './scoring.service';

@ApiTags('scoring')
@ApiBearerAuth()
@Controller('scorers')
export class ScorersController {
  constructor(private readonly scoring: ScoringService) {}

  @Get()
  @ApiOperation({
    summary: 'Built-in scorer types with their parameter schemas',
    description:
      'Each type usable in `scoring_config.scorers`, with a JSON Schema of its `params` and a complete example. ' +
      'An experiment whose scoring_config names an unknown type or bad params is rejected with 400 at creation.',
  })
  @ApiOkResponse({ type: ScorerTypeListDto })
  @ApiUnauthorizedResponse({ description: 'Missing or invalid token.' })
  list(): ScorerTypeListDto {
    return { items: this.scoring.listScorerTypes() };
  }
}
