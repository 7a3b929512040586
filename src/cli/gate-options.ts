import { CliError } from './errors';

/** The gate's options that the CLI accepts as `--gate KEY=VALUE` (or under `gate:` in the file). */
const NUMERIC = ['min_mean', 'min_pass_rate', 'pass_threshold', 'max_mean_drop', 'alpha'] as const;
const TEXT = ['a', 'b', 'scorer'] as const;
export const GATE_KEYS: readonly string[] = [...NUMERIC, ...TEXT];

export type GateOptions = Partial<Record<(typeof NUMERIC)[number], number> & Record<(typeof TEXT)[number], string>>;

function gateValue(key: string, raw: unknown, where: string): number | string {
  if ((NUMERIC as readonly string[]).includes(key)) {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) throw new CliError(`${where}: ${key} must be a number, got ${JSON.stringify(raw)}`);
    return value;
  }
  if ((TEXT as readonly string[]).includes(key) && typeof raw === 'string' && raw !== '') return raw;
  if ((TEXT as readonly string[]).includes(key)) throw new CliError(`${where}: ${key} must be a non-empty string`);
  throw new CliError(`${where}: unknown gate option "${key}" (known: ${GATE_KEYS.join(', ')})`);
}

/** `["min_mean=0.7", "max_mean_drop=0.02"]` → options; a malformed pair is a usage error. */
export function parseGateFlags(flags: readonly string[]): GateOptions {
  const options: Record<string, number | string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new CliError(`--gate ${flag}: expected KEY=VALUE (keys: ${GATE_KEYS.join(', ')})`);
    const key = flag.slice(0, eq).trim();
    options[key] = gateValue(key, flag.slice(eq + 1).trim(), `--gate ${flag}`);
  }
  return options;
}

/** The `gate:` mapping of an experiment file. */
export function parseGateSection(section: unknown, file: string): GateOptions {
  if (section === undefined || section === null) return {};
  if (typeof section !== 'object' || Array.isArray(section)) throw new CliError(`${file}: gate must be a mapping`);
  const options: Record<string, number | string> = {};
  for (const [key, raw] of Object.entries(section)) options[key] = gateValue(key, raw, `${file}: gate.${key}`);
  return options;
}
