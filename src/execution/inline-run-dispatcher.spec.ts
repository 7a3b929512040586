import { Subject } from 'rxjs';
import { type AppConfig } from '../config/configuration';
import { type RunEvent } from '../events/run-event';
import { type RunEventsService } from '../events/run-events.service';
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
  let events: Subject<RunEvent>;
  const cancelled = (runId: string): RunEvent => ({
    type: 'run.status',
    experiment_id: 'e',
    run_id: runId,
    status: 'cancelled',
  });

  beforeEach(() => {
    executor = new ControlledExecutor();
    events = new Subject<RunEvent>();
    dispatcher = new InlineRunDispatcher(
      executor as unknown as RunExecutor,
      { workerConcurrency: 2 } as AppConfig,
      {
        local: () => events.asObservable(),
      } as unknown as RunEventsService,
    );
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

  it('drops queued runs whose cancellation is published, without executing them, and lets later runs through', async () => {
    const cancelledIds = Array.from({ length: 12_000 }, (_, i) => `x${i}`);
    await dispatcher.dispatch(['a', 'b', ...cancelledIds]);
    await dispatcher.dispatch(['later']);
    expect(dispatcher.queued).toBe(12_001);
    for (const id of cancelledIds) events.next(cancelled(id));
    // Other events, and a cancellation of a run that is executing, change nothing.
    events.next({ ...cancelled('x0'), status: 'completed' });
    events.next(cancelled('a'));
    expect(dispatcher.queued).toBe(1);
    expect(await dispatcher.undelivered([{ id: 'x1', attempt: 0 }])).toEqual([{ id: 'x1', attempt: 0 }]);

    executor.calls[0].finish({ kind: 'abandoned', status: null });
    await flush();
    expect(executor.calls.map((c) => c.runId)).toEqual(['a', 'b', 'later']);
    expect(dispatcher.queued).toBe(0);
    // A withdrawn run dispatched again (the sweeper found it pending after all) is delivered once.
    await dispatcher.dispatch(['x5', 'x5']);
    executor.calls[1].finish({ kind: 'completed', cacheHit: false });
    await flush();
    expect(executor.calls.map((c) => c.runId)).toEqual(['a', 'b', 'later', 'x5']);
  });

  it('drops a run waiting for its retry backoff when it is cancelled', async () => {
    jest.useFakeTimers();
    await dispatcher.dispatch(['r']);
    executor.calls[0].finish({ kind: 'retry', error: 'rate limited' });
    await jest.advanceTimersByTimeAsync(0);
    events.next(cancelled('r'));
    await jest.advanceTimersByTimeAsync(runRetryDelayMs(1) * 2);
    expect(executor.calls).toHaveLength(1);
    expect(await dispatcher.undelivered([{ id: 'r', attempt: 0 }])).toEqual([{ id: 'r', attempt: 0 }]);
  });

  it('stops listening for cancellations on shutdown', () => {
    dispatcher.onModuleDestroy();
    expect(events.observed).toBe(false);
  });

  it('reports inline health', async () => {
    await expect(dispatcher.health()).resolves.toBe('inline');
  });
});
