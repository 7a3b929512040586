import { computeConfigHash } from '../domain/canonical-json';
import { type ExperimentConfig } from '../domain/configs';
import {
  countGrid,
  expandGrid,
  inlineItems,
  iterateGrid,
  paramCombinations,
  planCellRefs,
  planGrid,
  planParts,
} from './grid-expansion';

const base: ExperimentConfig = {
  prompts: ['A {{x}}', 'B {{x}}'],
  models: ['mock:echo', 'openai:gpt-4o-mini'],
  params: { temperature: [0, 0.7], max_tokens: 64, top_p: [1, 0.5] },
  inputs: [{ x: 1 }, { x: 2 }, { x: 3 }],
  repetitions: 2,
};

describe('paramCombinations', () => {
  it('sweeps list values with sorted keys, last key fastest, fixed params in every combination', () => {
    expect(paramCombinations(base.params)).toEqual([
      { max_tokens: 64, temperature: 0, top_p: 1 },
      { max_tokens: 64, temperature: 0, top_p: 0.5 },
      { max_tokens: 64, temperature: 0.7, top_p: 1 },
      { max_tokens: 64, temperature: 0.7, top_p: 0.5 },
    ]);
  });

  it('gives one combination without sweeps or params, and keys in sorted order', () => {
    expect(paramCombinations(undefined)).toEqual([{}]);
    expect(Object.keys(paramCombinations({ z: 1, a: [true], m: null })[0])).toEqual(['a', 'm', 'z']);
  });

  it('does not depend on the declaration order of the keys', () => {
    expect(paramCombinations({ b: [1, 2], a: ['x', 'y'] })).toEqual(paramCombinations({ a: ['x', 'y'], b: [1, 2] }));
  });
});

describe('expandGrid', () => {
  it('has prompts × models × combinations × inputs × repetitions cells, as countGrid says', () => {
    const cells = expandGrid(base);
    expect(cells).toHaveLength(2 * 2 * 4 * 3 * 2);
    expect(countGrid(base)).toBe(cells.length);
    expect(countGrid({ ...base, repetitions: undefined, params: undefined })).toBe(2 * 2 * 3);
  });

  it('orders prompts, then models, then params, then inputs, then repetitions (fastest)', () => {
    const cells = expandGrid(base);
    expect(cells.slice(0, 3).map((c) => [c.config.input_data, c.repetition])).toEqual([
      [{ x: 1 }, 0],
      [{ x: 1 }, 1],
      [{ x: 2 }, 0],
    ]);
    expect(cells[6].config.params).toEqual({ max_tokens: 64, temperature: 0, top_p: 0.5 });
    expect(cells[24].config.model).toBe('openai:gpt-4o-mini');
    expect(cells[47].config.prompt).toBe('A {{x}}');
    expect(cells[48].config.prompt).toBe('B {{x}}');
    // deterministic: the same config gives the same sequence
    expect(expandGrid(base).map((c) => c.configHash)).toEqual(cells.map((c) => c.configHash));
  });

  it('gives each cell a scalar-only run config with its repetition, and the contract hash', () => {
    for (const cell of expandGrid(base)) {
      expect(Object.keys(cell.config).sort()).toEqual(['input_data', 'model', 'params', 'prompt', 'repetition']);
      for (const v of Object.values(cell.config.params ?? {}))
        expect(['number', 'string', 'boolean'].includes(typeof v) || v === null).toBe(true);
      expect(cell.config.repetition).toBe(cell.repetition);
      expect(cell.useCache).toBe(true);
      expect(cell.configHash).toBe(computeConfigHash(cell.config));
    }
  });

  it('hashes exactly like computeConfigHash for awkward values (unicode, nesting, key order, numbers)', () => {
    const awkward: ExperimentConfig = {
      prompts: ['Say "{{x}}"\n\u2028 ünïcödé 😀', '{{x}}'],
      models: ['mock:echo'],
      params: { zeta: [1e21, -0, 0.1], alpha: ['a"b', null, true], é: 1 },
      inputs: [{ x: { z: [1, { b: 2, a: 1 }], a: 'é' }, '\u00e9': 1, '\ud83d\ude00': 2, e: 'x' }, { x: 1.5e-7 }],
    };
    const cells = expandGrid(awkward);
    expect(cells).toHaveLength(2 * 9 * 2);
    for (const cell of cells) expect(cell.configHash).toBe(computeConfigHash(cell.config));
  });

  it('repetitions share the hash (outside it) but are distinct cells', () => {
    const [r0, r1] = expandGrid(base);
    expect(r0.configHash).toBe(r1.configHash);
    expect([r0.repetition, r1.repetition]).toEqual([0, 1]);
    const hashes = new Set(expandGrid(base).map((c) => c.configHash));
    expect(hashes.size).toBe(countGrid(base) / 2);
  });

  it('carries stages and cache: false when the experiment says so; the hash ignores both', () => {
    const stages = [{ name: 'critique', prompt: 'Critique {{stages.first.output}}' }];
    const [cell] = expandGrid({ ...base, stages, cache: false });
    expect(cell.config.stages).toEqual(stages);
    expect(cell.config.cache).toBe(false);
    expect(cell.useCache).toBe(false);
    expect(cell.configHash).toBe(expandGrid(base)[0].configHash);
    expect(expandGrid({ ...base, stages: [] })[0].config).not.toHaveProperty('stages');
  });

  it('is lazy: the first cells of a huge grid come without building it', () => {
    const huge: ExperimentConfig = {
      ...base,
      params: { seed: { $sweep: Array.from({ length: 10_000 }, (_, i) => i) } },
      repetitions: 100,
    };
    expect(countGrid(huge)).toBe(2 * 2 * 10_000 * 3 * 100);
    const it = iterateGrid(huge);
    expect(it.next().value?.config.params).toEqual({ seed: 0 });
  });
});

