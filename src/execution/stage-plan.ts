import { type RunConfig, type StageConfig } from '../domain/configs';
import {
  inputHasVariable,
  inputVariables,
  isStageReference,
  placeholderText,
  replacePlaceholders,
  stageOutputRef,
  stageRef,
  templateVariables,
} from '../domain/template';
import { type Prompt, promptTexts, type RenderedMessage, renderMessages } from '../domain/prompt';
import { type ChatMessage, type LlmParams, type ToolCall } from '../providers/llm.types';

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
  /** The stage's prompt as configured: a string or {messages}, contents still templates. */
  template: Prompt;
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
    const variables = promptTexts(stage.prompt, 'prompt').flatMap(({ text }) => templateVariables(text));
    for (const variable of new Set(variables)) {
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
        `Template variable${badRefs.length > 1 ? 's' : ''} ${names} in the prompt of stage "${stage.name}" must be stages.<name>.output or stages.<name>.tool_calls of an earlier stage`,
      );
    }
    earlier.add(stage.name);
    return {
      index,
      name: stage.name,
      template: stage.prompt,
      model: stage.model ?? config.model,
      params: { ...jsonParams(config.params), ...jsonParams(stage.params) },
    };
  });
  return stages;
}

/** What a later stage can read of an earlier one. */
export interface StageAnswer {
  output: string;
  toolCalls: ToolCall[] | null;
}

/**
 * Fills every message of a stage's prompt (a string prompt is one user message). planStages has
 * checked every variable, so nothing is left unfilled. `{{stages.<name>.tool_calls}}` is the JSON
 * of that stage's tool calls (`null` when it called none).
 */
export function renderStageMessages(
  template: Prompt,
  inputData: RunConfig['input_data'],
  stageAnswers: ReadonlyMap<string, StageAnswer>,
): ChatMessage[] {
  const rendered: RenderedMessage[] = renderMessages(template, (text) => renderPrompt(text, inputData, stageAnswers));
  return rendered as ChatMessage[];
}

/** Fills one template text. */
export function renderPrompt(
  template: string,
  inputData: RunConfig['input_data'],
  stageAnswers: ReadonlyMap<string, StageAnswer>,
): string {
  const input = inputVariables(inputData);
  return replacePlaceholders(template, (variable) => {
    const ref = stageRef(variable);
    if (ref !== null) {
      const answer = stageAnswers.get(ref.name);
      if (answer === undefined)
        throw new TemplateError(`Template variable "${variable}": stage "${ref.name}" has no output yet`);
      return ref.field === 'output' ? answer.output : JSON.stringify(answer.toolCalls);
    }
    if (!inputHasVariable(input, variable))
      throw new TemplateError(`Missing template variable "${variable}": not in input_data`);
    return placeholderText(input[variable]);
  });
}

/** Params go to the adapters literally (structured fields included); undefined keys are left out. */
function jsonParams(params: Record<string, unknown> | null | undefined): LlmParams {
  const out: LlmParams = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined) continue;
    out[key] = value as LlmParams[string];
  }
  return out;
}
