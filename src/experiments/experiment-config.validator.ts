import { inputHasVariable, isStageReference, stageReferenceProblems, templateVariables } from '../domain/template';
import { canonicalJson } from '../domain/canonical-json';
import {
  explicitSweepProblems,
  isExplicitSweep,
  LITERAL_PARAMS,
  literalParamProblems,
  singleCallParamProblems,
} from '../domain/params';
import { type Prompt, promptProblems, promptTexts } from '../domain/prompt';
import { isPlainObject } from '../common/is-plain-object';

export const MAX_REPETITIONS = 100;
/** Stage names appear inside `{{stages.<name>.output}}`: no dots, braces or whitespace. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const CONFIG_KEYS = ['prompts', 'models', 'params', 'inputs', 'dataset', 'stages', 'repetitions', 'cache'];
const DATASET_KEYS = ['id', 'version'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STAGE_KEYS = ['name', 'prompt', 'model', 'params'];
/** A dataset of thousands of inputs could yield thousands of lines: the first ones say enough. */
const MAX_VARIABLE_PROBLEMS = 50;

export type ModelValidator = (model: string) => string | null;

const isScalar = (v: unknown): boolean =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** `target.push(...more)` passes every element as an argument: a 170,000-value list overflows the stack. */
function append(target: string[], more: string[]): void {
  for (const item of more) target.push(item);
}

