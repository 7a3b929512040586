import { sha256CanonicalJson } from '../common/canonical-json';
import { type RunConfig } from './run.entity';

/**
 * The contract's `config_hash`: SHA-256 (lowercase hex) of the RFC 8785 canonical JSON of
 * `{prompt, model, params, input_data}`, with `params` defaulting to `{}` and `input_data` to `""`.
 * `stages`, `repetition` and `cache` are outside the hash (the cache key adds the repetition).
 */
export function computeConfigHash(config: Pick<RunConfig, 'prompt' | 'model' | 'params' | 'input_data'>): string {
  return sha256CanonicalJson({
    prompt: config.prompt,
    model: config.model,
    params: config.params ?? {},
    input_data: config.input_data ?? '',
  });
}
