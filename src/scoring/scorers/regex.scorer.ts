import safeRegex from 'safe-regex2';
import { setFlagsFromString } from 'v8';
import { type Scorer, synchronous } from '../scorer';
import { preview } from './scorer-params';

export interface RegexParams {
  pattern: string;
  flags?: string;
}

/**
 * Only this many UTF-16 units of the output are scanned (never splitting a surrogate pair). With
 * the star-height check below, this bounds the polynomial backtracking a pattern can still cause;
 * LLM outputs are far shorter than this in practice.
 */
export const REGEX_MAX_SCANNED_LENGTH = 100_000;

// The last line of defence for what safe-regex2 misses (e.g. `(a|a)*$`): V8 switches a regexp to its
// linear-time engine once it backtracks excessively. Process-wide, set once when scorers load.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/**
 * Why a pattern is refused, or null. Catastrophic backtracking is guarded by refusing what
 * safe-regex2 flags: nested quantifiers (star height > 1), more than 25 quantifiers, and syntax its
 * parser does not know (lookbehind among others), which it cannot vouch for. It has false
 * negatives (e.g. `(a|a)*$`), hence the length cap too.
 */
export function regexProblem(pattern: string, flags: string | undefined): string | null {
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    return `params.pattern is not a valid regular expression: ${(err as Error).message}`;
  }
  if (!safeRegex(pattern)) {
    return 'params.pattern is refused: it may backtrack catastrophically (nested quantifiers, over 25 quantifiers, or syntax the safety check cannot analyse such as lookbehind)';
  }
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
    'Output matches a JavaScript regular expression (`pattern`, optional `flags` from dgimsuvy; use ^…$ for a ' +
    `full match). Patterns that may backtrack catastrophically are refused; only the first ${REGEX_MAX_SCANNED_LENGTH} ` +
    'UTF-16 units of the output are scanned. Score 1 or 0.',
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
    // A fresh RegExp per call: `g`/`y` keep state in lastIndex.
    const re = new RegExp(params.pattern, params.flags ?? '');
    const { text, truncated } = capped(ctx.output);
    const match = re.exec(text);
    return {
      value: match ? 1 : 0,
      metadata: {
        matched: match !== null,
        match: match ? preview(match[0]) : null,
        index: match?.index ?? null,
        truncated,
      },
    };
  }),
};
