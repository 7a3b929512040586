import { type JsonSchema, type ScoreContext, ScorerError } from '../scorer';

/** Params of scorers that compare the output with an expected value, literal or from the input. */
export interface ExpectedParams {
  expected?: string | number | boolean;
  expected_field?: string;
}

export const expectedParamsSchema: Record<string, JsonSchema> = {
  expected: {
    type: ['string', 'number', 'boolean'],
    description: 'The expected value (exactly one of expected / expected_field).',
  },
  expected_field: {
    type: 'string',
    minLength: 1,
    description: "Name of the run's input_data field holding the expected value.",
  },
};

/** For pairs of params of which exactly one must be set (the schema alone would give unreadable errors). */
export function exactlyOneOf(params: Record<string, unknown>, a: string, b: string): string[] {
  const hasA = params[a] !== undefined;
  const hasB = params[b] !== undefined;
  if (hasA && hasB) return [`params: set only one of "${a}" and "${b}"`];
  if (!hasA && !hasB) return [`params: set one of "${a}" or "${b}"`];
  return [];
}

/** The expected value: the literal, or the named field of the run's input_data. */
export function resolveExpected(ctx: ScoreContext, params: ExpectedParams): unknown {
  if (params.expected !== undefined) return params.expected;
  const field = params.expected_field as string;
  const input = ctx.inputData;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ScorerError(`expected_field "${field}": the run's input_data is not an object`);
  }
  if (!Object.prototype.hasOwnProperty.call(input, field) || input[field] === undefined || input[field] === null) {
    throw new ScorerError(`expected_field "${field}": the run's input_data has no such field`);
  }
  return input[field];
}

/** Text form of a JSON value for comparisons: strings as they are, anything else as JSON. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Metadata keeps short excerpts only: a score row should not copy a whole output. */
export function preview(text: string, maxCodePoints = 200): string {
  if (text.length <= maxCodePoints) return text;
  const points = Array.from(text);
  return points.length <= maxCodePoints ? text : `${points.slice(0, maxCodePoints).join('')}…`;
}

/** Length in Unicode code points (an astral character such as an emoji counts once). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * LLMs often wrap JSON in a Markdown code fence: with `allow_code_fence`, a whole output of the form
 * ```json … ``` (language tag optional) is unwrapped; anything else is left as it is.
 */
export function unwrapCodeFence(text: string): string {
  const t = text.trim();
  const firstNewline = t.indexOf('\n');
  if (!t.startsWith('```') || !t.endsWith('```') || firstNewline < 0 || firstNewline > t.length - 4) return text;
  if (!/^[\w-]*$/.test(t.slice(3, firstNewline).trim())) return text;
  return t.slice(firstNewline + 1, t.length - 3);
}

/** Case folding for case-insensitive comparisons: upper then lower, so "ß" and "SS" compare equal. */
export function foldCase(text: string): string {
  return text.toUpperCase().toLowerCase();
}

/** `trim` / `case_insensitive`: how comparing scorers normalise both sides. */
export interface TextNormaliseParams {
  trim?: boolean;
  case_insensitive?: boolean;
}

export const textNormaliseParamsSchema: Record<string, JsonSchema> = {
  trim: { type: 'boolean', default: false },
  case_insensitive: { type: 'boolean', default: false },
};

/** The normaliser the params ask for: trim first, then case-fold. */
export function textNormaliser(params: TextNormaliseParams): (text: string) => string {
  return (text) => {
    const trimmed = params.trim ? text.trim() : text;
    return params.case_insensitive ? foldCase(trimmed) : trimmed;
  };
}

/** Params schema of scorers that compare the output with an expected value (exact_match, similarity). */
export const expectedTextParamsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...expectedParamsSchema, ...textNormaliseParamsSchema },
};

/** Exactly one of `expected` / `expected_field`. */
export const validateExpected = (params: unknown): string[] =>
  exactlyOneOf(params as Record<string, unknown>, 'expected', 'expected_field');
