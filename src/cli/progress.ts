import { Presets, SingleBar } from 'cli-progress';
import { type ApiClient, authHeaders, call, type Schemas } from './client';
import { type CliEnv } from './env';

type Progress = Schemas['ProgressDto'];
const ENDED = ['completed', 'cancelled'];
const POLL_MS = 1000;

/** What a progress display receives; the bar, or nothing with --json. */
export interface ProgressSink {
  update(progress: Progress): void;
  stop(): void;
}

/** A cli-progress bar on stderr (stdout stays for the table or JSON); in a log, a line every few seconds. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const bar = new SingleBar(
    {
      stream,
      format:
        'runs {bar} {value}/{total} ended | {completed} completed, {failed} failed, {cancelled} cancelled, {cached} cached',
      noTTYOutput: true,
      notTTYSchedule: 2000,
      hideCursor: stream.isTTY === true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = { completed: p.completed, failed: p.failed, cancelled: p.cancelled, cached: p.cached };
      const ended = p.completed + p.failed + p.cancelled;
      if (!started) {
        bar.start(p.total, ended, payload);
        started = true;
      } else {
        bar.setTotal(p.total);
        bar.update(ended, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export const silentProgress: ProgressSink = { update() {}, stop() {} };

/**
 * Waits until the experiment has ended, showing progress: follows GET …/events (server-sent
 * events) and, should the stream be unavailable or end early, polls GET /api/experiments/{id}.
 * Resolves with the experiment's final detail.
 */
export async function waitForEnd(
  env: CliEnv,
  client: ApiClient,
  id: string,
  sink: ProgressSink,
): Promise<Schemas['ExperimentDetailDto']> {
  try {
    await followEvents(env, id, sink);
  } catch {
    // The stream is an optimisation: polling below is the ground truth.
  }
  for (;;) {
    const detail = await call(env, client.GET('/api/experiments/{id}', { params: { path: { id } } }));
    sink.update(detail.progress);
    if (ENDED.includes(detail.status)) {
      sink.stop();
      return detail;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Reads the SSE stream until the experiment's end is announced or the stream closes. */
async function followEvents(env: CliEnv, id: string, sink: ProgressSink): Promise<void> {
  const response = await fetch(`${env.url}/api/experiments/${encodeURIComponent(id)}/events`, {
    headers: { ...authHeaders(env), Accept: 'text/event-stream' },
  });
  if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (!data) continue; // heartbeat comment or an event without data
        const event = JSON.parse(data) as { type?: string; status?: string; progress?: Progress };
        if (event.type === 'experiment.progress' && event.progress) sink.update(event.progress);
        if (event.type === 'experiment.status' && event.status && ENDED.includes(event.status)) return;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
