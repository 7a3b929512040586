import { createHash } from 'crypto';
import { canonicalJson } from '../domain/canonical-json';
import { type RunConfig } from '../domain/configs';
import { type ExperimentConfig } from '../domain/configs';
import { paramAxis } from '../domain/params';

/** One param value of a cell: a scalar, or a structured value (`tools`, `response_format`, …) taken literally. */
type Value = unknown;

/** One cell of the grid: the run config to insert and its cache key parts. */
export interface RunCell {
  config: RunConfig;
  configHash: string;
  repetition: number;
  useCache: boolean;
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

/** How many runs the grid holds, without building it (the launch limit is checked with this). */
export function countGrid(config: ExperimentConfig): number {
  const sweeps = sweepAxes(config.params).reduce((n, [, values]) => n * values.length, 1);
  return config.prompts.length * config.models.length * sweeps * config.inputs.length * (config.repetitions ?? 1);
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

/**
 * The grid cell by cell, in a deterministic order: prompts × models × sweep combinations
 * (keys sorted) × inputs × repetitions, the last varying fastest. Lazy, so a launch can insert a
 * large grid batch by batch. The config hash leaves the repetition out, so it is computed once
 * per repetition group.
 */
export function* iterateGrid(config: ExperimentConfig): Generator<RunCell> {
  const combos = paramCombinations(config.params);
  const repetitions = config.repetitions ?? 1;
  const stages = config.stages && config.stages.length > 0 ? config.stages : null;
  const useCache = config.cache !== false;
  const canon = {
    prompts: config.prompts.map((p) => canonicalJson(p)),
    models: config.models.map((m) => canonicalJson(m)),
    combos: combos.map((c) => canonicalJson(c)),
    inputs: config.inputs.map((i) => canonicalJson(i ?? '')),
  };
  for (let p = 0; p < config.prompts.length; p++) {
    const prompt = config.prompts[p];
    for (let m = 0; m < config.models.length; m++) {
      const model = config.models[m];
      for (let c = 0; c < combos.length; c++) {
        const params = combos[c];
        for (let i = 0; i < config.inputs.length; i++) {
          const input_data = config.inputs[i];
          const configHash = hashParts(canon.inputs[i], canon.models[m], canon.combos[c], canon.prompts[p]);
          for (let repetition = 0; repetition < repetitions; repetition++) {
            const runConfig: RunConfig = { prompt, model, params, input_data };
            if (stages) runConfig.stages = stages;
            runConfig.repetition = repetition;
            if (!useCache) runConfig.cache = false;
            yield { config: runConfig, configHash, repetition, useCache };
          }
        }
      }
    }
  }
}

/** The whole grid as an array (tests, small grids). */
export function expandGrid(config: ExperimentConfig): RunCell[] {
  return Array.from(iterateGrid(config));
}
