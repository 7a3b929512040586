import { compileLinear, LinearRegExpError } from '../linear-regexp';
import { runBounded, SCORER_CPU_LIMIT_MS, WorkTimeoutError } from '../bounded-work';
import { type Scorer, ScorerError } from '../scorer';
import { preview } from './scorer-params';

export interface RegexParams {
  pattern: string;
  flags?: string;
}

/**
 * Only this many UTF-16 units of the output are scanned (never splitting a surrogate pair). RE2
 * matches in time linear in the text, so this bounds a score's work (~50 ms).
 */
export const REGEX_MAX_SCANNED_LENGTH = 100_000;

/** Why a pattern is refused, or null: invalid JavaScript, or beyond RE2 (lookaround, backreferences). */
export function regexProblem(pattern: string, flags: string | undefined): string | null {
  try {
    compileLinear(pattern, flags ?? '');
    return null;
  } catch (err) {
    if (err instanceof LinearRegExpError) return `params.pattern is not a valid regular expression: ${err.message}`;
    throw err;
  }
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
    'no lookaround, no backreferences). Only the first ' +
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
  async score(ctx, params) {
    const { text, truncated } = capped(ctx.output);
    // Linear, yet program size × text length can still reach seconds: each step is time-limited.
    const started = Date.now();
    const re = bounded(() => compileLinear(params.pattern, params.flags ?? ''));
    const matched = bounded(() => re.test(text));
    let span: { match: string; index: number } | null = null;
    // Locating the match is the slower part (it tracks positions); the verdict does not need it, so
    // it gets what is left of the scorer's time and is skipped when that runs out.
    const left = SCORER_CPU_LIMIT_MS - (Date.now() - started);
    if (matched && left > 10) {
      try {
        span = runBounded(() => {
          const m = re.matcher(text);
          return m.find() ? { match: preview(text.slice(m.start(), m.end())), index: m.start() } : null;
        }, left);
      } catch (err) {
        if (!(err instanceof WorkTimeoutError)) throw err;
      }
    }
    return {
      value: matched ? 1 : 0,
      metadata: { matched, match: span?.match ?? null, index: span?.index ?? null, truncated },
    };
  },
};

/** One step of the scorer's work: a timeout is the scorer's error (the run is not failed). */
function bounded<T>(work: () => T): T {
  try {
    return runBounded(work);
  } catch (err) {
    if (err instanceof WorkTimeoutError)
      throw new ScorerError(`the pattern took longer than ${err.limitMs} ms on this output and was stopped`);
    throw err;
  }
}
