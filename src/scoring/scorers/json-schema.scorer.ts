import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { canonicalJson } from '../../domain/canonical-json';
import { describeAjvErrors } from '../ajv-errors';
import { runBounded, WorkTimeoutError } from '../bounded-work';
import { linearRegExpEngine } from '../linear-regexp';
import { type Scorer, ScorerError, synchronous } from '../scorer';
import { structuredValue, toolCallParamSchema } from './json-valid.scorer';

export interface JsonSchemaParams {
  schema: Record<string, unknown>;
  allow_code_fence?: boolean;
  tool_call?: string;
}

/** Compiled user schemas kept, least recently used first out. */
const CACHE_LIMIT = 200;
const compiled = new Map<string, ValidateFunction>();
/** Compiling is done once per schema (cached), so it may take longer than one validation. */
const COMPILE_LIMIT_MS = 5000;

/**
 * Compiles a user's JSON Schema: draft 2020-12 or 2019-09 when its `$schema` says so, else draft-07
 * (ajv's default). Each schema gets its own Ajv instance, so schemas sharing an `$id` never clash
 * and an evicted one is garbage collected. Unknown keywords are tolerated (strict off), an invalid
 * schema throws.
 */
export function compileUserSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = canonicalJson(schema);
  const hit = compiled.get(key);
  if (hit) {
    compiled.delete(key);
    compiled.set(key, hit);
    return hit;
  }
  const draft = typeof schema.$schema === 'string' ? schema.$schema : '';
  // User patterns run on RE2 (linear time): a schema's `pattern` cannot stall the process.
  const options = { strict: false, allErrors: true, validateSchema: true, code: { regExp: linearRegExpEngine } };
  const ajv = draft.includes('2020-12')
    ? new Ajv2020(options)
    : draft.includes('2019-09')
      ? new Ajv2019(options)
      : new Ajv(options);
  addFormats(ajv);
  // A huge schema must not hold the event loop either; an interrupted Ajv instance is discarded.
  let validate: ValidateFunction;
  try {
    validate = runBounded(() => ajv.compile(schema), COMPILE_LIMIT_MS);
  } catch (err) {
    if (err instanceof WorkTimeoutError)
      throw new Error(`compiling it took longer than ${err.limitMs} ms`, { cause: err });
    throw err;
  }
  compiled.set(key, validate);
  if (compiled.size > CACHE_LIMIT) compiled.delete(compiled.keys().next().value as string);
  return validate;
}

/** 1 when the output is JSON that conforms to `schema`, else 0 with the parse or validation errors. */
export const jsonSchemaScorer: Scorer<JsonSchemaParams> = {
  type: 'json_schema',
  description:
    'Output is JSON conforming to `schema` (JSON Schema draft-07, or 2019-09 / 2020-12 when its `$schema` says so; ' +
    'formats such as email and date-time are checked; `pattern` runs on a linear-time engine: no lookaround or ' +
    'backreferences). `allow_code_fence` accepts a Markdown code fence around ' +
    'the JSON; `tool_call` checks the arguments of that tool call instead (structured output through a tool). ' +
    'An invalid schema is rejected when the experiment is created. Score 1 or 0.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['schema'],
    properties: {
      schema: { type: 'object' },
      allow_code_fence: { type: 'boolean', default: false },
      tool_call: toolCallParamSchema,
    },
  },
  example: {
    name: 'ticket_json',
    type: 'json_schema',
    params: {
      schema: {
        type: 'object',
        required: ['summary', 'priority'],
        properties: { summary: { type: 'string' }, priority: { enum: ['low', 'medium', 'high'] } },
      },
      allow_code_fence: true,
    },
  },
  validate(params) {
    // An async schema's validate returns a promise, which would read as "conforms".
    if (params.schema.$async === true) return ['params.schema: "$async" schemas are not supported'];
    try {
      compileUserSchema(params.schema);
      return [];
    } catch (err) {
      return [`params.schema is not a valid JSON Schema: ${(err as Error).message}`];
    }
  },
  score: synchronous((ctx, params) => {
    let validate: ValidateFunction;
    try {
      validate = compileUserSchema(params.schema);
    } catch (err) {
      throw new ScorerError(`params.schema is not a valid JSON Schema: ${(err as Error).message}`);
    }
    const parsed = structuredValue(ctx, params);
    if (!parsed.ok) return { value: 0, metadata: { valid_json: false, error: parsed.error } };
    let ok: boolean;
    try {
      ok = runBounded(() => validate(parsed.value));
    } catch (err) {
      if (!(err instanceof WorkTimeoutError)) throw err;
      // Interrupted mid-way, its compiled state is not trusted again.
      compiled.delete(canonicalJson(params.schema));
      throw new ScorerError(`validating the output took longer than ${err.limitMs} ms and was stopped`);
    }
    if (ok) return { value: 1, metadata: { valid_json: true, conforms: true } };
    const errors = describeAjvErrors('output', validate.errors);
    return { value: 0, metadata: { valid_json: true, conforms: false, errors: errors.slice(0, 10) } };
  }),
};
