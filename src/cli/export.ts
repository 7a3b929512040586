import { once } from 'events';
import { Readable } from 'stream';
import { type ReadableStream as WebReadableStream } from 'stream/web';
import { type ApiClient, call } from './client';
import { type CliEnv } from './env';

/** Streams GET /api/experiments/{id}/export to `out` chunk by chunk, honouring back-pressure. */
export async function exportExperiment(
  env: CliEnv,
  client: ApiClient,
  id: string,
  format: 'csv' | 'jsonl',
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const body = await call(
    env,
    client.GET('/api/experiments/{id}/export', {
      params: { path: { id }, query: { format } },
      parseAs: 'stream',
    }),
  );
  if (!body) return;
  for await (const chunk of Readable.fromWeb(body as WebReadableStream)) {
    if (!out.write(chunk as Buffer)) await once(out, 'drain');
  }
}
