import { type ExperimentConfig } from '../domain/configs';
import { promptOf } from './experiment-prompts';
import { paramAxis } from '../domain/params';
import { isMessagesPrompt, type Prompt, renderMessages } from '../domain/prompt';
import { type ChatMessage, type LlmParams, type ProviderCall, type UnsupportedField } from '../providers/llm.types';
import { type ProjectModelChecker } from '../providers/project-models';
import { isPlainObject } from '../common/is-plain-object';

/** A call to check, and where its messages and params sit in the config (for the message). */
export interface CallSite {
  model: string;
  prompt: Prompt;
  params: Record<string, unknown>;
  /** Path of the prompt (`config.prompts[0]`). */
  promptAt: string;
  /** Path of the params object a key comes from (`config.params`, `config.stages[1].params`). */
  paramsAt: (key: string) => string;
}

/** The call as an adapter would get it, contents still templates (adapters judge shapes, not text). */
function asCall(site: CallSite): ProviderCall {
  return {
    messages: renderMessages(site.prompt, (text) => text) as ChatMessage[],
    params: site.params as LlmParams,
  };
}

/** `model "anthropic:x" cannot honour config.params.seed: …` for each field of each site, without repeats. */
export function unsupportedProblems(sites: Iterable<CallSite>, checker: ProjectModelChecker): string[] {
  const problems = new Set<string>();
  for (const site of sites) {
    for (const { field, reason } of checker.unsupported(site.model, asCall(site))) {
      problems.add(`model "${site.model}" cannot honour ${fieldPath(site, field)}: ${reason}`);
    }
  }
  return [...problems];
}

function fieldPath(site: CallSite, field: UnsupportedField['field']): string {
  if (field.startsWith('params.')) {
    const rest = field.slice('params.'.length);
    return `${site.paramsAt(rest.split('.')[0])}.${rest}`;
  }
  if (field.startsWith('messages') && isMessagesPrompt(site.prompt)) return `${site.promptAt}.${field}`;
  return `${site.promptAt} (${field})`;
}

/**
 * The calls of an experiment worth checking, linear in its size (never the grid's product): per
 * model, each prompt (or each stage) with the fixed params and the first value of every sweep, then
 * each further sweep value alone over that base. A field an adapter refuses shows in one of them.
 */
export function experimentCallSites(config: ExperimentConfig): CallSite[] {
  const params = isPlainObject(config.params) ? config.params : {};
  const base: Record<string, unknown> = {};
  const variants: Array<{ key: string; value: unknown }> = [];
  for (const [key, value] of Object.entries(params)) {
    const axis = paramAxis(key, value);
    if (axis.kind === 'fixed') base[key] = axis.value;
    else {
      base[key] = axis.values[0];
      for (const v of axis.values.slice(1)) variants.push({ key, value: v });
    }
  }
  const paramSets = [base, ...variants.map((v) => ({ ...base, [v.key]: v.value }))];
  const top = () => 'config.params';
  const stages = Array.isArray(config.stages) && config.stages.length > 0 ? config.stages : null;
  const sites: CallSite[] = [];
  for (const model of config.models) {
    for (const set of paramSets) {
      if (!stages) {
        config.prompts.forEach((entry, i) =>
          sites.push({
            model,
            prompt: promptOf(entry, i),
            params: set,
            promptAt: `config.prompts[${i}]`,
            paramsAt: top,
          }),
        );
        continue;
      }
      stages.forEach((stage, i) => {
        const own = isPlainObject(stage.params) ? stage.params : {};
        sites.push({
          model: stage.model ?? model,
          prompt: stage.prompt,
          params: { ...set, ...own },
          promptAt: `config.stages[${i}].prompt`,
          // A field the stage sets itself is named at the stage; the others at config.params.
          paramsAt: (key) => (key in own ? `config.stages[${i}].params` : 'config.params'),
        });
      });
    }
  }
  return sites;
}
