import { Module } from '@nestjs/common';
import { RunDispatcher } from './run-dispatcher';

/** Placeholder until the execution engine lands: runs stay pending. */
class NoopRunDispatcher extends RunDispatcher {
  async dispatch(): Promise<void> {}
  async health(): Promise<'inline'> {
    return 'inline';
  }
}

@Module({
  providers: [{ provide: RunDispatcher, useClass: NoopRunDispatcher }],
  exports: [RunDispatcher],
})
export class ExecutionModule {}
