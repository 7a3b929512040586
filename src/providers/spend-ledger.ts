import { type SpendKind, ProviderError } from './llm.types';

/** Injection token of the budget ledger (bound globally by the experiments module that owns budgets). */
export const SPEND_LEDGER = Symbol('SPEND_LEDGER');

/**
 * Reserves spend before a provider call and settles it after. `reserve` is atomic in the database,
 * so concurrent workers cannot together start more calls than the budget covers.
 */
export interface SpendLedger {
  /** true: the call may start (estimate reserved, or no budget); false: the budget is exhausted. */
  reserve(experimentId: string, estimateUsd: number): Promise<boolean>;
  /** Replaces the reservation with the real cost (null = unknown, counted as 0). */
  settle(experimentId: string, kind: SpendKind, reservedUsd: number, costUsd: number | null): Promise<void>;
}

/** No further provider call may start for this experiment: the run is cancelled, not failed. */
export class BudgetExhaustedError extends ProviderError {
  constructor() {
    super('budget exhausted', 'permanent');
    this.name = 'BudgetExhaustedError';
  }
}

/** Output tokens assumed for a call that sets no max_tokens (budget estimates only). */
export const DEFAULT_ESTIMATE_MAX_TOKENS = 4096;

/**
 * An upper-bound estimate of a call's cost: UTF-8 bytes of the prompt as input tokens (a token is
 * at least one byte for the providers' tokenizers), tool definitions included, plus max_tokens of output.
 */
export function estimateCallUsd(
  price: { input: number; output: number },
  prompt: unknown,
  params: Record<string, unknown>,
): number {
  const text = typeof prompt === 'string' ? prompt : JSON.stringify(prompt ?? '');
  const tools = params.tools === undefined ? '' : JSON.stringify(params.tools);
  const inputTokens = Buffer.byteLength(text, 'utf8') + Buffer.byteLength(tools, 'utf8');
  const maxTokens = [params.max_tokens, params.max_completion_tokens].find(
    (v): v is number => typeof v === 'number' && v > 0,
  );
  return (inputTokens * price.input + (maxTokens ?? DEFAULT_ESTIMATE_MAX_TOKENS) * price.output) / 1e6;
}
