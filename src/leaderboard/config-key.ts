import { sha256CanonicalJson } from '../domain/canonical-json';
import { invalid, notFound } from '../common/domain-error';

/** The dimensions a configuration leaderboard can group by. */
export const CONFIG_DIMENSIONS = ['prompt', 'model', 'params'] as const;
export type ConfigDimension = (typeof CONFIG_DIMENSIONS)[number];

/** One configuration (grid cell without input and repetition); a dimension left out of the grouping is null. */
export interface ConfigCell {
  /** A string or {messages} prompt, as the runs' configs hold it. */
  prompt: unknown;
  model: string | null;
  params: Record<string, unknown> | null;
}

/** A prefix must be at least this long to name a configuration (32 bits: collisions stay rare). */
export const MIN_KEY_PREFIX = 8;

/**
 * `key` of the contract: lowercase hex SHA-256 of the canonical JSON of {prompt, model, params}.
 * A dimension that is not grouped on enters as null, so a model-only group's key is that of
 * {"model": "…", "params": null, "prompt": null}: different from any full configuration's key.
 */
export function configKey(cell: ConfigCell): string {
  return sha256CanonicalJson({ prompt: cell.prompt, model: cell.model, params: cell.params });
}

/**
 * Resolves a full key or a unique prefix (≥ 8 hex digits, case-insensitive) among the keys
 * of an experiment's configurations: none → 404, several → 400.
 */
export function resolveConfigKey(ref: string, keys: Iterable<string>, label: string): string {
  const wanted = ref.toLowerCase();
  if (!/^[0-9a-f]+$/.test(wanted) || wanted.length < MIN_KEY_PREFIX || wanted.length > 64) {
    throw invalid(`${label} must be a configuration key or a prefix of at least ${MIN_KEY_PREFIX} hex digits`);
  }
  const matches = [...new Set(keys)].filter((key) => key.startsWith(wanted));
  if (matches.length === 0) throw notFound(`Configuration not found: ${label}=${ref}`);
  if (matches.length > 1) {
    throw invalid(
      `${label}=${ref} is ambiguous: it is a prefix of ${matches.length} configuration keys; give more digits`,
    );
  }
  return matches[0];
}
