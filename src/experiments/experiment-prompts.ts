import { isPlainObject } from '../common/is-plain-object';
import { type Prompt } from '../domain/prompt';

/**
 * The prompt a prompt entry runs: a template as given (a string or `{messages}`), or a resolved
 * reference's template (either shape). What the config validator, the grid, the estimate and the
 * provider checks see. Anything else (a reference not resolved: its problem is reported by the
 * resolver) becomes a unique text without variables.
 */
export function promptOf(entry: unknown, index: number): Prompt {
  if (typeof entry === 'string') return entry;
  if (isPlainObject(entry) && 'ref' in entry) {
    const template = entry.template;
    if (typeof template === 'string') return template;
    if (isPlainObject(template) && Array.isArray(template.messages)) return template as unknown as Prompt;
    return `(prompt reference ${index})`;
  }
  if (isPlainObject(entry) && Array.isArray(entry.messages)) return entry as unknown as Prompt;
  return `(prompt reference ${index})`;
}

/** The config as the validator checks it: `{"ref"}` entries replaced by their templates. */
export function validatorView(config: unknown): unknown {
  if (!isPlainObject(config) || !Array.isArray(config.prompts)) return config;
  return {
    ...config,
    prompts: config.prompts.map((p: unknown, i) => (isPlainObject(p) && 'ref' in p ? promptOf(p, i) : p)),
  };
}
