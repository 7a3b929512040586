import { type AppConfig } from '../config/configuration';
import { RUN_JOB_ATTEMPTS, runRetryDelayMs } from './execution.constants';
import { InlineRunDispatcher } from './inline-run-dispatcher';
import { type ExecuteOptions, type RunExecutor, type RunOutcome } from './run-executor';

/** An executor whose executions finish when the test says so. */
class ControlledExecutor {
  readonly calls: { runId: string; options: ExecuteOptions; finish: (outcome: RunOutcome) => void }[] = [];
  running = 0;
  maxRunning = 0;

  execute(runId: string, options: ExecuteOptions = {}): Promise<RunOutcome> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return new Promise((resolve) => {
      this.calls.push({
        runId,
        options,
        finish: (outcome) => {
          this.running--;
          resolve(outcome);
        },
      });
    });
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('InlineRunDispatcher', () => {
  let executor: ControlledExecutor;
  let dispatcher: InlineRunDispatcher;

  beforeEach(() => {
    executor = new ControlledExecutor();
    dispatcher = new InlineRunDispatcher(executor as unknown as RunExecutor, { workerConcurrency: 2 } as AppConfig);
  });

  afterEach(() => {
    dispatcher.onModuleDestroy();
    jest.useRealTimers();
  });

  it('executes at most WORKER_CONCURRENCY runs at once, in dispatch order, and ignores a run it already holds', async () => {
    await dispatcher.dispatch(['a', 'b', 'c', 'a']);
    await dispatcher.dispatch(['b', 'd']);
    expect(executor.calls.map((c) => c.runId)).toEqual(['a', 'b']);
    expect(dispatcher.queued).toBe(2);

    executor.calls[0].finish({ kind: 'completed', cacheHit: false });
    await flush();
    expect(executor.calls.map((c) => c.runId)).toEqual(['a', 'b', 'c']);
    for (const call of executor.calls.slice(1)) call.finish({ kind: 'completed', cacheHit: false });
    await flush();
    executor.calls[3].finish({ kind: 'skipped' });
    await flush();
    expect(executor.calls.map((c) => c.runId)).toEqual(['a', 'b', 'c', 'd']);
    expect(executor.maxRunning).toBe(2);
    // Finished runs are forgotten: dispatching one again delivers it again.
    expect(await dispatcher.undelivered([{ id: 'a', attempt: 0 }])).toEqual([{ id: 'a', attempt: 0 }]);
  });

  it('delivers a released run again after the backoff, the last delivery marked final', async () => {
    jest.useFakeTimers();
    await dispatcher.dispatch(['r']);
    for (let delivery = 1; delivery <= RUN_JOB_ATTEMPTS; delivery++) {
      const call = executor.calls[delivery - 1];
      expect(call.options.finalAttempt).toBe(delivery === RUN_JOB_ATTEMPTS);
      call.finish({ kind: 'retry', error: 'rate limited' });
      await jest.advanceTimersByTimeAsync(0);
      if (delivery === RUN_JOB_ATTEMPTS) break;
      expect(await dispatcher.undelivered([{ id: 'r', attempt: 0 }])).toEqual([]);
      await jest.advanceTimersByTimeAsync(runRetryDelayMs(delivery) - 1);
      expect(executor.calls).toHaveLength(delivery);
      await jest.advanceTimersByTimeAsync(1);
      expect(executor.calls).toHaveLength(delivery + 1);
    }
    expect(executor.calls).toHaveLength(RUN_JOB_ATTEMPTS);
  });

  it('reports inline health', async () => {
    await expect(dispatcher.health()).resolves.toBe('inline');
  });
});
