import { RE2JS } from 're2js';
import type { RegExpEngine } from 'ajv/dist/types';

/**
 * User-supplied patterns (the `regex` scorer, `pattern` / `patternProperties` of a `json_schema`
 * scorer's schema) run on RE2's linear-time engine, never on V8's backtracking one: a pattern
 * such as `(a|a)*$` cannot stall the process, whatever its flags. RE2 has no lookaround and no
 * backreferences; such patterns are refused with a message saying so.
 */

/** JavaScript flags this engine honours; `g`, `d`, `u` and `v` change nothing for a first match. */
export const LINEAR_REGEXP_FLAGS = /^[dgimsuvy]*$/;

export class LinearRegExpError extends Error {}

/** Backreferences (`\1`, `\k<name>`) outside a character class: RE2 cannot match them. */
function hasBackreference(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (!inClass && (next === 'k' || (next >= '1' && next <= '9'))) return true;
      i++;
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
  }
  return false;
}

/**
 * Compiles a JavaScript pattern for RE2. Throws LinearRegExpError with a readable reason when the
 * pattern is not valid JavaScript or uses what RE2 cannot do in linear time.
 */
export function compileLinear(pattern: string, flags = ''): RE2JS {
  if (!LINEAR_REGEXP_FLAGS.test(flags) || new Set(flags).size !== flags.length)
    throw new LinearRegExpError(`invalid flags "${flags}"`);
  try {
    // Syntax errors are reported in JavaScript's words. Compiling never runs the pattern.
    new RegExp(pattern, flags.includes('v') ? 'v' : 'u');
  } catch {
    try {
      new RegExp(pattern);
    } catch (err) {
      throw new LinearRegExpError((err as Error).message);
    }
  }
  if (hasBackreference(pattern)) throw new LinearRegExpError('backreferences (\\1, \\k<name>) are not supported');
  let re2Flags = 0;
  if (flags.includes('i')) re2Flags |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) re2Flags |= RE2JS.MULTILINE;
  if (flags.includes('s')) re2Flags |= RE2JS.DOTALL;
  let translated = RE2JS.translateRegExp(pattern);
  // Sticky: the match must start where scanning starts, i.e. at the beginning of the text.
  if (flags.includes('y')) translated = `\\A(?:${translated})`;
  try {
    return RE2JS.compile(translated, re2Flags);
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new LinearRegExpError(`not supported by the linear-time engine (RE2: no lookaround): ${reason}`);
  }
}

/** For ajv's `code.regExp`: JSON Schema `pattern` and `patternProperties` through RE2. */
export const linearRegExpEngine: RegExpEngine = Object.assign(
  (pattern: string): { test(s: string): boolean; toString(): string } => {
    const re = compileLinear(pattern);
    // ajv keys compiled patterns by toString(): it must tell patterns apart.
    return { test: (s: string) => re.test(s), toString: () => `/${pattern}/` };
  },
  { code: 'compileLinear' },
);
