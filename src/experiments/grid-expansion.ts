import { createHash } from 'crypto';
import { canonicalJson } from '../domain/canonical-json';
import {
  type ExperimentConfig,
  type ResolvedPromptEntry,
  type RunConfig,
  type RunPromptVersion,
} from '../domain/configs';
import { type Prompt } from '../domain/prompt';
import { isPlainObject } from '../common/is-plain-object';
import { promptOf } from './experiment-prompts';
import { paramAxis } from '../domain/params';

/** One param value of a cell: a scalar, or a structured value (`tools`, `response_format`, …) taken literally. */
type Value = unknown;

/** One cell of the grid: the run config to insert and its cache key parts. */
export interface RunCell {
  config: RunConfig;
  configHash: string;
  repetition: number;
  useCache: boolean;
  /** The dataset item the run comes from; null for inline inputs. */
  datasetItemKey: string | null;
  /** The registry version of a `{"ref"}` prompt; null for a prompt written inline. */
  promptVersion: RunPromptVersion | null;
}

/** One input row of the grid: a dataset item (with its key) or an inline input (key null). */
export interface GridItem {
  item_key: string | null;
  data: Record<string, unknown>;
}

/**
 * The sweep axes (plain lists on non-literal keys, and `{"$sweep": [...]}` on any key; see
 * domain/params.ts), keys sorted so the order never depends on the JSON.
 */
function sweepAxes(params: Record<string, unknown> | undefined): Array<[string, Value[]]> {
  const axes: Array<[string, Value[]]> = [];
  for (const k of Object.keys(params ?? {}).sort()) {
    const axis = paramAxis(k, params![k]);
    if (axis.kind === 'sweep') axes.push([k, axis.values]);
  }
  return axes;
}

function fixedParams(params: Record<string, unknown> | undefined): Record<string, Value> {
  const fixed: Record<string, Value> = {};
  for (const k of Object.keys(params ?? {}).sort()) {
    const axis = paramAxis(k, params![k]);
    if (axis.kind === 'fixed') fixed[k] = axis.value;
  }
  return fixed;
}

/**
 * Every sweep combination as a full params object (fixed params included), one value per key,
 * the last sorted key varying fastest. No sweep axis → one combination.
 */
export function paramCombinations(params: Record<string, unknown> | undefined): Array<Record<string, Value>> {
  let combos: Array<Record<string, Value>> = [fixedParams(params)];
  for (const [key, values] of sweepAxes(params)) {
    const next: Array<Record<string, Value>> = [];
    for (const combo of combos) for (const value of values) next.push({ ...combo, [key]: value });
    combos = next;
  }
  // Re-key in sorted order: the stored JSON then reads the same whatever the declaration order.
  return combos.map((c) =>
    Object.fromEntries(
      Object.keys(c)
        .sort()
        .map((k) => [k, c[k]]),
    ),
  );
}

/**
 * How many runs the grid holds, without building it (the launch limit is checked with this).
 * `itemCount`: the pinned dataset version's items when the config names a dataset.
 */
export function countGrid(config: ExperimentConfig, itemCount = config.inputs?.length ?? 0): number {
  const sweeps = sweepAxes(config.params).reduce((n, [, values]) => n * values.length, 1);
  return config.prompts.length * config.models.length * sweeps * itemCount * (config.repetitions ?? 1);
}

/** Keys sorted, so the stored JSON reads the same whatever the declaration order. */
function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

/**
 * computeConfigHash (src/runs/config-hash.ts) for many cells: the same RFC 8785 text,
 * `{"input_data":…,"model":…,"params":…,"prompt":…}` (keys in canonical order), assembled from
 * parts canonicalised once per prompt, model, params combination and input instead of once per
 * cell — canonicalising is most of the cost of hashing a 10,000-run grid. The unit test asserts
 * equality with computeConfigHash on every cell.
 */
function hashParts(input: string, model: string, params: string, prompt: string): string {
  return createHash('sha256')
    .update(`{"input_data":${input},"model":${model},"params":${params},"prompt":${prompt}}`, 'utf8')
    .digest('hex');
}

/** What every batch of items shares: prompts, models and params canonicalised once. */
export interface GridPlan {
  prompts: Array<{
    /** The prompt a run gets (a resolved reference's template). */
    text: Prompt;
    canon: string;
    version: RunPromptVersion | null;
    /** Per sweep combination: the params (the version's under the experiment's) and their canonical JSON. */
    params: Array<{ params: Record<string, Value>; canon: string }>;
  }>;
  models: Array<{ model: string; canon: string }>;
  repetitions: number;
  stages: RunConfig['stages'];
  useCache: boolean;
}

