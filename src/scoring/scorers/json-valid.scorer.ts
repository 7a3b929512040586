import { type Scorer, synchronous } from '../scorer';
import { unwrapCodeFence } from './scorer-params';

export interface JsonValidParams {
  allow_code_fence?: boolean;
}

/** The output parsed as JSON, or the parser's complaint. */
export function parseJsonOutput(
  output: string,
  allowCodeFence: boolean | undefined,
): { ok: true; value: unknown } | { ok: false; error: string } {
  const text = allowCodeFence ? unwrapCodeFence(output) : output;
  if (text.trim() === '') return { ok: false, error: 'output is empty' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** 1 when the whole output is one JSON value, else 0 with the parse error. */
export const jsonValidScorer: Scorer<JsonValidParams> = {
  type: 'json_valid',
  description:
    'Output is valid JSON (the whole output, surrounding whitespace allowed). With `allow_code_fence`, a Markdown ' +
    'code fence around it (```json … ```) is accepted. Score 1 or 0.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { allow_code_fence: { type: 'boolean', default: false } },
  },
  example: { name: 'is_json', type: 'json_valid', params: { allow_code_fence: true } },
  score: synchronous((ctx, params) => {
    const parsed = parseJsonOutput(ctx.output, params.allow_code_fence);
    return parsed.ok
      ? { value: 1, metadata: { valid: true } }
      : { value: 0, metadata: { valid: false, error: parsed.error } };
  }),
};
