import { isStageReference, stageReferenceProblems, templateVariables } from '../domain/template';
import { type AdHocRunConfigDto } from './dto/create-run.dto';

/** Answers null when a `provider:model` id can run, else a message naming the problem. */
export type ModelValidator = (model: string) => string | null;

/**
 * What the DTO's decorators cannot see: models the provider registry does not know, duplicate
 * stage names, and stage references (`{{stages.<name>.output}}`) that no earlier stage satisfies,
 * with the same template syntax as experiments. Returns every problem, each naming its field;
 * empty when the config is runnable. Input variables are not checked here: like the reference,
 * an ad-hoc run with a missing variable is accepted and fails at run time with a clear error.
 */
export function adHocConfigProblems(config: AdHocRunConfigDto, validateModel: ModelValidator): string[] {
  const problems: string[] = [];
  const modelError = validateModel(config.model);
  if (modelError) problems.push(`config.model: ${modelError}`);
  for (const variable of templateVariables(config.prompt)) {
    if (isStageReference(variable))
      problems.push(`config.prompt uses {{${variable}}}: stage outputs are only available to stage prompts`);
  }
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
    problems.push(...stageReferenceProblems(at, stage.prompt, earlier, all));
    earlier.add(stage.name);
  });
  return problems;
}
