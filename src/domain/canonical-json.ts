import { createHash } from 'crypto';
import canonicalize from 'canonicalize';
import { type RunConfig } from './configs';

/** RFC 8785 (JSON Canonicalization Scheme) text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalised as JSON');
  return text;
}

/** Lowercase hex SHA-256 of the UTF-8 canonical JSON. */
export function sha256CanonicalJson(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

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
