import { EventEmitter } from 'events';
import { type Response } from 'express';
import { filter, map, Subject } from 'rxjs';
import { type Principal } from '../common/principal';
import { type RunEvent } from '../events/run-event';
import { type RunEventsService } from '../events/run-events.service';
import { type SseTicketService } from '../auth/sse-ticket.service';
import { ExperimentStatus } from '../domain/statuses';
import { ExperimentEventsService } from './experiment-events.service';
import { type ExperimentsService } from './experiments.service';

const ID = '11111111-1111-4111-8111-111111111111';
const principal: Principal = { kind: 'user', userId: 'u', email: 'u@example.com' };
const progress = (completed: number) => ({
  total: 2,
  pending: 2 - completed,
  running: 0,
  completed,
  failed: 0,
  cancelled: 0,
  cached: 0,
});

class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  headers: Record<string, string> = {};
  writableEnded = false;
  statusCode = 0;
  status(code: number) {
    this.statusCode = code;
    return this;
  }
  setHeader(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
  }
  flushHeaders() {}
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.writableEnded = true;
    this.emit('close');
  }
  /** Parsed events, in order. */
  events(): Array<{ event: string; data: RunEvent }> {
    return this.chunks
      .filter((c) => c.startsWith('id: '))
      .map((c) => {
        const [, eventLine, dataLine] = c.split('\n');
        return { event: eventLine.slice(7), data: JSON.parse(dataLine.slice(6)) };
      });
  }
}

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function setup(opts: { status?: ExperimentStatus | null; heartbeatMs?: number } = {}) {
  const subject = new Subject<RunEvent>();
  let status: ExperimentStatus | null = opts.status === undefined ? ExperimentStatus.Running : opts.status;
  let completed = 0;
  let subscribers = 0;
  const experiments = {
    findAccessible: jest.fn(() => Promise.resolve({ id: ID })),
    status: jest.fn(() => Promise.resolve(status)),
    progress: jest.fn(() => {
      // An event published while the initial state is read must not be lost.
      if (completed === 0) subject.next({ type: 'run.status', experiment_id: ID, run_id: 'r0', status: 'running' });
      return Promise.resolve(progress(completed));
    }),
  } as unknown as ExperimentsService;
  let seq = 0;
  const resubscribed = new Subject<void>();
  const runEvents = {
    resubscribed,
    ensureSubscribed: jest.fn(() => Promise.resolve()),
    position: jest.fn(() => Promise.resolve(`1-${seq}`)),
    since: jest.fn(() => Promise.resolve(null)),
    sequenced: (experimentId: string) => {
      subscribers++;
      return subject.pipe(
        map((event) => ({ id: `1-${++seq}`, event })),
        filter((e) => e.event.experiment_id === experimentId),
      );
    },
  } as unknown as RunEventsService;
  const service = new ExperimentEventsService(experiments, runEvents, {} as SseTicketService, {
    heartbeatMs: opts.heartbeatMs ?? 60_000,
    endGraceMs: 5,
  });
  const res = new FakeResponse();
  return {
    subject,
    res,
    experiments,
    start: () => service.stream(principal, ID, res as unknown as Response),
    setStatus: (s: ExperimentStatus | null) => (status = s),
    setCompleted: (n: number) => (completed = n),
    subscribers: () => subscribers,
    observed: () => subject.observed,
    /** The events connection came back after an outage. */
    reconnect: () => resubscribed.next(),
  };
}

describe('ExperimentEventsService', () => {
  it('sends the progress first, keeps events published meanwhile, forwards others, and ends with the final progress and status', async () => {
    const s = setup();
    await s.start();
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['content-type']).toMatch(/^text\/event-stream/);
    s.subject.next({ type: 'run.status', experiment_id: 'other', run_id: 'x', status: 'completed' });
    s.subject.next({ type: 'run.status', experiment_id: ID, run_id: 'r1', status: 'completed' });
    s.setCompleted(2);
    s.subject.next({ type: 'experiment.status', experiment_id: ID, status: 'completed' });
    // a straggler published right after the end is still delivered
    s.subject.next({ type: 'run.scored', experiment_id: ID, run_id: 'r2', scores: {} });
    await until(() => s.res.writableEnded, 'end of stream');
    expect(s.res.events().map((e) => [e.event, e.data.run_id ?? e.data.status])).toEqual([
      ['experiment.progress', 'running'],
      ['run.status', 'r0'],
      ['run.status', 'r1'],
      ['run.scored', 'r2'],
      ['experiment.progress', 'completed'],
      ['experiment.status', 'completed'],
    ]);
    expect(s.res.events()[4].data.progress).toEqual(progress(2));
    expect(s.observed()).toBe(false);
  });

  it('sends a fresh progress snapshot when the events connection comes back (events of the outage were missed)', async () => {
    const s = setup();
    await s.start();
    // Runs ended while Redis was away: no event told the stream.
    s.setCompleted(1);
    s.reconnect();
    await until(() => s.res.events().filter((e) => e.event === 'experiment.progress').length === 2, 'the snapshot');
    const snapshots = s.res.events().filter((e) => e.event === 'experiment.progress');
    expect(snapshots[1].data.progress).toEqual(progress(1));
    expect(s.res.writableEnded).toBe(false);
    s.res.end();
  });

  it('answers an ended experiment with its progress and status, then closes', async () => {
    const s = setup({ status: ExperimentStatus.Cancelled });
    s.setCompleted(1);
    await s.start();
    expect(s.res.writableEnded).toBe(true);
    expect(s.res.events().map((e) => e.event)).toEqual(['experiment.progress', 'experiment.status']);
    expect(s.observed()).toBe(false);
  });

  it('sends heartbeat comments and ends when the database says the experiment ended though no event came', async () => {
    const s = setup({ heartbeatMs: 10 });
    s.setCompleted(1);
    await s.start();
    await until(() => s.res.chunks.includes(': heartbeat\n\n'), 'a heartbeat');
    expect(s.res.writableEnded).toBe(false);
    s.setStatus(ExperimentStatus.Completed);
    await until(() => s.res.writableEnded, 'end of stream');
    expect(s.res.events().slice(-1)[0]).toEqual({
      event: 'experiment.status',
      data: expect.objectContaining({ status: 'completed' }),
    });
  });

  it('ends for a deleted experiment, and unsubscribes when the client goes away', async () => {
    const deleted = setup({ heartbeatMs: 10 });
    deleted.setCompleted(1);
    await deleted.start();
    deleted.setStatus(null);
    await until(() => deleted.res.writableEnded, 'end of stream');
    expect(deleted.res.events().slice(-1)[0].data).toMatchObject({ status: 'cancelled', deleted: true });

    const s = setup();
    s.setCompleted(1);
    await s.start();
    expect(s.observed()).toBe(true);
    s.res.emit('close');
    expect(s.observed()).toBe(false);
    s.subject.next({ type: 'run.status', experiment_id: ID, run_id: 'late', status: 'completed' });
    expect(s.res.events().map((e) => e.data.run_id)).not.toContain('late');
  });
});