export function planGrid(config: ExperimentConfig): GridPlan {
  const combos = paramCombinations(config.params);
  const combosCanon = combos.map((c) => canonicalJson(c));
  return {
    prompts: config.prompts.map((entry, i) => {
      const text = promptOf(entry, i);
      const ref = isPlainObject(entry) && 'ref' in entry ? (entry as ResolvedPromptEntry) : null;
      if (!ref || !isPlainObject(ref.params) || Object.keys(ref.params).length === 0) {
        const version = ref ? versionOf(ref) : null;
        return {
          text,
          canon: canonicalJson(text),
          version,
          params: combos.map((p, c) => ({ params: p, canon: combosCanon[c] })),
        };
      }
      const base = ref.params;
      return {
        text,
        canon: canonicalJson(text),
        version: versionOf(ref),
        params: combos.map((p) => {
          const merged = sortedKeys({ ...base, ...p });
          return { params: merged, canon: canonicalJson(merged) };
        }),
      };
    }),
    models: config.models.map((model) => ({ model, canon: canonicalJson(model) })),
    repetitions: config.repetitions ?? 1,
    stages: config.stages && config.stages.length > 0 ? config.stages : null,
    useCache: config.cache !== false,
  };
}

const versionOf = (e: RunPromptVersion): RunPromptVersion => ({
  prompt_id: e.prompt_id,
  name: e.name,
  version: e.version,
});

/**
 * The cells of a batch of items, in a deterministic order: prompts × models × sweep combinations
 * (keys sorted) × items × repetitions, the last varying fastest. Lazy, so a launch can insert a
 * large grid batch by batch. The config hash leaves the repetition out, so it is computed once
 * per repetition group.
 */
export function* planCells(plan: GridPlan, items: GridItem[]): Generator<RunCell> {
  const inputsCanon = items.map((i) => canonicalJson(i.data ?? ''));
  for (const prompt of plan.prompts) {
    for (const { model, canon: modelCanon } of plan.models) {
      for (const { params, canon: paramsCanon } of prompt.params) {
        for (let i = 0; i < items.length; i++) {
          const input_data = items[i].data;
          const configHash = hashParts(inputsCanon[i], modelCanon, paramsCanon, prompt.canon);
          for (let repetition = 0; repetition < plan.repetitions; repetition++) {
            const runConfig: RunConfig = { prompt: prompt.text, model, params, input_data };
            if (plan.stages) runConfig.stages = plan.stages;
            runConfig.repetition = repetition;
            if (!plan.useCache) runConfig.cache = false;
            yield {
              config: runConfig,
              configHash,
              repetition,
              useCache: plan.useCache,
              datasetItemKey: items[i].item_key,
              promptVersion: prompt.version,
            };
          }
        }
      }
    }
  }
}

/**
 * One cell of the grid by reference: the config hash and where each part of the run's config is in
 * the plan (prompt, model, sweep combination, item of the batch). The launch sends these columns
 * and the plan's parts once, and PostgreSQL assembles each run's config (RunRepository.insertBatch),
 * so the configs never travel as JSON text; `planCells` is the same grid as full configs.
 */
export interface CellRef {
  configHash: string;
  prompt: number;
  model: number;
  combo: number;
  item: number;
  repetition: number;
}

/** The cells of a batch of items by reference, in `planCells` order, with the same hashes. */
export function* planCellRefs(plan: GridPlan, items: GridItem[]): Generator<CellRef> {
  const inputsCanon = items.map((i) => canonicalJson(i.data ?? ''));
  for (let p = 0; p < plan.prompts.length; p++) {
    const prompt = plan.prompts[p];
    for (let m = 0; m < plan.models.length; m++) {
      const modelCanon = plan.models[m].canon;
      for (let c = 0; c < prompt.params.length; c++) {
        const paramsCanon = prompt.params[c].canon;
        for (let i = 0; i < items.length; i++) {
          const configHash = hashParts(inputsCanon[i], modelCanon, paramsCanon, prompt.canon);
          for (let repetition = 0; repetition < plan.repetitions; repetition++) {
            yield { configHash, prompt: p, model: m, combo: c, item: i, repetition };
          }
        }
      }
    }
  }
}

/**
 * What every run of the plan shares, as the config's parts: `params[prompt][combo]`, the keys a
 * run's config has besides prompt, model, params, input_data and repetition (`stages`, and
 * `cache: false` when the cache is off), and the registry version of each prompt.
 */
export interface PlanParts {
  prompts: Prompt[];
  models: string[];
  params: Array<Array<Record<string, Value>>>;
  versions: Array<RunPromptVersion | null>;
  extra: Pick<RunConfig, 'stages' | 'cache'>;
  useCache: boolean;
}

export function planParts(plan: GridPlan): PlanParts {
  const extra: Pick<RunConfig, 'stages' | 'cache'> = {};
  if (plan.stages) extra.stages = plan.stages;
  if (!plan.useCache) extra.cache = false;
  return {
    prompts: plan.prompts.map((p) => p.text),
    models: plan.models.map((m) => m.model),
    params: plan.prompts.map((p) => p.params.map((c) => c.params)),
    versions: plan.prompts.map((p) => p.version),
    extra,
    useCache: plan.useCache,
  };
}

/** The inline inputs of a config as grid items (no dataset keys). */
export function inlineItems(config: ExperimentConfig): GridItem[] {
  return (config.inputs ?? []).map((data) => ({ item_key: null, data }));
}

/** The whole grid of an inline-inputs config (or of `items`), cell by cell. */
export function* iterateGrid(config: ExperimentConfig, items: GridItem[] = inlineItems(config)): Generator<RunCell> {
  yield* planCells(planGrid(config), items);
}

/** The whole grid as an array (tests, small grids). */
export function expandGrid(config: ExperimentConfig): RunCell[] {
  return Array.from(iterateGrid(config));
}
