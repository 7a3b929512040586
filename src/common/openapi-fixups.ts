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
