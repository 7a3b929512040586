import { Module } from '@nestjs/common';
import { RunEventsService } from './run-events.service';

/** Run/experiment events: publish from anywhere, stream per experiment (SSE). */
@Module({
  providers: [RunEventsService],
  exports: [RunEventsService],
})
export class EventsModule {}
