import { compareEventIds, InMemoryEventLog } from './event-log';
import { type RunEvent } from './run-event';

const event = (experiment: string, run: string): RunEvent => ({
  type: 'run.status',
  experiment_id: experiment,
  run_id: run,
  status: 'completed',
});

describe('InMemoryEventLog', () => {
  it('numbers events in order and gives exactly those after a known id', () => {
    const log = new InMemoryEventLog();
    const zero = log.position('a');
    const ids = ['r1', 'r2', 'r3'].map((run) => log.append(event('a', run)).id);
    log.append(event('b', 'other'));
    expect(compareEventIds(ids[1], ids[0])).toBeGreaterThan(0);
    expect(compareEventIds(ids[0], zero)).toBeGreaterThan(0);
    expect(log.position('a')).toBe(ids[2]);
    expect(log.since('a', ids[0])?.map((e) => e.event.run_id)).toEqual(['r2', 'r3']);
    expect(log.since('a', ids[2])).toEqual([]);
    expect(log.since('a', zero)?.map((e) => e.event.run_id)).toEqual(['r1', 'r2', 'r3']);
  });

  it('refuses to resume from an id it does not hold: another experiment, another process, or trimmed', () => {
    const log = new InMemoryEventLog(2);
    const zero = log.position('a');
    const first = log.append(event('a', 'r1')).id;
    const other = log.append(event('b', 'x')).id;
    expect(log.since('a', other)).toBeNull();
    expect(log.since('a', '1-1')).toBeNull();
    log.append(event('a', 'r2'));
    log.append(event('a', 'r3'));
    // r1 was trimmed: neither its id nor the zero position can be resumed without a gap.
    expect(log.since('a', first)).toBeNull();
    expect(log.since('a', zero)).toBeNull();
  });
});