describe('grids over dataset items and registry prompts', () => {
  const ref = {
    ref: 'summarise@production',
    prompt_id: '3c1a9e52-7f0b-4d8e-a1c3-5b2e9f6d7a10',
    name: 'summarise',
    version: 3,
    template: 'R {{x}}',
    params: { max_tokens: 16, seed: 7 },
  };
  const config: ExperimentConfig = {
    prompts: [ref, 'A {{x}}'],
    models: ['mock:echo'],
    params: { temperature: [0, 1], max_tokens: 64 },
    dataset: { id: '00000000-0000-4000-8000-000000000000', version: 2 },
    repetitions: 2,
  };
  const items = [
    { item_key: 'k1', data: { x: 1 } },
    { item_key: 'k2', data: { x: 2 } },
  ];

  it('runs the resolved template with its params under the experiment params, carrying key and version', () => {
    const cells = Array.from(iterateGrid(config, items));
    expect(cells).toHaveLength(countGrid(config, items.length));
    expect(cells).toHaveLength(2 * 2 * 2 * 2);
    const fromRef = cells.filter((c) => c.promptVersion !== null);
    expect(fromRef).toHaveLength(8);
    for (const cell of fromRef) {
      expect(cell.config.prompt).toBe('R {{x}}');
      expect(cell.promptVersion).toEqual({ prompt_id: ref.prompt_id, name: 'summarise', version: 3 });
      expect(cell.config.params).toEqual({ max_tokens: 64, seed: 7, temperature: cell.config.params!.temperature });
    }
    for (const cell of cells) {
      expect(cell.datasetItemKey).toBe(`k${(cell.config.input_data as { x: number }).x}`);
      expect(cell.configHash).toBe(computeConfigHash(cell.config));
    }
    expect(cells.filter((c) => c.promptVersion === null).every((c) => c.config.params!.seed === undefined)).toBe(true);
  });

  it('inline inputs have no item key', () => {
    expect(expandGrid(base).every((c) => c.datasetItemKey === null && c.promptVersion === null)).toBe(true);
  });
});

describe('structured params', () => {
  const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
  const config: ExperimentConfig = {
    prompts: [
      {
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'U {{x}}' },
        ],
      },
    ],
    models: ['mock:echo'],
    params: {
      tools,
      stop: ['a', 'b'],
      seed: { $sweep: [1, 2] },
      response_format: { $sweep: [{ type: 'json_object' }, { type: 'text' }] },
      temperature: [0, 1],
    },
    inputs: [{ x: 1 }],
  };

  it('keeps literal lists as values and sweeps $sweep and plain lists', () => {
    const cells = expandGrid(config);
    expect(countGrid(config)).toBe(8);
    expect(cells).toHaveLength(8);
    expect(cells[0].config.params).toEqual({
      response_format: { type: 'json_object' },
      seed: 1,
      stop: ['a', 'b'],
      temperature: 0,
      tools,
    });
    expect(new Set(cells.map((c) => c.configHash)).size).toBe(8);
  });

  it('keeps the messages prompt in the run config and hashes it with computeConfigHash', () => {
    for (const cell of expandGrid(config)) {
      expect(cell.config.prompt).toEqual(config.prompts[0]);
      expect(cell.configHash).toBe(computeConfigHash(cell.config));
    }
  });
});

describe('planCellRefs and planParts (what the launch sends)', () => {
  it('name the same cells as planCells, in the same order, config part by part (what insertBatch assembles)', () => {
    const stages = [{ name: 'draft', prompt: 'D {{x}}' }];
    for (const config of [base, { ...base, stages, cache: false }]) {
      const plan = planGrid(config);
      const parts = planParts(plan);
      const items = inlineItems(config);
      // Through JSON, as the statement receives them.
      const sent = JSON.parse(JSON.stringify(parts)) as typeof parts;
      const rebuilt = Array.from(planCellRefs(plan, items)).map((ref) => ({
        configHash: ref.configHash,
        repetition: ref.repetition,
        config: {
          prompt: sent.prompts[ref.prompt],
          model: sent.models[ref.model],
          params: sent.params[ref.prompt][ref.combo],
          input_data: items[ref.item].data,
          repetition: ref.repetition,
          ...sent.extra,
        },
        promptVersion: sent.versions[ref.prompt],
        useCache: sent.useCache,
      }));
      const cells = expandGrid(config).map((c) => ({
        configHash: c.configHash,
        repetition: c.repetition,
        config: c.config,
        promptVersion: c.promptVersion,
        useCache: c.useCache,
      }));
      expect(rebuilt).toEqual(cells);
    }
  });
});
