import { createHmac, timingSafeEqual } from 'crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';

/** One POST as the receiver saw it. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  raw: string;
  /** Parsed JSON (null if it was not JSON). */
  body: any;
  id: string;
  timestamp: string;
  signature: string;
}

/** How to answer one request: a status (default 204), optionally after holding it. */
export interface ReceiverAnswer {
  status?: number;
  delayMs?: number;
  /** Never answer (the sender's timeout or death ends it). */
  hang?: boolean;
  headers?: Record<string, string>;
}

export interface WebhookReceiver {
  /** Base URL, e.g. http://127.0.0.1:PORT; any path is accepted. */
  url: string;
  received: ReceivedWebhook[];
  /** Answers for the next requests, consumed one per request; then `respond`, then 204. */
  enqueue(...answers: ReceiverAnswer[]): void;
  setResponder(respond: ((hook: ReceivedWebhook) => ReceiverAnswer | undefined) | null): void;
  reset(): void;
  close(): Promise<void>;
}

/** Verifies a Standard Webhooks signature header against a secret, independently of the server's code. */
export function signatureMatches(
  hook: Pick<ReceivedWebhook, 'id' | 'timestamp' | 'raw' | 'signature'>,
  secret: string,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${hook.id}.${hook.timestamp}.${hook.raw}`).digest();
  return hook.signature.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** A webhook receiver on 127.0.0.1 that records every request and answers as told. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let queue: ReceiverAnswer[] = [];
  let respond: ((hook: ReceivedWebhook) => ReceiverAnswer | undefined) | null = null;
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
      const hook: ReceivedWebhook = {
        path: req.url ?? '/',
        headers: req.headers,
        raw,
        body,
        id: String(req.headers['webhook-id'] ?? ''),
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
      };
      received.push(hook);
      const answer = queue.shift() ?? respond?.(hook) ?? {};
      if (answer.hang) {
        held.add(res);
        return;
      }
      const send = () => {
        res.writeHead(answer.status ?? 204, answer.headers ?? {});
        res.end();
      };
      if (answer.delayMs) {
        held.add(res);
        setTimeout(() => {
          held.delete(res);
          if (!res.destroyed) send();
        }, answer.delayMs).unref();
      } else send();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    enqueue: (...answers) => queue.push(...answers),
    setResponder: (r) => (respond = r),
    reset: () => {
      received.length = 0;
      queue = [];
      respond = null;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
