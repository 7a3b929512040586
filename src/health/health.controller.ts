import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiServiceUnavailableResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/public.decorator';
import { RunDispatcher } from '../runs/run-dispatcher';

export class HealthDto {
  @ApiProperty({ example: 'ok', enum: ['ok', 'error'] }) status: 'ok' | 'error';
  @ApiProperty({ example: 'up', enum: ['up', 'down'] }) db: 'up' | 'down';
  @ApiProperty({ example: 'inline', enum: ['up', 'down', 'inline'] }) queue: 'up' | 'down' | 'inline';
}

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly dispatcher: RunDispatcher,
  ) {}

  @Public()
  @ApiOperation({ summary: 'Health of the API and its dependencies' })
  @Get()
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; the body says which.' })
  async check(): Promise<HealthDto> {
    const [db, queue] = await Promise.all([
      this.health
        .check([() => this.db.pingCheck('db', { timeout: 2000 })])
        .then(() => 'up' as const)
        .catch(() => 'down' as const),
      this.dispatcher.health().catch(() => 'down' as const),
    ]);
    const body: HealthDto = { status: db === 'up' && queue !== 'down' ? 'ok' : 'error', db, queue };
    if (body.status !== 'ok') throw new ServiceUnavailableException(body);
    return body;
  }
}
