import { countWords } from '../domain/words';
import { type ExperimentConfig } from '../domain/configs';
import { paramCombinations } from './grid-expansion';
import { fillInputVariables, stageOutputRef, templateVariables } from '../domain/template';
import { promptOf } from './experiment-prompts';
import { promptPlainText } from '../domain/prompt';

/**
 * How a launch estimates its cost before anything runs (documented in the OpenAPI description):
 * - tokens in  = ⌈words of the prompt with the input's variables filled × 1.3⌉ (English text
 *   averages about 1.3 tokens per word; a messages prompt counts every message's content); a stage prompt also counts the estimated output of each
 *   earlier stage it references;
 * - tokens out = the call's `max_tokens` (or `max_completion_tokens` / `max_output_tokens`) when
 *   set, else DEFAULT_OUTPUT_TOKENS;
 * - one call per run, or with `stages` one call per stage (stage model and params default to the
 *   run's), as the executor plans them (execution/stage-plan.ts: stages replace the prompt);
 * - cost = tokens × the price table's price; repetitions multiply; `mock:echo` costs 0; any
 *   model without a known price makes the whole estimate `null` (unknown is not free);
 * - `llm_judge` scorer calls are not included.
 */
export const TOKENS_PER_WORD = 1.3;
export const DEFAULT_OUTPUT_TOKENS = 256;
const MAX_TOKEN_PARAMS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'];

export type CostFn = (model: string, tokensIn: number, tokensOut: number) => number | null;

export function estimateTokensIn(text: string): number {
  return Math.ceil(countWords(text) * TOKENS_PER_WORD);
}

export function estimateTokensOut(params: Record<string, unknown>): number {
  for (const key of MAX_TOKEN_PARAMS) {
    const value = params[key];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  }
  return DEFAULT_OUTPUT_TOKENS;
}

/** USD for the whole grid (10 decimals, as stored), or null when a model has no known price. */
export function estimateGridCost(config: ExperimentConfig, cost: CostFn): number | null {
  const combos = paramCombinations(config.params);
  const stages = config.stages ?? [];
  const repetitions = config.repetitions ?? 1;
  // Stage prompts minus their stage references; the references are added as tokens below.
  const stageTexts = stages.map((s) => promptPlainText(s.prompt));
  const promptTexts = config.prompts.map((entry, i) => promptPlainText(promptOf(entry, i)));
  const stageRefs = stageTexts.map((text) =>
    templateVariables(text)
      .map(stageOutputRef)
      .filter((r): r is string => r !== null),
  );
  let total = 0;
  for (const input of config.inputs ?? []) {
    const promptTokens = promptTexts.map((p) => estimateTokensIn(fillInputVariables(p, input)));
    const stageTokens = stageTexts.map((text) =>
      estimateTokensIn(fillInputVariables(text, input).replace(/\{\{[^{}]*\}\}/g, ' ')),
    );
    for (const model of config.models) {
      for (const params of combos) {
        if (stages.length === 0) {
          const out = estimateTokensOut(params);
          for (const tokensIn of promptTokens) {
            const c = cost(model, tokensIn, out);
            if (c === null) return null;
            total += c;
          }
          continue;
        }
        // The pipeline does not depend on the prompt variant: cost it once, count it per prompt.
        let pipeline = 0;
        const stageOut = new Map<string, number>();
        for (let s = 0; s < stages.length; s++) {
          const tokensOut = estimateTokensOut({ ...params, ...(stages[s].params ?? {}) });
          const tokensIn = stageTokens[s] + stageRefs[s].reduce((n, ref) => n + (stageOut.get(ref) ?? 0), 0);
          const c = cost(stages[s].model ?? model, tokensIn, tokensOut);
          if (c === null) return null;
          pipeline += c;
          stageOut.set(stages[s].name, tokensOut);
        }
        total += pipeline * promptTexts.length;
      }
    }
  }
  return Math.round(total * repetitions * 1e10) / 1e10;
}
