import { BadRequestException } from '@nestjs/common';
import { isUtf8 } from 'buffer';
import type { NextFunction, Request, Response } from 'express';
import { capProblems } from './problem-list';

/** Deeper JSON is refused before any handler walks it recursively (class-transformer, validators). */
export const MAX_JSON_DEPTH = 64;

/** Keys an object must not carry at the top level of a body: they are never fields, only tricks. */
const FORBIDDEN_TOP_LEVEL_KEYS = ['constructor', '__proto__', 'prototype'];

// NUL cannot be stored by PostgreSQL (neither text nor jsonb); an unpaired surrogate is not Unicode.
// eslint-disable-next-line no-control-regex
const BAD_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(text: string): string | null {
  const m = BAD_TEXT.exec(text);
  if (!m) return null;
  return m[0] === '\u0000'
    ? 'contains a NUL character (\\u0000), which cannot be stored'
    : 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
}

/** Properties refused anywhere in a JSON body: class-transformer drops them silently (data loss). */
const UNSUPPORTED_KEYS = new Set(['constructor', '__proto__']);

/** A node of the walk; its path is only spelled out when it has a problem. */
interface Node {
  value: unknown;
  parent: Node | null;
  key: string | number;
  depth: number;
}

function pathOf(node: Node): string {
  const parts: string[] = [];
  for (let n: Node | null = node; n?.parent; n = n.parent) {
    const k = n.key;
    parts.push(typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
  }
  let root: Node = node;
  while (root.parent) root = root.parent;
  return String(root.key) + parts.reverse().join('');
}

/**
 * Problems of one parsed value (a JSON body or a query object): strings and keys that PostgreSQL or
 * a Unicode-aware consumer would choke on, property names that would be dropped silently, and
 * nesting beyond MAX_JSON_DEPTH. Iterative (no recursion), linear in the size of the value, stops
 * after a few problems.
 */
export function inputProblems(root: unknown, rootName: string): string[] {
  const problems: string[] = [];
  const stack: Node[] = [{ value: root, parent: null, key: rootName, depth: 0 }];
  while (stack.length > 0 && problems.length <= 50) {
    const node = stack.pop() as Node;
    const { value, depth } = node;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem) problems.push(`${pathOf(node)} ${problem}`);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      problems.push(`${rootName} nests deeper than ${MAX_JSON_DEPTH} levels`);
      break;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], parent: node, key: i, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      const problem = textProblem(key);
      if (problem) problems.push(`${pathOf(node)} has a property name that ${problem}`);
      else if (UNSUPPORTED_KEYS.has(key) && depth > 0)
        problems.push(`${pathOf(node)} has the property name "${key}", which is not supported`);
      else stack.push({ value: (value as Record<string, unknown>)[key], parent: node, key, depth: depth + 1 });
    }
  }
  return problems;
}

/**
 * Express middleware after the body parsers: a request whose body, query or path carries what
 * would only fail deeper (a 500 from PostgreSQL, a stack overflow) is answered 400 here.
 */
export function rejectMalformedInput(req: Request, _res: Response, next: NextFunction): void {
  const problems: string[] = [];
  let path = req.path;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    // Malformed escapes are the router's business (it answers 400 or 404).
  }
  const pathProblem = textProblem(path);
  if (pathProblem) problems.push(`the URL path ${pathProblem}`);
  problems.push(...inputProblems(req.query, 'query'));
  const body: unknown = req.body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    for (const key of FORBIDDEN_TOP_LEVEL_KEYS) {
      if (Object.prototype.hasOwnProperty.call(body, key)) problems.push(`property ${key} should not exist`);
    }
  }
  problems.push(...inputProblems(body, 'body'));
  next(problems.length > 0 ? new BadRequestException(capProblems(problems)) : undefined);
}

/**
 * body-parser `verify` hook: invalid UTF-8 would be decoded with replacement characters and stored
 * silently changed; it is refused instead.
 */
export function rejectInvalidUtf8(_req: unknown, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) {
    throw Object.assign(new Error('Request body is not valid UTF-8'), { status: 400, type: 'encoding.invalid' });
  }
}
