import { type JsonSchema, type ScoreContext, type Scorer, synchronous } from '../scorer';
import { unwrapCodeFence } from './scorer-params';

export interface JsonValidParams {
  allow_code_fence?: boolean;
  tool_call?: string;
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false; error: string };

/** `tool_call`: read a tool call's arguments instead of the text output (json_valid, json_schema). */
export const toolCallParamSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  description:
    "Check the arguments of the last stage's (first) call of this tool instead of the text output: structured " +
    'output obtained through a tool.',
};

/** The output parsed as JSON, or the parser's complaint. */
export function parseJsonOutput(output: string, allowCodeFence: boolean | undefined): ParsedJson {
  const text = allowCodeFence ? unwrapCodeFence(output) : output;
  if (text.trim() === '') return { ok: false, error: 'output is empty' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * The JSON a structured-output scorer checks: the text output parsed, or with `tool_call` the
 * arguments of that tool's call (already parsed; arguments a provider sent as non-JSON text are parsed
 * again, and fail as the text would).
 */
export function structuredValue(ctx: ScoreContext, params: JsonValidParams): ParsedJson {
  if (params.tool_call === undefined) return parseJsonOutput(ctx.output, params.allow_code_fence);
  const call = (ctx.toolCalls ?? []).find((c) => c.name === params.tool_call);
  if (!call) return { ok: false, error: `no call of "${params.tool_call}"` };
  return typeof call.arguments === 'string'
    ? parseJsonOutput(call.arguments, params.allow_code_fence)
    : { ok: true, value: call.arguments };
}

/** 1 when the whole output is one JSON value, else 0 with the parse error. */
export const jsonValidScorer: Scorer<JsonValidParams> = {
  type: 'json_valid',
  description:
    'Output is valid JSON (the whole output, surrounding whitespace allowed). With `allow_code_fence`, a Markdown ' +
    'code fence around it (```json … ```) is accepted. With `tool_call`, the arguments of that tool call are ' +
    'checked instead. Score 1 or 0.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { allow_code_fence: { type: 'boolean', default: false }, tool_call: toolCallParamSchema },
  },
  example: { name: 'is_json', type: 'json_valid', params: { allow_code_fence: true } },
  score: synchronous((ctx, params) => {
    const parsed = structuredValue(ctx, params);
    return parsed.ok
      ? { value: 1, metadata: { valid: true } }
      : { value: 0, metadata: { valid: false, error: parsed.error } };
  }),
};
