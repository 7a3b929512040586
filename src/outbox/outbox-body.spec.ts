import { outboxBody } from './outbox-body';
import { MAX_EVENT_BODY_BYTES } from './outbox-event-types';

describe('outboxBody', () => {
  const at = new Date('2026-12-01T00:00:00.000Z');

  it('is the Standard Webhooks body {type, timestamp, data}', () => {
    expect(JSON.parse(outboxBody('experiment.completed', { id: 'e1', status: 'completed' }, null, at))).toEqual({
      type: 'experiment.completed',
      timestamp: '2026-12-01T00:00:00.000Z',
      data: { id: 'e1', status: 'completed' },
    });
  });

  it('cuts data over the size cap to the id and a link', () => {
    const huge = { id: 'run-1', output: 'x'.repeat(MAX_EVENT_BODY_BYTES) };
    const body = outboxBody('run.completed', huge, { id: 'run-1', href: '/api/runs/run-1' }, at);
    expect(Buffer.byteLength(body)).toBeLessThan(1024);
    expect(JSON.parse(body)).toEqual({
      type: 'run.completed',
      timestamp: '2026-12-01T00:00:00.000Z',
      data: { id: 'run-1', truncated: true, href: '/api/runs/run-1' },
    });
  });

  it('keeps a body just under the cap whole', () => {
    const data = { id: 'a', text: '' };
    const overhead = Buffer.byteLength(outboxBody('ping', data, null, at));
    data.text = 'y'.repeat(MAX_EVENT_BODY_BYTES - overhead);
    expect(JSON.parse(outboxBody('ping', data, null, at)).data.text).toHaveLength(data.text.length);
  });
});
