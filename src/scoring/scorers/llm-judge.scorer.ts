import { sha256CanonicalJson } from '../../domain/canonical-json';
import { templateVariables } from '../../domain/template';
import { type CompletionRequest, type CompletionResult, type LlmParams, userMessage } from '../../providers/llm.types';
import { type ScoreContext, type Scorer, type ScorerChecks, type ScorerResult } from '../scorer';
import { inferScale, type JudgeScale, parseJudgeAnswer } from './judge-answer.parser';
import { renderRubric } from './judge-rubric';

export interface LlmJudgeParams {
  model: string;
  rubric: string;
  params?: LlmParams;
  scale?: JudgeScale;
}

/** What the judge needs of the providers module (LlmClient satisfies it). */
export interface JudgeLlmClient {
  complete(req: CompletionRequest): Promise<CompletionResult>;
}

export interface JudgeCacheEntry {
  output: string;
  tokensIn: number;
  tokensOut: number;
  cost: number | null;
}

/** Earlier judge answers of a project, by the hash of {model, prompt, params}. */
export interface JudgeCache {
  get(projectId: string, key: string): Promise<JudgeCacheEntry | null>;
  put(projectId: string, key: string, model: string, entry: JudgeCacheEntry): Promise<void>;
}

export interface LlmJudgeDeps {
  llm: JudgeLlmClient;
  cache: JudgeCache;
}

/** The cache key of a judge call: lowercase hex SHA-256 of the canonical JSON of {model, prompt, params}. */
export function judgeCacheKey(model: string, prompt: string, params: LlmParams): string {
  return sha256CanonicalJson({ model, prompt, params });
}

/**
 * LLM-as-judge: the rendered rubric is sent to `model`; the answer is parsed into [0, 1]
 * (see parseJudgeAnswer). Judge calls are cached per project like runs: an identical call
 * (same model, rendered prompt and params) reuses the earlier answer at cost 0, unless the run's
 * config says `"cache": false` (then the judge is asked again). Only parseable answers are cached,
 * so a retry can get a usable one.
 */
export class LlmJudgeScorer implements Scorer<LlmJudgeParams> {
  readonly type = 'llm_judge';
  readonly description =
    'LLM-as-judge: `rubric` (placeholders {{output}}, {{input}}, {{input.<field>}} or {{<field>}}; must use ' +
    '{{output}}) is sent to `model` (provider:model) with optional scalar `params`. The answer may be a JSON ' +
    'object {"score": x, "reason": "…"}, "Score: x/N", or a bare number; without a denominator x must lie in ' +
    '`scale` ({min, max}; else a scale the rubric states such as "1 to 10" or "out of 10"; else [0, 1]) and is ' +
    'normalised to [0, 1]. An unparseable answer is a scorer error. Judge calls are cached per project and costed.';
  readonly paramsSchema = {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'rubric'],
    properties: {
      model: { type: 'string', pattern: '^[A-Za-z0-9_-]+:.+$', description: 'provider:model of the judge.' },
      rubric: {
        type: 'string',
        minLength: 1,
        maxLength: 100_000,
        description:
          'Must contain {{output}}; may use {{input}}, {{input.<field>}} / {{<field>}}, and what the run sent: {{run.prompt}} (the rendered messages as a "role: content" transcript) or {{run.messages}} (their JSON).',
      },
      params: {
        type: 'object',
        additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
        description: 'Scalar call parameters such as temperature and max_tokens.',
      },
      scale: {
        type: 'object',
        additionalProperties: false,
        required: ['min', 'max'],
        properties: { min: { type: 'number' }, max: { type: 'number' } },
      },
    },
  };
  readonly example = {
    name: 'helpfulness',
    type: 'llm_judge',
    params: {
      model: 'openai:gpt-4o-mini',
      rubric:
        'Rate how well this summary covers the ticket on a scale of 1 to 10.\nTicket: {{input.ticket}}\nSummary: {{output}}\n' +
        'Answer with JSON: {"score": <1-10>, "reason": "<one sentence>"}',
      params: { temperature: 0 },
    },
  };

  constructor(private readonly deps: LlmJudgeDeps) {}

  /** The model is judged by `checks.model`: in the experiment's project, so a connection prefix is one. */
  validate(params: LlmJudgeParams, checks: ScorerChecks = {}): string[] {
    const problems: string[] = [];
    const modelProblem = checks.model?.(params.model);
    if (modelProblem) problems.push(`params.model: ${modelProblem}`);
    if (!templateVariables(params.rubric).includes('output'))
      problems.push('params.rubric must contain {{output}}: the judge has to see the output');
    if (params.scale && !(params.scale.max > params.scale.min))
      problems.push('params.scale: max must be greater than min');
    return problems;
  }

  async score(ctx: ScoreContext, params: LlmJudgeParams): Promise<ScorerResult> {
    const prompt = renderRubric(params.rubric, ctx.output, ctx.inputData, { messages: ctx.messages ?? null });
    const callParams = params.params ?? {};
    const key = judgeCacheKey(params.model, prompt, callParams);
    const scale = params.scale ?? inferScale(params.rubric);
    const hit = ctx.run.config.cache === false ? null : await this.deps.cache.get(ctx.projectId, key);
    if (hit) return this.result(hit, parseJudgeAnswer(hit.output, scale), params.model, true, 0);

    const res = await this.deps.llm.complete({
      model: params.model,
      messages: userMessage(prompt),
      params: callParams,
      callKey: `judge:${ctx.runId}:${ctx.scorerName}`,
      // The judge model resolves through the project's connections and is paid from the experiment's budget.
      projectId: ctx.projectId,
      ...(ctx.experimentId
        ? { spend: { experimentId: ctx.experimentId, kind: 'judge' as const, runId: ctx.runId } }
        : {}),
    });
    const entry: JudgeCacheEntry = {
      output: res.output,
      tokensIn: res.tokensIn,
      tokensOut: res.tokensOut,
      cost: res.cost,
    };
    const parsed = parseJudgeAnswer(res.output, scale);
    await this.deps.cache.put(ctx.projectId, key, params.model, entry);
    return this.result(entry, parsed, params.model, false, res.durationMs);
  }

  private result(
    entry: JudgeCacheEntry,
    parsed: ReturnType<typeof parseJudgeAnswer>,
    model: string,
    cached: boolean,
    durationMs: number,
  ): ScorerResult {
    return {
      value: parsed.value,
      metadata: {
        reason: parsed.reason,
        judge_score: parsed.raw,
        judge_scale: parsed.scale,
        answer_form: parsed.form,
        judge_model: model,
        tokens_in: entry.tokensIn,
        tokens_out: entry.tokensOut,
        cost: cached ? 0 : entry.cost,
        cached,
        duration_ms: durationMs,
      },
    };
  }
}
