import { Injectable } from '@nestjs/common';
import { isPlainObject } from '../common/is-plain-object';
import { DatasetsService } from '../datasets/datasets.service';
import { type ExperimentConfig, type ExperimentPrompt, type ResolvedPromptEntry } from '../domain/configs';
import { PromptsService } from '../prompts/prompts.service';
import { type VariableUse } from './experiment-config.validator';

/** Keys of a `{"ref"}` prompt entry: the resolved ones (as GET returns them) are re-derived from `ref`. */
const REF_ENTRY_KEYS = ['ref', 'prompt_id', 'name', 'version', 'template', 'params'];
/** Offending dataset items listed in a 400: the first ones say enough. */
const MAX_ITEM_PROBLEMS = 20;

/** A submitted config with its references resolved, as it is stored. */
export interface ResolvedConfig {
  config: unknown;
  /** Problems of the references (unknown prompt or label, dataset without a version). */
  problems: string[];
  /** The pinned dataset version's id, null for inline inputs. */
  datasetVersionId: string | null;
}

/**
 * Resolves what an experiment config references when it is written (create, PATCH): prompt
 * entries `{"ref": "name@label|version"}` through the registry, `config.dataset` to a pinned
 * version of a dataset of the same project. Stored resolved, so a later label move or upload
 * never changes the experiment.
 */
@Injectable()
export class ExperimentConfigResolver {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly prompts: PromptsService,
  ) {}

  async resolve(projectId: string, config: unknown): Promise<ResolvedConfig> {
    if (!isPlainObject(config)) return { config, problems: [], datasetVersionId: null };
    const problems: string[] = [];
    const resolved: Record<string, unknown> = { ...config };
    let datasetVersionId: string | null = null;

    if (Array.isArray(config.prompts)) {
      // Resolved side by side; each entry's problems are listed in the entries' order.
      const perEntry: string[][] = config.prompts.map(() => []);
      resolved.prompts = await Promise.all(
        config.prompts.map(async (entry: unknown, i): Promise<unknown> => {
          const problems = perEntry[i];
          if (!isPlainObject(entry) || !('ref' in entry)) return entry;
          const at = `config.prompts[${i}]`;
          const extra = Object.keys(entry).filter((k) => !REF_ENTRY_KEYS.includes(k));
          if (extra.length > 0) {
            problems.push(
              ...extra.map((k) => `${at}.${k} is not allowed (a registry prompt is {"ref": "name@label"})`),
            );
            return entry;
          }
          if (typeof entry.ref !== 'string') {
            problems.push(`${at}.ref must be "<name>@<label or version>" (e.g. "summarise@production")`);
            return entry;
          }
          const found = await this.prompts.resolveRef(projectId, entry.ref, at);
          if (typeof found === 'string') {
            problems.push(found);
            return entry;
          }
          const stored: ResolvedPromptEntry = {
            ref: found.ref,
            prompt_id: found.prompt_id,
            name: found.name,
            version: found.version,
            template: found.template,
            params: found.params,
          };
          return stored satisfies ExperimentPrompt;
        }),
      );
      for (const entryProblems of perEntry) problems.push(...entryProblems);
    }

    const dataset = config.dataset;
    if (isPlainObject(dataset) && typeof dataset.id === 'string' && /^[0-9a-f-]{36}$/i.test(dataset.id)) {
      const version = Number.isInteger(dataset.version) ? (dataset.version as number) : null;
      if (dataset.version === undefined || dataset.version === null || version !== null) {
        const pinned = await this.datasets.pinVersion(projectId, dataset.id, version);
        if (typeof pinned === 'string') problems.push(pinned);
        else {
          resolved.dataset = { id: dataset.id, version: pinned.version } satisfies ExperimentConfig['dataset'];
          datasetVersionId = pinned.versionId;
        }
      }
    }
    return { config: resolved, problems, datasetVersionId };
  }

  /**
   * Every `{{var}}` must be a key of every item of the pinned version: checked in SQL over the
   * items (never loaded into Node). One line per offending item, the first MAX_ITEM_PROBLEMS.
   */
  async missingItemVariables(datasetVersionId: string, uses: VariableUse[]): Promise<string[]> {
    if (uses.length === 0) return [];
    const usedBy = new Map(uses.map((u) => [u.variable, u.usedBy]));
    const { rows, total } = await this.datasets.itemsMissingKeys(
      datasetVersionId,
      uses.map((u) => u.variable),
      MAX_ITEM_PROBLEMS,
    );
    const problems = rows.map(
      (row) =>
        `config.dataset item "${row.item_key}" lacks ${row.missing
          .map((v) => `{{${v}}} (used by ${usedBy.get(v)!.join(', ')})`)
          .join(', ')}`,
    );
    if (total > rows.length) problems.push(`… and ${total - rows.length} more item(s) lacking input variables`);
    return problems;
  }
}
