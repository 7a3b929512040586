import { ScorerError } from '../scorer';
import { preview, unwrapCodeFence } from './scorer-params';

export interface JudgeScale {
  min: number;
  max: number;
}

export interface ParsedJudgeAnswer {
  /** Normalised into [0, 1]. */
  value: number;
  /** The number the judge gave. */
  raw: number;
  /** How the number was normalised: `x/N` when the judge gave a denominator, else the scale. */
  scale: JudgeScale;
  reason: string | null;
  form: 'json' | 'labelled' | 'bare';
}

const NUM = '[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)';
/** "Score: 7/10", "**Score:** 8", "Final score = 0.8", "score is 4 out of 5" (first occurrence, any case). */
const LABELLED = new RegExp(`\\bscore\\b(?:\\s+is)?[\\s:=*]*(${NUM})(?:\\s*(?:/|out of)\\s*(\\d+(?:\\.\\d+)?))?`, 'i');
/** The whole answer is a number, optionally "x/N", optionally followed by a full stop. */
const BARE = new RegExp(`^(${NUM})(?:\\s*/\\s*(\\d+(?:\\.\\d+)?))?\\.?$`);

/**
 * The scale a rubric states: "scale of 1 to 10", "from 0-5", "between 1 and 5", "a 1-10 scale",
 * "out of 10". The first such phrase wins; an explicit `scale` param overrides this guess.
 */
export function inferScale(rubric: string): JudgeScale | null {
  const range =
    /\b(?:scale\s+of|scale\s+from|from|between|range\s+of)\s+(\d+(?:\.\d+)?)\s*(?:-|–|to|and)\s*(\d+(?:\.\d+)?)/i.exec(
      rubric,
    ) ?? /\b(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*(?:point\s+)?scale\b/i.exec(rubric);
  if (range) {
    const [min, max] = [Number(range[1]), Number(range[2])];
    if (max > min) return { min, max };
  }
  const outOf = /\bout\s+of\s+(\d+(?:\.\d+)?)/i.exec(rubric);
  if (outOf && Number(outOf[1]) > 0) return { min: 0, max: Number(outOf[1]) };
  return null;
}

function jsonForm(text: string): { raw: number; reason: string | null } | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(text.slice(start, end + 1));
  } catch {
    return null;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !('score' in obj)) return null;
  const { score, reason } = obj as { score: unknown; reason?: unknown };
  const raw =
    typeof score === 'number' ? score : typeof score === 'string' && score.trim() !== '' ? Number(score) : NaN;
  if (!Number.isFinite(raw))
    throw new ScorerError(`judge answer's "score" is not a number: ${preview(JSON.stringify(score))}`);
  return { raw, reason: typeof reason === 'string' ? reason : reason === undefined ? null : JSON.stringify(reason) };
}

/**
 * Reads a judge's answer, trying in order:
 * 1. JSON: the text from the first `{` to the last `}` (a Markdown code fence or prose around it
 *    is tolerated) parses to an object with a numeric `score` (number or numeric string); its
 *    `reason` is kept. An object whose `score` is not numeric is an error.
 * 2. Labelled: the first "score" followed by a number, optionally `/N` or `out of N`
 *    ("Score: 7/10", "Final score = 0.8"); the whole answer is kept as the reason.
 * 3. Bare: the whole answer is a number, optionally `x/N`.
 * Normalising: with a denominator N, value = x / N and 0 ≤ x ≤ N is required. Otherwise the scale
 * (the `scale` param, else one the rubric states, else [0, 1]) maps x to (x − min) / (max − min),
 * and min ≤ x ≤ max is required. Anything else is a ScorerError: no score is invented.
 */
export function parseJudgeAnswer(answer: string, scale: JudgeScale | null): ParsedJudgeAnswer {
  const text = unwrapCodeFence(answer).trim();
  let form: ParsedJudgeAnswer['form'];
  let raw: number;
  let denominator: number | null = null;
  let reason: string | null;
  const json = jsonForm(text);
  const labelled = json ? null : LABELLED.exec(text);
  const bare = json || labelled ? null : BARE.exec(text);
  if (json) {
    [form, raw, reason] = ['json', json.raw, json.reason];
  } else if (labelled || bare) {
    const m = (labelled ?? bare) as RegExpExecArray;
    [form, raw, reason] = [labelled ? 'labelled' : 'bare', Number(m[1]), labelled ? preview(text, 500) : null];
    denominator = m[2] !== undefined ? Number(m[2]) : null;
  } else {
    throw new ScorerError(
      `judge answer has no score (expected {"score": x, "reason": "…"}, "Score: x/N" or a number): ${preview(text)}`,
    );
  }
  if (denominator !== null) {
    if (!(denominator > 0) || raw < 0 || raw > denominator)
      throw new ScorerError(`judge score ${raw}/${denominator} is out of range`);
    return { value: raw / denominator, raw, scale: { min: 0, max: denominator }, reason, form };
  }
  const s = scale ?? { min: 0, max: 1 };
  if (raw < s.min || raw > s.max) {
    throw new ScorerError(
      `judge score ${raw} is outside the scale ${s.min}–${s.max} (declare params.scale or state the scale in the rubric)`,
    );
  }
  return { value: (raw - s.min) / (s.max - s.min), raw, scale: s, reason, form };
}
