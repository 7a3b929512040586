import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';

export type FakeApi = 'openai' | 'anthropic';

/** One request as the fake server saw it. */
export interface FakeLlmRequest {
  api: FakeApi;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (null if it was not JSON). */
  body: any;
  /** `body.model`. */
  model: string;
  /** Text of the last user message (a string prompt is sent as exactly that). */
  prompt: string;
}

/**
 * How to answer one call. Everything is optional: with only `delayMs` it still answers the
 * default echo. A `status` ≥ 400 answers the API's error shape unless `body` is given.
 */
export interface FakeBehaviour {
  status?: number;
  headers?: Record<string, string>;
  /** Raw JSON body, sent as-is (overrides the generated one). */
  body?: unknown;
  /** Waits this long before answering (a client timeout then sees no answer). */
  delayMs?: number;
  /** Completion text for a success answer. */
  output?: string;
  /** Token counts reported in `usage`; default: word counts of prompt and output. */
  usage?: { input: number; output: number };
  /**
   * Tool calls to answer with: OpenAI `tool_calls` (arguments as JSON text, or `rawArguments` as
   * given) or Anthropic `tool_use` blocks. Ids default to `call_<n>` / `toolu_<n>`.
   */
  toolCalls?: FakeToolCall[];
  /** The raw `finish_reason` (OpenAI) or `stop_reason` (Anthropic); default from whether tools were called. */
  finishReason?: string;
}

export interface FakeToolCall {
  id?: string;
  name: string;
  arguments?: unknown;
  /** OpenAI only: the arguments text exactly as sent (e.g. not JSON). */
  rawArguments?: string;
}

export type FakeResponder = (req: FakeLlmRequest) => FakeBehaviour | undefined | Promise<FakeBehaviour | undefined>;

export interface FakeLlmServer {
  /** OpenAI base URL, with `/v1` (OPENAI_BASE_URL). */
  url: string;
  /** Anthropic base URL, without `/v1` (ANTHROPIC_BASE_URL: the SDK appends `/v1/messages`). */
  anthropicUrl: string;
  /** Every request received, in arrival order. */
  requests: FakeLlmRequest[];
  /** Behaviours for the next calls, consumed one per request before the responder is asked. */
  enqueue(...behaviours: FakeBehaviour[]): void;
  /** Computes answers when the queue is empty; return undefined for the default echo. */
  setResponder(responder: FakeResponder | null): void;
  /** Clears requests, queue and responder. */
  reset(): void;
  /** Stops the server and destroys every open socket (pending delayed answers included). */
  close(): Promise<void>;
}

/** The default answer: deterministic, derived from the prompt. */
export const fakeEcho = (prompt: string): string => `echo: ${prompt}`;

export const wordCount = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length;

function promptOf(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => m?.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) return last.content.map((part: any) => part?.text ?? '').join('');
  return '';
}

function errorBody(api: FakeApi, status: number): unknown {
  const message = `fake ${status} error`;
  if (api === 'anthropic') {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 529
          ? 'overloaded_error'
          : status >= 500
            ? 'api_error'
            : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  return {
    error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null, param: null },
  };
}

function successBody(
  api: FakeApi,
  req: FakeLlmRequest,
  output: string,
  usage: { input: number; output: number },
  n: number,
  behaviour: FakeBehaviour,
): unknown {
  const calls = behaviour.toolCalls ?? [];
  if (api === 'anthropic') {
    const text = output === '' && calls.length > 0 ? [] : [{ type: 'text', text: output }];
    return {
      id: `msg_fake_${n}`,
      type: 'message',
      role: 'assistant',
      model: req.model,
      content: [
        ...text,
        ...calls.map((call, i) => ({
          type: 'tool_use',
          id: call.id ?? `toolu_${i}`,
          name: call.name,
          input: call.arguments ?? {},
        })),
      ],
      stop_reason: behaviour.finishReason ?? (calls.length > 0 ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    };
  }
  const toolCalls = calls.map((call, i) => ({
    id: call.id ?? `call_${i}`,
    type: 'function',
    function: { name: call.name, arguments: call.rawArguments ?? JSON.stringify(call.arguments ?? {}) },
  }));
  return {
    id: `chatcmpl-fake-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: output === '' && calls.length > 0 ? null : output,
          refusal: null,
          ...(calls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: behaviour.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop'),
      },
    ],
    usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An OpenAI Chat Completions + Anthropic Messages stand-in on 127.0.0.1, scriptable per call. */
export async function startFakeLlmServer(): Promise<FakeLlmServer> {
  const requests: FakeLlmRequest[] = [];
  const queue: FakeBehaviour[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let responder: FakeResponder | null = null;
  let served = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0];
    const api: FakeApi | null =
      path === '/v1/chat/completions' ? 'openai' : path === '/v1/messages' ? 'anthropic' : null;
    if (req.method !== 'POST' || !api) return send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      body = null;
    }
    const seen: FakeLlmRequest = {
      api,
      method: req.method,
      path,
      headers: req.headers,
      body,
      model: body?.model ?? '',
      prompt: promptOf(body),
    };
    requests.push(seen);
    const n = ++served;

    const behaviour: FakeBehaviour = queue.shift() ?? (responder ? ((await responder(seen)) ?? {}) : {});
    if (behaviour.delayMs && behaviour.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, behaviour.delayMs);
        timers.add(timer);
      });
    }
    const status = behaviour.status ?? 200;
    if (behaviour.body !== undefined) return send(res, status, behaviour.body, behaviour.headers);
    if (status >= 400) return send(res, status, errorBody(api, status), behaviour.headers);
    const output = behaviour.output ?? fakeEcho(seen.prompt);
    const usage = behaviour.usage ?? { input: wordCount(seen.prompt), output: wordCount(output) };
    send(res, status, successBody(api, seen, output, usage, n, behaviour), behaviour.headers);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) =>
      send(res, 500, { error: { message: `fake server failure: ${String(err)}` } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  return {
    url: `${base}/v1`,
    anthropicUrl: base,
    requests,
    enqueue: (...behaviours) => void queue.push(...behaviours),
    setResponder: (fn) => void (responder = fn),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      responder = null;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
