import { singleCallParamProblems } from '../domain/params';
import { promptProblems, promptTexts } from '../domain/prompt';
import { isStageReference, stageReferenceProblems, templateVariables } from '../domain/template';
import { type CallSite, unsupportedProblems } from '../experiments/provider-checks';
import { type ProjectModelChecker } from '../providers/project-models';
import { type AdHocRunConfigDto } from './dto/create-run.dto';

/** Answers null when a `provider:model` id can run, else a message naming the problem. */
export type ModelValidator = (model: string) => string | null;

const ONE_CELL = 'an ad-hoc run is one cell, nothing is swept';

/**
 * What the DTO's decorators cannot see: the prompt's shape (string or {messages}), params that
 * would be sweeps, models the provider registry does not know, duplicate stage names, and stage
 * references (`{{stages.<name>.output}}`) that no earlier stage satisfies, with the same template
 * syntax as experiments. Returns every problem, each naming its field; empty when the config is
 * runnable. Input variables are not checked here: like the reference, an ad-hoc run with a missing
 * variable is accepted and fails at run time with a clear error.
 */
export function adHocConfigProblems(config: AdHocRunConfigDto, validateModel: ModelValidator): string[] {
  const problems: string[] = [];
  const modelError = validateModel(config.model);
  if (modelError) problems.push(`config.model: ${modelError}`);
  const shape = promptProblems(config.prompt, 'config.prompt');
  problems.push(...shape);
  if (shape.length === 0) {
    for (const { text, where } of promptTexts(config.prompt, 'config.prompt')) {
      for (const variable of templateVariables(text)) {
        if (isStageReference(variable))
          problems.push(`${where} uses {{${variable}}}: stage outputs are only available to stage prompts`);
      }
    }
  }
  problems.push(...singleCallParamProblems(config.params, 'config.params', ONE_CELL));
  const stages = config.stages ?? [];
  const all = new Set(stages.map((s) => s.name));
  const earlier = new Set<string>();
  stages.forEach((stage, i) => {
    const at = `config.stages[${i}]`;
    if (earlier.has(stage.name)) problems.push(`${at}.name "${stage.name}" is already used by an earlier stage`);
    if (stage.model !== undefined) {
      const error = validateModel(stage.model);
      if (error) problems.push(`${at}.model: ${error}`);
    }
    const stageShape = promptProblems(stage.prompt, `${at}.prompt`);
    problems.push(...stageShape);
    if (stageShape.length === 0)
      for (const { text, where } of promptTexts(stage.prompt, `${at}.prompt`))
        problems.push(...stageReferenceProblems(where, text, earlier, all));
    problems.push(...singleCallParamProblems(stage.params, `${at}.params`, ONE_CELL));
    earlier.add(stage.name);
  });
  return problems;
}

/**
 * For a config adHocConfigProblems accepts: the fields its models cannot honour (naming model and
 * field) and models without usable credentials (naming what to set), as for experiments.
 */
export function adHocProviderProblems(config: AdHocRunConfigDto, models: ProjectModelChecker): string[] {
  const params = config.params ?? {};
  const stages = config.stages ?? [];
  const sites: CallSite[] =
    stages.length === 0
      ? [
          {
            model: config.model,
            prompt: config.prompt,
            params,
            promptAt: 'config.prompt',
            paramsAt: () => 'config.params',
          },
        ]
      : stages.map((stage, i) => {
          const own = stage.params ?? {};
          return {
            model: stage.model ?? config.model,
            prompt: stage.prompt,
            params: { ...params, ...own },
            promptAt: `config.stages[${i}].prompt`,
            paramsAt: (key: string) => (key in own ? `config.stages[${i}].params` : 'config.params'),
          };
        });
  const problems = unsupportedProblems(sites, models);
  for (const model of new Set(sites.map((s) => s.model))) {
    const missing = models.credentials(model);
    if (missing) problems.push(`model "${model}" has no usable credentials: set ${missing}`);
  }
  return problems;
}
