import Ajv, { type ValidateFunction } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';
import { setImmediate as yieldToEventLoop } from 'timers/promises';
import { type ScorerConfig } from '../domain/configs';
import { describeAjvErrors } from './ajv-errors';
import {
  type JsonSchema,
  type ScoreContext,
  type Scorer,
  type ScorerChecks,
  ScorerError,
  type ScorerResult,
} from './scorer';
import { isPlainObject } from '../common/is-plain-object';

/** One entry of GET /api/scorers. */
export interface ScorerTypeInfo {
  type: string;
  description: string;
  params_schema: JsonSchema;
  example: { name: string; type: string; params: Record<string, unknown> };
}

/** Column width of scores.scorer_name. */
export const MAX_SCORER_NAME_LENGTH = 200;
/** Every scorer runs on every completed run: keep the per-run work bounded. */
export const MAX_SCORERS = 50;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyScorer = Scorer<any>;

function unknownKeys(obj: Record<string, unknown>, allowed: string[], where: string): string[] {
  return Object.keys(obj)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${where} has unknown property "${k}"`);
}

/** The scorer types, their parameter validation, and the validation of a whole scoring_config. */
export class ScorerRegistry {
  private readonly scorers = new Map<string, { scorer: AnyScorer; validateParams: ValidateFunction }>();

  constructor(scorers: AnyScorer[]) {
    // Our own schemas: strict, so a typo in one of them fails at start-up rather than passing anything.
    const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
    for (const scorer of scorers) {
      if (this.scorers.has(scorer.type)) throw new Error(`scorer type "${scorer.type}" registered twice`);
      this.scorers.set(scorer.type, { scorer, validateParams: ajv.compile(scorer.paramsSchema) });
    }
  }

  types(): string[] {
    return [...this.scorers.keys()];
  }

  get(type: string): AnyScorer | undefined {
    return this.scorers.get(type)?.scorer;
  }

  /** GET /api/scorers. */
  list(): ScorerTypeInfo[] {
    return [...this.scorers.values()].map(({ scorer }) => ({
      type: scorer.type,
      description: scorer.description,
      params_schema: scorer.paramsSchema,
      example: scorer.example,
    }));
  }

  /** Problems with one scorer's params ("params.x …"), schema first, then the scorer's own checks. */
  paramsProblems(type: string, params: unknown, checks: ScorerChecks = {}): string[] {
    const entry = this.scorers.get(type);
    if (!entry) return [`unknown type "${type}"`];
    if (!isPlainObject(params)) return ['params must be an object'];
    if (!entry.validateParams(params)) return describeAjvErrors('params', entry.validateParams.errors);
    return entry.scorer.validate?.(params, checks) ?? [];
  }

  /**
   * Every problem of a `scoring_config` (null/undefined = no scoring), each naming the scorer:
   * `scoring_config.scorers[1] (name "matches"): unknown type "similiarity" (did you mean "similarity"?)`.
   * Judge models are checked with `checks.model` (the project's resolution), when given.
   */
  validateScoringConfig(cfg: unknown, checks: ScorerChecks = {}): string[] {
    if (cfg === null || cfg === undefined) return [];
    if (!isPlainObject(cfg)) return ['scoring_config must be an object with "scorers" and optional "weights"'];
    const problems = unknownKeys(cfg, ['scorers', 'weights'], 'scoring_config');
    const names = new Map<string, number>();
    const { scorers, weights } = cfg;
    if (scorers !== undefined && !Array.isArray(scorers)) problems.push('scoring_config.scorers must be an array');
    if (Array.isArray(scorers)) {
      if (scorers.length > MAX_SCORERS)
        problems.push(`scoring_config.scorers has ${scorers.length} entries; at most ${MAX_SCORERS} are allowed`);
      scorers.forEach((entry, i) => {
        for (const p of this.scorerProblems(entry, i, names, checks)) problems.push(p);
      });
    }
    if (weights !== undefined) {
      if (!isPlainObject(weights)) {
        problems.push('scoring_config.weights must be an object mapping scorer names to numbers');
      } else {
        for (const [name, w] of Object.entries(weights)) {
          const where = `scoring_config.weights[${JSON.stringify(name)}]`;
          if (!names.has(name)) problems.push(`${where}: no scorer is named "${name}"`);
          if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
            problems.push(`${where} must be a finite number ≥ 0`);
        }
      }
    }
    return problems;
  }

  private scorerProblems(entry: unknown, i: number, names: Map<string, number>, checks: ScorerChecks): string[] {
    const at = `scoring_config.scorers[${i}]`;
    if (!isPlainObject(entry)) return [`${at} must be an object with "name", "type" and "params"`];
    const { name, type, params } = entry;
    const validName = typeof name === 'string' && name.trim() !== '';
    const label = validName ? `${at} (name ${JSON.stringify(name)})` : at;
    const problems = unknownKeys(entry, ['name', 'type', 'params'], label);
    if (!validName) problems.push(`${at}: name must be a non-empty string`);
    else if (name.length > MAX_SCORER_NAME_LENGTH)
      problems.push(`${label}: name is longer than ${MAX_SCORER_NAME_LENGTH} characters`);
    else if (names.has(name))
      problems.push(`${label}: name is already used by scoring_config.scorers[${names.get(name)}]`);
    else names.set(name, i);
    if (typeof type !== 'string') {
      problems.push(`${label}: type must be a string (one of ${this.types().join(', ')})`);
    } else if (!this.scorers.has(type)) {
      problems.push(`${label}: unknown type ${JSON.stringify(type)}${this.suggestion(type)}`);
    } else {
      for (const p of this.paramsProblems(type, params ?? {}, checks)) problems.push(`${label}: ${p}`);
    }
    return problems;
  }

  private suggestion(type: string): string {
    const near = closest(type, this.types());
    return distance(type, near) <= 3 ? ` (did you mean "${near}"?)` : ` (known types: ${this.types().join(', ')})`;
  }

  /**
   * Runs one declared scorer. Params are checked again (a config stored before a scorer changed
   * must not reach it unchecked; a judge model is left to its call, which resolves it in the run's project); a value outside [0, 1] is a bug of the scorer, reported as its error.
   */
  async score(ctx: ScoreContext, cfg: ScorerConfig): Promise<ScorerResult> {
    // Each scorer in its own turn of the event loop: requests are served between scorers, so a run's
    // scoring holds the loop for at most one scorer's bounded step.
    await yieldToEventLoop();
    const params = cfg.params ?? {};
    const problems = this.paramsProblems(cfg.type, params);
    if (problems.length > 0) throw new ScorerError(problems.join('; '));
    const result = await (this.scorers.get(cfg.type) as { scorer: AnyScorer }).scorer.score(ctx, params);
    if (typeof result.value !== 'number' || !Number.isFinite(result.value) || result.value < 0 || result.value > 1) {
      throw new ScorerError(`scorer produced ${String(result.value)}, not a value in [0, 1]`);
    }
    return result;
  }
}
