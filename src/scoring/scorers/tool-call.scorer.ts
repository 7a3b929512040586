import { canonicalJson } from '../../domain/canonical-json';
import { isPlainObject } from '../../common/is-plain-object';
import { type ScoreContext, type Scorer, type ScorerResult } from '../scorer';
import { asText, preview } from './scorer-params';

export interface ToolCallParams {
  name: string;
  arguments?: unknown;
  match?: 'exact' | 'subset';
}

/** Equal as JSON values: key order does not matter, numbers compare as numbers. */
function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * `expected` is contained in `actual`: every key of an expected object is present with a value that
 * is itself contained (recursively); arrays and scalars must be equal.
 */
export function jsonSubset(expected: unknown, actual: unknown): boolean {
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return false;
    return Object.entries(expected).every(
      ([key, value]) => Object.prototype.hasOwnProperty.call(actual, key) && jsonSubset(value, actual[key]),
    );
  }
  return jsonEqual(expected, actual);
}

/**
 * 1 when the run's last stage called the tool `name` with matching arguments (any of its calls), else 0.
 * Without `arguments` the name alone decides.
 */
export const toolCallScorer: Scorer<ToolCallParams> = {
  type: 'tool_call',
  description:
    "The run's last stage called the tool `name`. With `arguments`, one call of that tool must also match them: " +
    '`match` subset (default: every given key present with an equal value, nested objects compared the same way, ' +
    'arrays and scalars equal) or exact (the whole arguments equal, key order aside). Without `arguments` the name ' +
    'alone decides. Score 1 or 0; the metadata lists the calls made.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, description: 'The tool (function) name that must be called.' },
      arguments: { description: 'Expected arguments (any JSON, usually an object).' },
      match: { enum: ['exact', 'subset'], default: 'subset' },
    },
  },
  example: {
    name: 'calls_weather',
    type: 'tool_call',
    params: { name: 'get_weather', arguments: { city: 'Paris' }, match: 'subset' },
  },
  score: (ctx, params) => Promise.resolve(scoreToolCall(ctx, params)),
};

function scoreToolCall(ctx: ScoreContext, params: ToolCallParams): ScorerResult {
  const calls = ctx.toolCalls ?? [];
  const called = calls.map((c) => c.name);
  const named = calls.filter((c) => c.name === params.name);
  if (named.length === 0) return { value: 0, metadata: { called, reason: `no call of "${params.name}"` } };
  if (params.arguments === undefined) return { value: 1, metadata: { called, matched_call_id: named[0].id } };
  const match = params.match ?? 'subset';
  const hit = named.find((c) =>
    match === 'exact' ? jsonEqual(params.arguments, c.arguments) : jsonSubset(params.arguments, c.arguments),
  );
  if (hit) return { value: 1, metadata: { called, match, matched_call_id: hit.id } };
  return {
    value: 0,
    metadata: {
      called,
      match,
      reason: `"${params.name}" was called, but not with matching arguments`,
      arguments_seen: named.slice(0, 3).map((c) => preview(asText(c.arguments))),
    },
  };
}
