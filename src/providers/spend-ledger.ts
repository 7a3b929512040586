import { type SpendKind, ProviderError } from './llm.types';

/** Injection token of the budget ledger (bound globally by the experiments module that owns budgets). */
export const SPEND_LEDGER = Symbol('SPEND_LEDGER');

/** Who pays a call and what it belongs to (CompletionRequest.spend). */
export interface SpendTarget {
  experimentId: string;
  kind: SpendKind;
  /** The run the call is for (a stage of it, or its judge). */
  runId?: string;
  /** The lease owner making a run's call: its reservation goes when the sweeper finds that lease expired. */
  holder?: string;
}

/**
 * Reserves spend before a provider call and settles it after. `reserve` is atomic in the database,
 * so concurrent workers cannot together start more calls than the budget covers. Every reservation
 * is a row: one left by a process that died before settling is released by the sweeper (the run's
 * lease expired, or the call's time is up), so it does not count against the budget forever.
 */
export interface SpendLedger {
  /** The reservation's id: the call may start (estimate reserved); null: the budget is exhausted. */
  reserve(target: SpendTarget, estimateUsd: number): Promise<string | null>;
  /**
   * Replaces the reservation with the real cost (null = unknown, counted as 0). Idempotent on the
   * reservation: one the sweeper released already is not subtracted twice; the cost is still added.
   */
  settle(target: SpendTarget, reservationId: string, costUsd: number | null): Promise<void>;
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
