import { createContext, Script } from 'vm';

/**
 * How long one synchronous piece of scorer work (a regex scan, a JSON Schema validation) may keep
 * the event loop. In embedded mode scorers run in the API process: a stalled scorer would stall
 * every request.
 */
export const SCORER_CPU_LIMIT_MS = 500;

export class WorkTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(`stopped after ${limitMs} ms`);
    this.name = 'WorkTimeoutError';
  }
}

// One context and one script, reused: V8 interrupts whatever runs inside `runInContext` once the
// timeout passes, including functions created outside the context (~0.2 ms per call).
const context = createContext({ work: undefined as (() => unknown) | undefined });
const script = new Script('work()');

/**
 * Runs synchronous `work` and interrupts it after `limitMs` (throwing WorkTimeoutError). Work that
 * is interrupted may leave the objects it was mutating half-updated: callers discard them.
 */
export function runBounded<T>(work: () => T, limitMs = SCORER_CPU_LIMIT_MS): T {
  const previous = context.work as (() => unknown) | undefined;
  context.work = work;
  try {
    return script.runInContext(context, { timeout: limitMs }) as T;
  } catch (err) {
    if ((err as { code?: string } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new WorkTimeoutError(limitMs);
    throw err;
  } finally {
    context.work = previous;
  }
}
