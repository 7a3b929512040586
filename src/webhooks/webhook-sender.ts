import { Injectable, OnModuleDestroy } from '@nestjs/common';
import * as http from 'http';
import * as https from 'https';
import { type LookupFunction } from 'net';

export interface SendResult {
  /** The receiver's status code, or null when none arrived (timeout, refused, reset). */
  statusCode: number | null;
  /** Null on a 2xx. */
  error: string | null;
  durationMs: number;
}

/** Bytes of a receiver's answer kept for the delivery log's `error` (the rest is read and dropped). */
const ANSWER_EXCERPT = 200;

/**
 * POSTs one webhook body. The whole attempt (connect, answer, its body) must finish within
 * `timeoutMs`; redirects are never followed (a 3xx is a failed attempt); the connection goes only
 * to the addresses the URL policy pinned.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };

  send(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
    lookup?: LookupFunction,
  ): Promise<SendResult> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (statusCode: number | null, error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ statusCode, error, durationMs: elapsed() });
      };
      const target = new URL(url);
      const client = target.protocol === 'https:' ? https : http;
      const request = client.request(
        target,
        {
          method: 'POST',
          agent: this.agents[target.protocol as 'http:' | 'https:'],
          lookup,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'PromptLooper-Webhooks/1',
          },
        },
        (response) => {
          const code = response.statusCode ?? null;
          let excerpt = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            if (excerpt.length < ANSWER_EXCERPT) excerpt += chunk.slice(0, ANSWER_EXCERPT - excerpt.length);
          });
          response.on('end', () => finish(code, describe(code, excerpt)));
          response.on('error', (error) => finish(code, error.message));
        },
      );
      const timer = setTimeout(() => {
        request.destroy(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) =>
        finish(null, error.code ? `${error.code}: ${error.message}` : error.message),
      );
      request.end(body);
    });
  }

  onModuleDestroy(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}

function describe(code: number | null, excerpt: string): string | null {
  if (code !== null && code >= 200 && code < 300) return null;
  const answer = excerpt.trim() ? `: ${excerpt.trim().replace(/\s+/g, ' ')}` : '';
  if (code !== null && code >= 300 && code < 400) return `HTTP ${code} (redirects are not followed)${answer}`;
  return `HTTP ${code}${answer}`;
}
