import type { ErrorObject } from 'ajv';

/** `/values/0/name` under `params` → `params.values[0].name`. */
export function jsonPointerToPath(root: string, pointer: string): string {
  if (!pointer) return root;
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, seg) => {
      if (/^\d+$/.test(seg)) return `${path}[${seg}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(seg)) return `${path}.${seg}`;
      return `${path}[${JSON.stringify(seg)}]`;
    }, root);
}

function describeOne(root: string, e: ErrorObject): string {
  const path = jsonPointerToPath(root, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${path} is missing required property "${String(p.missingProperty)}"`;
    case 'additionalProperties':
      return `${path} has unknown property "${String(p.additionalProperty)}"`;
    case 'enum':
      return `${path} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type': {
      const types = String(p.type).split(',');
      return `${path} must be of type ${types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}` : types[0]}`;
    }
    default:
      return `${path} ${e.message ?? `fails "${e.keyword}"`}`;
  }
}

/** Ajv errors as readable sentences naming the offending field, without duplicates. */
export function describeAjvErrors(root: string, errors: ErrorObject[] | null | undefined): string[] {
  return [...new Set((errors ?? []).map((e) => describeOne(root, e)))];
}
