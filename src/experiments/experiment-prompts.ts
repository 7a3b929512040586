import { isPlainObject } from '../common/is-plain-object';

/**
 * The text a prompt entry runs: the string itself, or a resolved reference's template. What the
 * config validator and the grid see. Anything else (a reference not resolved: its problem is
 * reported by the resolver) becomes a unique text without variables.
 */
export function promptText(entry: unknown, index: number): string {
  if (typeof entry === 'string') return entry;
  if (isPlainObject(entry) && typeof entry.template === 'string') return entry.template;
  return `(prompt reference ${index})`;
}

/** The config as the validator checks it: `{"ref"}` entries replaced by their templates. */
export function validatorView(config: unknown): unknown {
  if (!isPlainObject(config) || !Array.isArray(config.prompts)) return config;
  return {
    ...config,
    prompts: config.prompts.map((p: unknown, i) => (isPlainObject(p) && 'ref' in p ? promptText(p, i) : p)),
  };
}
