/**
 * The ONE reading of experiment `params` (API.md Part 2): a value is fixed, or a sweep axis.
 * - `{"$sweep": [v1, v2, …]}` sweeps any param explicitly (values may be any JSON);
 * - on the structured request fields (LITERAL_PARAMS) any other value is taken literally, lists too;
 * - on every other key a plain list is a sweep axis (as before Part 2), anything else is fixed.
 */

/** Request fields whose value is taken literally: a list there is a value, never a sweep. */
export const LITERAL_PARAMS: readonly string[] = [
  'tools',
  'tool_choice',
  'response_format',
  'stop',
  'seed',
  // mock:echo's tool calls (a list of {name, arguments}): a value, like `tools`.
  'mock_tool_calls',
];

export const SWEEP_KEY = '$sweep';

export type ParamAxis = { kind: 'fixed'; value: unknown } | { kind: 'sweep'; values: unknown[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a value is the explicit `{"$sweep": …}` form (valid or not). */
export function isExplicitSweep(value: unknown): value is Record<string, unknown> {
  return isObject(value) && Object.prototype.hasOwnProperty.call(value, SWEEP_KEY);
}

/** How one (validated) param of an experiment expands. */
export function paramAxis(key: string, value: unknown): ParamAxis {
  if (isExplicitSweep(value)) return { kind: 'sweep', values: value[SWEEP_KEY] as unknown[] };
  if (Array.isArray(value) && !LITERAL_PARAMS.includes(key)) return { kind: 'sweep', values: value };
  return { kind: 'fixed', value };
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Shape checks of the literal request fields, so a typo is a 400 at creation and not a provider 400 later. */
export function literalParamProblems(key: string, value: unknown, where: string): string[] {
  if (value === null) return [];
  const sweepHint = `; to sweep it, write {"${SWEEP_KEY}": [v1, v2, …]}`;
  switch (key) {
    case 'tools':
      if (!Array.isArray(value) || !value.every(isObject))
        return [
          `${where} must be a list of tool objects (OpenAI function tools: {type: "function", function: {name, parameters}})`,
        ];
      return [];
    case 'tool_choice':
      return typeof value === 'string' || isObject(value)
        ? []
        : [`${where} must be a string ("auto", "none", "required") or an object`];
    case 'response_format':
      return isObject(value) && typeof value.type === 'string'
        ? []
        : [`${where} must be an object {type: "json_object"} or {type: "json_schema", json_schema: {...}}`];
    case 'stop':
      return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        ? []
        : [`${where} must be a string or a list of strings (taken literally)${sweepHint}`];
    case 'seed':
      return isFiniteNumber(value) && Number.isInteger(value)
        ? []
        : [`${where} must be an integer (a list here is not a sweep)${sweepHint}`];
    case 'mock_tool_calls':
      return Array.isArray(value) && value.every((c) => isObject(c) && typeof c.name === 'string' && c.name !== '')
        ? []
        : [`${where} must be a list of {name, arguments?}`];
    default:
      return [];
  }
}

/** Problems of one `{"$sweep": [...]}` value: the only key, a non-empty list of distinct values. */
export function explicitSweepProblems(key: string, value: Record<string, unknown>, where: string): string[] {
  const extra = Object.keys(value).filter((k) => k !== SWEEP_KEY);
  if (extra.length > 0)
    return [
      `${where} has "${SWEEP_KEY}" beside other keys (${extra.join(', ')}): a sweep is {"${SWEEP_KEY}": [v1, v2, …]} alone`,
    ];
  const values = value[SWEEP_KEY];
  if (!Array.isArray(values) || values.length === 0)
    return [`${where}.${SWEEP_KEY} must be a non-empty list of values`];
  const problems: string[] = [];
  values.forEach((v, i) => {
    for (const p of literalParamProblems(key, v, `${where}.${SWEEP_KEY}[${i}]`)) problems.push(p);
  });
  return problems;
}

/**
 * Params of one call (an ad-hoc run's or a stage's): every value is used as is, so a sweep there is
 * an error: `{"$sweep"}` anywhere, or a plain list on a key that is not taken literally.
 */
export function singleCallParamProblems(params: unknown, at: string, why: string): string[] {
  if (params === undefined || params === null) return [];
  if (!isObject(params)) return [`${at} must be an object mapping parameter names to values`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const where = `${at}.${key}`;
    if (key.trim() === '') problems.push(`${at} has an empty parameter name`);
    if (isExplicitSweep(value)) problems.push(`${where} is a {"${SWEEP_KEY}"}: ${why}`);
    else if (Array.isArray(value) && !LITERAL_PARAMS.includes(key))
      problems.push(`${where} is a list: ${why} (lists are taken literally only on ${LITERAL_PARAMS.join(', ')})`);
    else for (const p of literalParamProblems(key, value, where)) problems.push(p);
  }
  return problems;
}
