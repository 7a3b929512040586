import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ExecutionModule } from '../execution/execution.module';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ExecutionModule],
  controllers: [HealthController],
})
export class HealthModule {}
