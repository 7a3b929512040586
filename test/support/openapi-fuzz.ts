/**
 * Malformed requests for every operation of an OpenAPI document (the app's `/docs-json`): wrong
 * types, NUL characters, lone surrogates, deep nesting, huge numbers, long strings, unknown fields,
 * broken JSON and invalid UTF-8, in bodies, query strings and path parameters. Deterministic: the
 * same document and `perOperation` give the same cases. Used by the fuzz e2e suite (a small count)
 * and by `bench/fuzz.ts` (any count, against a running server).
 */

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  example?: unknown;
  enum?: unknown[];
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  schema?: Schema;
}

interface Operation {
  parameters?: Parameter[];
  responses?: Record<string, { content?: Record<string, unknown> }>;
  requestBody?: { content?: Record<string, { schema?: Schema; example?: unknown }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface FuzzCase {
  /** `METHOD /path/template`, for reports. */
  operation: string;
  /** What was malformed. */
  kind: string;
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Path with parameters filled in and encoded, query string included. */
  url: string;
  /** Raw body (JSON text, or bytes for invalid UTF-8); none for no body. */
  body?: string | Buffer;
}

/** Ids of real resources, so that bodies reach validation instead of a 404 (never used by DELETE). */
export type KnownIds = Record<string, string>;

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);
const DEEP = `${'['.repeat(5000)}${']'.repeat(5000)}`;
const WRONG_VALUES: unknown[] = [123, 'text', true, null, [], {}, [1, 'x', null], -1];
const HUGE_NUMBERS = ['1e400', '-1e400', '9223372036854775808', '1e308', '-0', '0.0000000000000000000001'];
const RANDOM_UUID = '0b9d6d55-53f1-4a0e-9a38-5a3b0bcf1f2e';

/** Bodies: a valid-looking base, then one malformation of it. */
const BODY_MUTATIONS: {
  kind: string;
  make(base: Record<string, unknown>, field: string | null, long: string): string | Buffer;
}[] = [
  { kind: 'wrong type', make: (b, f) => JSON.stringify(f ? { ...b, [f]: pick(WRONG_VALUES, f) } : 42) },
  { kind: 'NUL in a string', make: (b, f) => JSON.stringify(f ? { ...b, [f]: 'a\u0000b' } : { 'k\u0000': 1 }) },
  { kind: 'lone surrogate', make: (b, f) => JSON.stringify(f ? { ...b, [f]: 'x\ud800y' } : { '\udc00': 1 }) },
  { kind: 'deep nesting', make: (b, f) => `{${f ? `${JSON.stringify(f)}:` : '"deep":'}${DEEP}}` },
  {
    kind: 'huge number',
    make: (b, f) => {
      const text = JSON.stringify(b);
      const value = pick(HUGE_NUMBERS, f ?? 'n');
      const key = JSON.stringify(f ?? 'n');
      return text === '{}' ? `{${key}:${value}}` : `${text.slice(0, -1)},${key}:${value}}`;
    },
  },
  { kind: 'long string', make: (b, f, long) => JSON.stringify(f ? { ...b, [f]: long } : { long }) },
  {
    kind: 'unknown fields',
    make: (b) =>
      JSON.stringify({ ...b, unknown_field_xyz: 1, constructor: { prototype: 1 }, nested: { a: { b: {} } } }),
  },
  { kind: 'nested wrong types', make: (b, f) => JSON.stringify(f ? { ...b, [f]: [{ [f]: [[null]] }] } : [[]]) },
  { kind: 'broken JSON', make: (b) => `${JSON.stringify(b).slice(0, -1)},"x":` },
  {
    kind: 'invalid UTF-8',
    make: () => Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
  },
  { kind: 'not an object', make: () => pick(['[]', '"text"', 'null', '0', 'true'], 'x') },
];

/** Query and path values. */
const VALUE_MUTATIONS: { kind: string; value: string }[] = [
  { kind: 'NUL', value: '%00' },
  { kind: 'lone surrogate (invalid UTF-8)', value: '%ED%A0%80' },
  { kind: 'huge number', value: '9223372036854775808' },
  { kind: 'float', value: '1e308' },
  { kind: 'negative', value: '-1' },
  { kind: 'long string', value: 'a'.repeat(10_000) },
  { kind: 'percent garbage', value: '%E0%A4%A' },
  { kind: 'unicode', value: encodeURIComponent('🎉\u202e') },
];

export interface FuzzOptions {
  /** Length of the long strings in bodies (default 200,000 characters). */
  longString?: number;
}

export function fuzzCases(
  doc: OpenApiDocument,
  perOperation: number,
  known: KnownIds = {},
  options: FuzzOptions = {},
): FuzzCase[] {
  const long = 'a'.repeat(options.longString ?? 200_000);
  const cases: FuzzCase[] = [];
  let rotation = 0;
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const m = method as FuzzCase['method'];
      const params = op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');
      const schema = jsonSchemaOf(op, doc);
      const base = schema ? (example(schema, doc, 0) as Record<string, unknown>) : null;
      const allFields = schema ? Object.keys(resolve(schema, doc).properties ?? {}) : [];
      const candidates: (() => FuzzCase)[] = [];
      // Never real ids for DELETE (the pass must not remove what it fuzzes) nor for event streams
      // (an open stream of a real experiment answers for as long as the experiment lives).
      const realPath = fillPath(template, pathParams, m === 'delete' || isStream(op, template) ? {} : known);
      const operation = `${m.toUpperCase()} ${template}`;
      if (base !== null) {
        for (const mutation of BODY_MUTATIONS) {
          const targets = allFields.length > 0 ? allFields : [null];
          for (const field of targets) {
            candidates.push(() => ({
              operation,
              kind: `body ${mutation.kind}${field ? ` (${field})` : ''}`,
              method: m,
              url: realPath,
              body: mutation.make(base, field, long),
            }));
          }
        }
      }
      for (const q of queryParams) {
        for (const v of VALUE_MUTATIONS) {
          candidates.push(() => ({
            operation,
            kind: `query ${q.name} ${v.kind}`,
            method: m,
            url: `${realPath}?${q.name}=${v.value}`,
            body: base !== null ? JSON.stringify(base) : undefined,
          }));
        }
        candidates.push(() => ({
          operation,
          kind: `query ${q.name} repeated`,
          method: m,
          url: `${realPath}?${q.name}=1&${q.name}=2&${q.name}[a]=3`,
        }));
      }
      for (const p of pathParams) {
        for (const v of VALUE_MUTATIONS) {
          candidates.push(() => ({
            operation,
            kind: `path ${p.name} ${v.kind}`,
            method: m,
            url: template.replace(/\{([^}]+)\}/g, (_, name: string) => (name === p.name ? v.value : RANDOM_UUID)),
            body: base !== null ? JSON.stringify(base) : undefined,
          }));
        }
      }
      candidates.push(() => ({
        operation,
        kind: 'unknown query field',
        method: m,
        url: `${realPath}?unknown_field_xyz=1&__proto__[x]=1&constructor=1`,
      }));
      // Round-robin from a rotating offset: a small count still covers every kind across operations.
      const take = Math.min(perOperation, candidates.length);
      const step = Math.max(1, Math.floor(candidates.length / take));
      for (let i = 0; i < take; i++) cases.push(candidates[(rotation + i * step) % candidates.length]());
      rotation += 1;
    }
  }
  return cases;
}

