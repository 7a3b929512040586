import { type OpenAPIObject } from '@nestjs/swagger';

/**
 * Marks every free-form object of the document (`type: object` without `properties`, e.g.
 * `inputs`, `params`, `weights`, scorer params) as taking any keys (`additionalProperties: true`):
 * without it generated clients type them `Record<string, never>` and cannot set a single key.
 */
export function markFreeFormObjects(document: OpenAPIObject): OpenAPIObject {
  visit(document);
  return document;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/**
 * Operations without a security requirement are the @Public() ones (every guarded controller
 * declares @ApiBearerAuth; a test checks both ways against the live guard): say so with
 * `security: []`. Declares every tag the operations use, in order of first use.
 */
export function declarePublicOperationsAndTags(document: OpenAPIObject): OpenAPIObject {
  const tags: string[] = [];
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operation.security ??= [];
      for (const tag of operation.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
    }
  }
  const declared = new Set((document.tags ?? []).map((tag) => tag.name));
  document.tags = [...(document.tags ?? []), ...tags.filter((tag) => !declared.has(tag)).map((name) => ({ name }))];
  return document;
}

function visit(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  if (
    schema.type === 'object' &&
    schema.properties === undefined &&
    schema.additionalProperties === undefined &&
    schema.$ref === undefined &&
    schema.allOf === undefined &&
    schema.oneOf === undefined &&
    schema.anyOf === undefined
  ) {
    schema.additionalProperties = true;
  }
  for (const [key, value] of Object.entries(schema)) {
    // Examples are data, not schemas (a property may still be named "example").
    if (key === 'properties' && typeof value === 'object' && value !== null) Object.values(value).forEach(visit);
    else if (key !== 'example' && key !== 'examples') visit(value);
  }
}

/** The body of every error answer (the exception filter's shape). */
const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer', example: 400 },
    message: {
      description: 'What went wrong; a list when several fields are invalid (each names its field)',
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      example: ['config.models[0]: unknown model "nope:model"'],
    },
    error: { type: 'string', description: 'The HTTP reason phrase', example: 'Bad Request' },
    request_id: { type: 'string', description: 'On 500 only: the X-Request-Id the server logged the error with' },
  },
  required: ['statusCode', 'message', 'error'],
};

/** Gives every documented 4xx/5xx answer without a body schema the common error body. */
export function documentErrorBodies(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, ErrorResponseDto: ERROR_SCHEMA as never };
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      for (const [code, response] of Object.entries(item[method]?.responses ?? {})) {
        const answer = response as { content?: unknown; $ref?: string };
        if (Number(code) >= 400 && answer.$ref === undefined && answer.content === undefined) {
          answer.content = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } };
        }
      }
    }
  }
  return document;
}
