import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id: string | null;
  event: string;
  data: Record<string, unknown>;
}

export interface OpenStream {
  status: number;
  body: string;
  events: SseEvent[];
  ended: Promise<void>;
  close(): void;
}

/** A real HTTP client of the event stream that records each event's `id:`. */
export function openStream(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${path}`,
      { headers: { Accept: 'text/event-stream', ...headers } },
      (res: IncomingMessage) => {
        const events: SseEvent[] = [];
        const stream: OpenStream = {
          status: res.statusCode ?? 0,
          body: '',
          events,
          ended: new Promise<void>((done) => res.on('close', () => done())),
          close: () => req.destroy(),
        };
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          stream.body += chunk;
          buffer += chunk;
          let sep: number;
          while ((sep = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, sep);
            buffer = buffer.slice(sep + 2);
            let id: string | null = null;
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0)
              events.push({ id, event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
          }
        });
        resolve(stream);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
