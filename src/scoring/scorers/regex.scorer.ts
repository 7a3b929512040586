import { compileLinear, LinearRegExpError } from '../linear-regexp';
import { type Scorer, synchronous } from '../scorer';
import { preview } from './scorer-params';

export interface RegexParams {
  pattern: string;
  flags?: string;
}

/**
 * Only this many UTF-16 units of the output are scanned (never splitting a surrogate pair). RE2
 * matches in time linear in the text and in the pattern's program size, both capped: a score's
 * work is bounded by construction, not by a clock (its result never depends on the machine's load).
 */
export const REGEX_MAX_SCANNED_LENGTH = 100_000;
/** RE2's measure of a pattern's cost; 1000 × 100,000 units is ~0.4 s on one core, the worst case. */
export const REGEX_MAX_PROGRAM_SIZE = 1000;
/**
 * Locating the match (for metadata) tracks positions and costs ~10× the verdict: it is computed
 * only while program size × scanned length stays below this (~0.2 s), else reported as null.
 */
export const REGEX_MATCH_POSITION_BUDGET = 2_000_000;

/** Why a pattern is refused, or null: invalid JavaScript, beyond RE2 (lookaround, backreferences), too complex. */
export function regexProblem(pattern: string, flags: string | undefined): string | null {
  let size: number;
  try {
    size = compileLinear(pattern, flags ?? '').programSize();
  } catch (err) {
    if (err instanceof LinearRegExpError) return `params.pattern is not a valid regular expression: ${err.message}`;
    throw err;
  }
  if (size > REGEX_MAX_PROGRAM_SIZE)
    return `params.pattern is too complex: its compiled size is ${size}, at most ${REGEX_MAX_PROGRAM_SIZE} is allowed (large counted repetitions such as {500} weigh most)`;
  return null;
}

function capped(text: string): { text: string; truncated: boolean } {
  if (text.length <= REGEX_MAX_SCANNED_LENGTH) return { text, truncated: false };
  let end = REGEX_MAX_SCANNED_LENGTH;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // keep a surrogate pair whole
  return { text: text.slice(0, end), truncated: true };
}

/** 1 when the pattern matches somewhere in the output (anchors make it a full match), else 0. */
export const regexScorer: Scorer<RegexParams> = {
  type: 'regex',
  description:
    'Output matches a regular expression (`pattern` in JavaScript syntax, optional `flags` from dgimsuvy; use ^…$ ' +
    'for a full match). Patterns run on a linear-time engine (RE2 semantics: `.` and classes work on code points, ' +
    'no lookaround, no backreferences, compiled size at most ' +
    `${REGEX_MAX_PROGRAM_SIZE}). Only the first ` +
    `${REGEX_MAX_SCANNED_LENGTH} UTF-16 units of the output are scanned. Score 1 or 0.`,
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['pattern'],
    properties: {
      pattern: { type: 'string', minLength: 1, maxLength: 1000 },
      flags: { type: 'string', pattern: '^[dgimsuvy]*$', default: '' },
    },
  },
  example: { name: 'has_ticket_id', type: 'regex', params: { pattern: '\\bTICKET-\\d{4,}\\b', flags: 'i' } },
  validate(params) {
    const problem = regexProblem(params.pattern, params.flags);
    return problem ? [problem] : [];
  },
  score: synchronous((ctx, params) => {
    const { text, truncated } = capped(ctx.output);
    const re = compileLinear(params.pattern, params.flags ?? '');
    const matched = re.test(text);
    let span: { match: string; index: number } | null = null;
    if (matched && re.programSize() * text.length <= REGEX_MATCH_POSITION_BUDGET) {
      const m = re.matcher(text);
      if (m.find()) span = { match: preview(text.slice(m.start(), m.end())), index: m.start() };
    }
    return {
      value: matched ? 1 : 0,
      metadata: { matched, match: span?.match ?? null, index: span?.index ?? null, truncated },
    };
  }),
};