function unknownKeys(obj: Record<string, unknown>, allowed: string[], where: string): string[] {
  return Object.keys(obj)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${where}.${k} is not allowed (allowed: ${allowed.join(', ')})`);
}

/** A variable a prompt needs from every input, and which prompts need it. */
export interface VariableUse {
  variable: string;
  /** The first MAX_USED_BY places that use it (a message line names a few, not thousands). */
  usedBy: string[];
  more: number;
}
const MAX_USED_BY = 3;

/**
 * Every problem of an experiment `config`, each naming the field (and input index) at fault:
 * `config.inputs[3] lacks {{ticket}} (used by config.prompts[0])`. Empty when the config is valid.
 * Pure apart from `validateModel` (the provider registry's check).
 */
export function validateExperimentConfig(config: unknown, validateModel: ModelValidator): string[] {
  return checkExperimentConfig(config, validateModel).problems;
}

/**
 * As validateExperimentConfig, plus the input variables the prompts and stages need: with
 * `config.dataset` the caller checks them against the version's items (in SQL, not in Node).
 */
export function checkExperimentConfig(
  config: unknown,
  validateModel: ModelValidator,
): { problems: string[]; uses: VariableUse[] } {
  if (!isPlainObject(config))
    return {
      problems: [
        'config must be an object with prompts, models, inputs (or dataset) and optional params, stages, repetitions, cache',
      ],
      uses: [],
    };
  const problems = unknownKeys(config, CONFIG_KEYS, 'config');
  const uses = new Map<string, VariableUse>();
  const use = (variable: string, where: string) => {
    const entry = uses.get(variable) ?? { variable, usedBy: [], more: 0 };
    if (entry.usedBy.length < MAX_USED_BY) entry.usedBy.push(where);
    else entry.more++;
    uses.set(variable, entry);
  };

  append(problems, validatePrompts(config.prompts, use));
  append(problems, validateModels(config.models, validateModel));
  append(problems, validateParams(config.params));
  append(problems, validateStages(config.stages, validateModel, use));

  const { repetitions, cache, inputs, dataset } = config;
  if (
    repetitions !== undefined &&
    (typeof repetitions !== 'number' ||
      !Number.isInteger(repetitions) ||
      repetitions < 1 ||
      repetitions > MAX_REPETITIONS)
  ) {
    problems.push(`config.repetitions must be an integer from 1 to ${MAX_REPETITIONS}`);
  }
  if (cache !== undefined && typeof cache !== 'boolean') problems.push('config.cache must be a boolean');

  if (inputs !== undefined && dataset !== undefined) {
    problems.push('config.inputs and config.dataset are both given: exactly one of the two is allowed');
  } else if (dataset !== undefined) {
    append(problems, validateDatasetRef(dataset));
  } else if (!Array.isArray(inputs) || inputs.length === 0) {
    problems.push(
      'config.inputs must be a non-empty list of objects (one per dataset row), or config.dataset must name a dataset: exactly one of the two',
    );
  } else {
    inputs.forEach((input, i) => {
      if (!isPlainObject(input)) problems.push(`config.inputs[${i}] must be an object`);
    });
    append(problems, missingVariables(inputs, [...uses.values()]));
  }
  return { problems, uses: [...uses.values()] };
}

/** `config.dataset`: `{id, version?}`; whether it exists in the project is the service's check. */
function validateDatasetRef(dataset: unknown): string[] {
  if (!isPlainObject(dataset)) return ['config.dataset must be an object {id, version?}'];
  const problems = unknownKeys(dataset, DATASET_KEYS, 'config.dataset');
  if (typeof dataset.id !== 'string' || !UUID.test(dataset.id)) problems.push('config.dataset.id must be a UUID');
  const { version } = dataset;
  if (
    version !== undefined &&
    version !== null &&
    (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
  )
    problems.push('config.dataset.version must be a positive integer (omit it to pin the latest version)');
  return problems;
}

function validatePrompts(prompts: unknown, use: (variable: string, where: string) => void): string[] {
  if (!Array.isArray(prompts) || prompts.length === 0)
    return ['config.prompts must be a non-empty list of prompts (strings or {"messages": [...]})'];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  prompts.forEach((prompt: unknown, i) => {
    const where = `config.prompts[${i}]`;
    const shape = promptProblems(prompt, where);
    if (shape.length > 0) return void append(problems, shape);
    const key = canonicalJson(prompt);
    if (seen.has(key))
      problems.push(`${where} repeats config.prompts[${seen.get(key)}]: identical cells would run twice`);
    else seen.set(key, i);
    for (const { text, where: at } of promptTexts(prompt as Prompt, where)) {
      for (const variable of templateVariables(text)) {
        if (isStageReference(variable))
          problems.push(`${at} uses {{${variable}}}: stage outputs are only available to stage prompts`);
        else use(variable, at);
      }
    }
  });
  return problems;
}

function validateModels(models: unknown, validateModel: ModelValidator): string[] {
  if (!Array.isArray(models) || models.length === 0)
    return ['config.models must be a non-empty list of "provider:model" ids'];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  models.forEach((model, i) => {
    const where = `config.models[${i}]`;
    if (typeof model !== 'string') return void problems.push(`${where} must be a "provider:model" string`);
    const error = validateModel(model);
    if (error) problems.push(`${where}: ${error}`);
    if (seen.has(model))
      problems.push(`${where} repeats config.models[${seen.get(model)}]: identical cells would run twice`);
    else seen.set(model, i);
  });
  return problems;
}

/**
 * Experiment params (domain/params.ts): a fixed value (a scalar, or any JSON on the literal
 * request fields and objects), a plain list (a sweep axis, except on the literal fields), or
 * `{"$sweep": [...]}`. Sweep values must be distinct.
 */
function validateParams(params: unknown): string[] {
  if (params === undefined || params === null) return [];
  if (!isPlainObject(params))
    return [
      'config.params must be an object mapping parameter names to a value, a list (a sweep axis) or {"$sweep": [...]}',
    ];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const where = `config.params.${name}`;
    if (name.trim() === '') problems.push('config.params has an empty parameter name');
    if (isExplicitSweep(value)) {
      const shape = explicitSweepProblems(name, value, where);
      if (shape.length > 0) append(problems, shape);
      else append(problems, distinctValues(value.$sweep as unknown[], `${where}.$sweep`));
      continue;
    }
    if (Array.isArray(value) && !LITERAL_PARAMS.includes(name)) {
      // A plain list sweeps scalars, as before Part 2; structured values are swept with {"$sweep"}.
      if (value.length === 0) problems.push(`${where} is an empty list: a sweep needs at least one value`);
      const bad = value.findIndex((v) => !isScalar(v));
      if (bad >= 0)
        problems.push(
          `${where}[${bad}] must be a scalar (string, finite number, boolean, null): to sweep structured values, write {"$sweep": [...]}`,
        );
      else append(problems, distinctValues(value, where));
      continue;
    }
    if (!isScalar(value) && !Array.isArray(value) && !isPlainObject(value)) {
      problems.push(`${where} must be a JSON value: a scalar (finite numbers only), a list or an object`);
      continue;
    }
    append(problems, literalParamProblems(name, value, where));
  }
  return problems;
}

/** A sweep's values must differ: identical cells would run twice. */
function distinctValues(values: unknown[], where: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  values.forEach((v, i) => {
    let key: string;
    try {
      key = canonicalJson(v);
    } catch {
      return void problems.push(`${where}[${i}] must be a JSON value (finite numbers only)`);
    }
    if (seen.has(key)) problems.push(`${where}[${i}] repeats the value ${key}: identical cells would run twice`);
    seen.add(key);
  });
  return problems;
}

function validateStages(
  stages: unknown,
  validateModel: ModelValidator,
  use: (variable: string, where: string) => void,
): string[] {
  if (stages === undefined || stages === null) return [];
  if (!Array.isArray(stages)) return ['config.stages must be null or a list of {name, prompt, model?, params?}'];
  const problems: string[] = [];
  const earlier = new Set<string>();
  const all = new Set(
    stages
      .filter(isPlainObject)
      .map((s) => s.name)
      .filter((n): n is string => typeof n === 'string'),
  );
  stages.forEach((stage, i) => {
    const at = `config.stages[${i}]`;
    if (!isPlainObject(stage)) return void problems.push(`${at} must be an object {name, prompt, model?, params?}`);
    problems.push(...unknownKeys(stage, STAGE_KEYS, at));
    const { name, prompt, model, params } = stage;
    if (typeof name !== 'string' || !STAGE_NAME.test(name)) {
      problems.push(
        `${at}.name must be 1-100 letters, digits, "_" or "-" (it is referenced as {{stages.<name>.output}})`,
      );
    } else if (earlier.has(name)) {
      problems.push(`${at}.name "${name}" is already used by an earlier stage`);
    }
    const shape = promptProblems(prompt, `${at}.prompt`);
    if (shape.length > 0) {
      append(problems, shape);
    } else {
      for (const { text, where } of promptTexts(prompt as Prompt, `${at}.prompt`)) {
        for (const variable of templateVariables(text)) {
          if (!isStageReference(variable)) use(variable, where);
        }
        append(problems, stageReferenceProblems(where, text, earlier, all));
      }
    }
    if (model !== undefined && model !== null) {
      if (typeof model !== 'string') problems.push(`${at}.model must be a "provider:model" string`);
      else {
        const error = validateModel(model);
        if (error) problems.push(`${at}.model: ${error}`);
      }
    }
    append(problems, singleCallParamProblems(params, `${at}.params`, 'stage params are not swept'));
    if (typeof name === 'string') earlier.add(name);
  });
  return problems;
}

/**
 * One line per input lacking a variable: `config.inputs[3] lacks {{ticket}} (used by config.prompts[0])`,
 * the first MAX_VARIABLE_PROBLEMS of them, then how many more. Linear in the size of the inputs:
 * an input is only walked variable by variable while lines are still being listed; after that,
 * what it lacks is counted from its own keys (variables × inputs can be billions).
 */
function missingVariables(inputs: unknown[], uses: VariableUse[]): string[] {
  const problems: string[] = [];
  if (uses.length === 0) return problems;
  const needed = new Set(uses.map((u) => u.variable));
  let more = 0;
  inputs.forEach((input, i) => {
    if (!isPlainObject(input)) return;
    if (problems.length < MAX_VARIABLE_PROBLEMS) {
      for (const { variable, usedBy, more: others } of uses) {
        if (inputHasVariable(input, variable)) continue;
        if (problems.length < MAX_VARIABLE_PROBLEMS)
          problems.push(`config.inputs[${i}] lacks {{${variable}}} (used by ${usedByText(usedBy, others)})`);
        else more++;
      }
      return;
    }
    let present = 0;
    for (const key of Object.keys(input)) if (needed.has(key) && input[key] !== undefined) present++;
    more += needed.size - present;
  });
  if (more > 0) problems.push(`… and ${more} more missing input variable(s)`);
  return problems;
}

function usedByText(usedBy: string[], others: number): string {
  return others > 0 ? `${usedBy.join(', ')} and ${others} more` : usedBy.join(', ');
}