function isStream(op: Operation, template: string): boolean {
  if (template.endsWith('/events')) return true;
  return Object.values(op.responses ?? {}).some((r) => Object.keys(r.content ?? {}).includes('text/event-stream'));
}

function jsonSchemaOf(op: Operation, doc: OpenApiDocument): Schema | null {
  const content = op.requestBody?.content?.['application/json'];
  if (!content?.schema) return null;
  return resolve(content.schema, doc);
}

function resolve(schema: Schema, doc: OpenApiDocument): Schema {
  let s = schema;
  for (let i = 0; s.$ref && i < 10; i++) s = doc.components?.schemas?.[s.$ref.split('/').pop() as string] ?? {};
  if (s.allOf) return s.allOf.reduce<Schema>((acc, part) => ({ ...acc, ...resolve(part, doc) }), {});
  return s;
}

/** A value of the schema's shape (its example when it has one). */
function example(schema: Schema, doc: OpenApiDocument, depth: number): unknown {
  const s = resolve(schema, doc);
  if (s.example !== undefined) return s.example;
  if (s.enum?.length) return s.enum[0];
  if (depth > 4) return null;
  const variant = s.oneOf?.[0] ?? s.anyOf?.[0];
  if (variant) return example(variant, doc, depth + 1);
  switch (s.type) {
    case 'string':
      return 'x';
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return s.items ? [example(s.items, doc, depth + 1)] : [];
    default: {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(s.properties ?? {})) out[key] = example(value, doc, depth + 1);
      return out;
    }
  }
}

function fillPath(template: string, params: Parameter[], known: KnownIds): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const p = params.find((x) => x.name === name);
    return encodeURIComponent(known[name] ?? (p?.schema?.type === 'integer' ? '1' : RANDOM_UUID));
  });
}

function pick<T>(values: T[], seed: string): T {
  let h = 0;
  for (let i = 0; i < seed.length; i++) h = (h * 31 + seed.charCodeAt(i)) | 0;
  return values[Math.abs(h) % values.length];
}
