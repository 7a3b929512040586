import { Module } from '@nestjs/common';
import { RunRepository } from './run.repository';

/** The owner of `runs` and `stage_results`: every module that changes a run imports this one. */
@Module({
  providers: [RunRepository],
  exports: [RunRepository],
})
export class RunRepositoryModule {}
