import { type RunConfig, type StageConfig } from '../domain/configs';
import {
  inputHasVariable,
  inputVariables,
  isStageReference,
  placeholderText,
  replacePlaceholders,
  stageOutputRef,
  templateVariables,
} from '../domain/template';
import { type LlmParams } from '../providers/llm.types';

/** The name of the single stage of a run without `stages`. */
export const MAIN_STAGE = 'main';

/** A template that cannot be rendered: a permanent failure of the run, reported with this message. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface PlannedStage {
  index: number;
  name: string;
  template: string;
  /** The stage's model, else the run's. */
  model: string;
  /** The run's params with the stage's own params over them. */
  params: LlmParams;
}

/**
 * The stages of a run, in order, checked before any provider call: every `{{var}}` must come from
 * `input_data` and every `{{stages.<name>.output}}` from an earlier stage, so a run with a missing
 * variable fails at once (naming it) and never pays for the stages before the broken one.
 */
export function planStages(config: RunConfig): PlannedStage[] {
  const declared: StageConfig[] =
    Array.isArray(config.stages) && config.stages.length > 0
      ? config.stages
      : [{ name: MAIN_STAGE, prompt: config.prompt }];
  const input = inputVariables(config.input_data);
  const earlier = new Set<string>();
  const stages = declared.map((stage, index): PlannedStage => {
    const missing: string[] = [];
    const badRefs: string[] = [];
    for (const variable of templateVariables(stage.prompt)) {
      if (isStageReference(variable)) {
        const ref = stageOutputRef(variable);
        if (ref === null || !earlier.has(ref)) badRefs.push(variable);
      } else if (!inputHasVariable(input, variable)) {
        missing.push(variable);
      }
    }
    if (missing.length > 0) {
      const names = missing.map((v) => `"${v}"`).join(', ');
      throw new TemplateError(
        `Missing template variable${missing.length > 1 ? 's' : ''} ${names} in the prompt of stage "${stage.name}": not in input_data`,
      );
    }
    if (badRefs.length > 0) {
      const names = badRefs.map((v) => `"${v}"`).join(', ');
      throw new TemplateError(
        `Template variable${badRefs.length > 1 ? 's' : ''} ${names} in the prompt of stage "${stage.name}" must be stages.<name>.output of an earlier stage`,
      );
    }
    earlier.add(stage.name);
    return {
      index,
      name: stage.name,
      template: stage.prompt,
      model: stage.model ?? config.model,
      params: { ...scalarParams(config.params), ...scalarParams(stage.params) },
    };
  });
  return stages;
}

/** Fills a stage's prompt. planStages has checked every variable, so nothing is left unfilled. */
export function renderPrompt(
  template: string,
  inputData: RunConfig['input_data'],
  stageOutputs: ReadonlyMap<string, string>,
): string {
  const input = inputVariables(inputData);
  return replacePlaceholders(template, (variable) => {
    const ref = stageOutputRef(variable);
    if (ref !== null) {
      const output = stageOutputs.get(ref);
      if (output === undefined)
        throw new TemplateError(`Template variable "${variable}": stage "${ref}" has no output yet`);
      return output;
    }
    if (!inputHasVariable(input, variable))
      throw new TemplateError(`Missing template variable "${variable}": not in input_data`);
    return placeholderText(input[variable]);
  });
}

/** Grid params are scalars; anything else (only possible in hand-written configs) is sent as JSON text. */
function scalarParams(params: Record<string, unknown> | null | undefined): LlmParams {
  const out: LlmParams = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined) continue;
    out[key] =
      value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? value
        : JSON.stringify(value);
  }
  return out;
}
