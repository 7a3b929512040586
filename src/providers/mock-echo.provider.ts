import { countWords } from '../domain/words';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { isPlainObject } from '../common/is-plain-object';
import {
  ChatMessage,
  JsonValue,
  LlmParams,
  LlmProvider,
  ProviderAnswer,
  ProviderCall,
  ProviderError,
  ProviderErrorKind,
  ToolCall,
  UnsupportedField,
} from './llm.types';

export const MOCK_ECHO_OPTIONS = Symbol('MOCK_ECHO_OPTIONS');

export interface MockEchoOptions {
  /** How many callKeys keep a `mock_error_times` counter; the least recently used is forgotten. */
  maxTrackedKeys?: number;
}

const MOCK_ERRORS: readonly ProviderErrorKind[] = ['rate_limit', 'server_error', 'timeout'];
const STATUS_OF: Partial<Record<ProviderErrorKind, number>> = { rate_limit: 429, server_error: 500 };

/** The text mock:echo answers with: the messages' contents in order, a blank line between two. */
export function messagesText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

/** Why `mock_tool_calls` is unusable, or null: a list of `{name, arguments?}`. */
export function mockToolCallsProblem(value: JsonValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  const ok =
    Array.isArray(value) &&
    value.every(
      (call) =>
        isPlainObject(call) &&
        typeof call.name === 'string' &&
        call.name !== '' &&
        Object.keys(call).every((k) => k === 'name' || k === 'arguments'),
    );
  return ok ? null : 'must be a list of {"name": "<tool>", "arguments": <JSON>} (arguments optional)';
}

/**
 * `mock:echo` — answers with the prompt verbatim, for free: a string prompt's text, or the
 * messages' contents joined by a blank line. `mock_tool_calls` (a list of `{name, arguments}`) come
 * back as its tool calls (ids `call_0`, `call_1`, …; finish_reason `tool_calls`), so tools are testable
 * without a key. The test double for latency and faults: `mock_latency_ms` delays the answer;
 * `mock_error` fails the first `mock_error_times` calls of a callKey (default: every call) as a
 * rate limit, a server error or a timeout.
 */
@Injectable()
export class MockEchoProvider implements LlmProvider {
  readonly prefix = 'mock';
  readonly models = ['echo'] as const;
  /** calls per callKey, in least-recently-used order (a Map iterates in insertion order). */
  private readonly calls = new Map<string, number>();
  private readonly maxTrackedKeys: number;

  constructor(@Optional() @Inject(MOCK_ECHO_OPTIONS) options: MockEchoOptions | null = null) {
    this.maxTrackedKeys = Math.max(1, options?.maxTrackedKeys ?? 10_000);
  }

  /** Number of callKeys currently counted (bounded by maxTrackedKeys). */
  get trackedKeys(): number {
    return this.calls.size;
  }

  /** Everything can be echoed; only a malformed `mock_tool_calls` cannot be answered. */
  unsupportedFields(_model: string, call: ProviderCall): UnsupportedField[] {
    const problem = mockToolCallsProblem(call.params.mock_tool_calls);
    return problem ? [{ field: 'params.mock_tool_calls', reason: problem }] : [];
  }

  missingCredentials(): null {
    return null;
  }

  async complete(model: string, request: ProviderCall, callKey: string, signal?: AbortSignal): Promise<ProviderAnswer> {
    const { params } = request;
    if (model !== 'echo')
      throw new ProviderError(`Unknown mock model "mock:${model}": only mock:echo exists`, 'permanent');
    const latencyMs = this.numberParam(params, 'mock_latency_ms', 0);
    const error = params.mock_error ?? null;
    if (error !== null && !MOCK_ERRORS.includes(error as ProviderErrorKind)) {
      throw new ProviderError(
        `mock_error must be one of ${MOCK_ERRORS.join(', ')}, got ${JSON.stringify(error)}`,
        'permanent',
      );
    }
    const failTimes = this.numberParam(params, 'mock_error_times', Number.POSITIVE_INFINITY);
    // Count at call time, before the latency, so concurrent calls of one key see distinct numbers.
    const call = error === null ? 0 : this.nextCall(callKey);

    if (latencyMs > 0) await delay(latencyMs, signal);
    if (error !== null && call <= failTimes) {
      const kind = error as ProviderErrorKind;
      // An injected timeout fails at once: waiting the real timeout would only slow the tests.
      throw new ProviderError(
        `mock:echo: injected ${kind} (call ${call} of ${callKey})`,
        kind,
        STATUS_OF[kind] ?? null,
      );
    }
    const toolCalls = this.toolCalls(params.mock_tool_calls);
    const output = messagesText(request.messages);
    const words = countWords(output);
    return {
      output,
      tokensIn: words,
      tokensOut: words,
      toolCalls,
      finishReason: toolCalls ? 'tool_calls' : 'stop',
    };
  }

  private toolCalls(value: JsonValue | undefined): ToolCall[] | null {
    const problem = mockToolCallsProblem(value);
    if (problem) throw new ProviderError(`mock_tool_calls ${problem}`, 'permanent');
    if (!Array.isArray(value) || value.length === 0) return null;
    return value.map((call, i) => {
      const { name, arguments: args } = call as { name: string; arguments?: JsonValue };
      return { id: `call_${i}`, name, arguments: args ?? {} };
    });
  }

  private nextCall(callKey: string): number {
    const call = (this.calls.get(callKey) ?? 0) + 1;
    this.calls.delete(callKey);
    this.calls.set(callKey, call);
    if (this.calls.size > this.maxTrackedKeys) this.calls.delete(this.calls.keys().next().value as string);
    return call;
  }

  private numberParam(params: LlmParams, name: string, fallback: number): number {
    const raw = params[name];
    if (raw === undefined || raw === null || raw === '') return fallback;
    const value = Number(raw);
    if (typeof raw === 'boolean' || typeof raw === 'object' || !Number.isFinite(value) || value < 0) {
      throw new ProviderError(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`, 'permanent');
    }
    return value;
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => new ProviderError('mock:echo: request aborted', 'timeout');
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
