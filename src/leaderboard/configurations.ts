import { type DataSource } from 'typeorm';
import { invalid } from '../common/domain-error';
import { configKey, resolveConfigKey } from './config-key';
import { EXPERIMENT_CELLS_SQL, type ExperimentCellRow } from './leaderboard.sql';

export type FullCell = ExperimentCellRow['cell'];

/** Every configuration (full cell) that has a run in the experiment, by its key. */
export async function configurationsOf(dataSource: DataSource, experimentId: string): Promise<Map<string, FullCell>> {
  const rows: ExperimentCellRow[] = await dataSource.query(EXPERIMENT_CELLS_SQL, [experimentId]);
  const byKey = new Map<string, FullCell>();
  for (const { cell } of rows) byKey.set(configKey({ prompt: cell[0], model: cell[1], params: cell[2] }), cell);
  return byKey;
}

/**
 * The configuration named by `ref` (a key or a prefix of ≥ 8 hex digits), or without `ref` the
 * experiment's only configuration; several and no `ref` → 400 listing the keys.
 */
export function chooseConfiguration(
  ref: string | undefined,
  configurations: Map<string, FullCell>,
  label: string,
  whose: string,
): string {
  if (ref !== undefined) return resolveConfigKey(ref, configurations.keys(), label);
  const keys = [...configurations.keys()].sort();
  if (keys.length === 1) return keys[0];
  if (keys.length === 0)
    throw invalid(`the ${whose} experiment has no runs yet, so it has no configuration to compare`);
  throw invalid(`${label} is required: the ${whose} experiment has ${keys.length} configurations: ${keys.join(', ')}`);
}
