import { Injectable } from '@nestjs/common';
import { type IncomingMessage } from 'http';
import { Principal } from '../common/principal';
import { notFound } from '../common/domain-error';
import { type Page } from '../common/pagination.dto';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { Dataset } from './dataset.entity';
import { DatasetUploadService, type UploadMode } from './dataset-upload.service';
import { toVersionDto, toVersionSummary } from './dataset.mapper';
import { DATASET_NOT_FOUND, type DatasetItemRow, DatasetsRepository } from './datasets.repository';
import {
  type CreateDatasetDto,
  type DatasetDetailDto,
  type DatasetDto,
  type DatasetItemDto,
  type DatasetVersionDto,
} from './dto/dataset.dto';

export const DATASET_VERSION_NOT_FOUND = 'Dataset version not found';
const PROJECT_NOT_FOUND = 'Project not found';

export function toDatasetDto(d: Dataset): DatasetDto {
  return {
    id: d.id,
    project_id: d.projectId,
    name: d.name,
    description: d.description,
    latest_version: d.latestVersion,
    created_at: d.createdAt.toISOString(),
  };
}

/** Datasets of a project: who may see, upload and delete them, and their versions' items. */
@Injectable()
export class DatasetsService {
  constructor(
    private readonly repository: DatasetsRepository,
    private readonly uploads: DatasetUploadService,
    private readonly access: AccessPolicy,
  ) {}

  /** The dataset if the caller has `role` in its project: 404 for non-members, 403 for a lower role. */
  async findAccessible(principal: Principal, id: string, role: ProjectRole): Promise<Dataset> {
    const dataset = await this.repository.findById(id);
    if (!dataset) throw notFound(DATASET_NOT_FOUND);
    await this.access.require(principal, dataset.projectId, role, DATASET_NOT_FOUND);
    return dataset;
  }

  async create(principal: Principal, projectId: string, dto: CreateDatasetDto): Promise<DatasetDto> {
    await this.access.require(principal, projectId, ProjectRole.Editor, PROJECT_NOT_FOUND);
    return toDatasetDto(await this.repository.create(projectId, dto.name, dto.description ?? null));
  }

  async list(principal: Principal, projectId: string, limit: number, offset: number): Promise<Page<DatasetDto>> {
    await this.access.require(principal, projectId, ProjectRole.Viewer, PROJECT_NOT_FOUND);
    const { rows, total } = await this.repository.listByProject(projectId, limit, offset);
    return { items: rows.map(toDatasetDto), total };
  }

  async get(principal: Principal, id: string): Promise<DatasetDetailDto> {
    const dataset = await this.findAccessible(principal, id, ProjectRole.Viewer);
    const versions = await this.repository.versionsOf(id);
    return { ...toDatasetDto(dataset), versions: versions.map(toVersionSummary) };
  }

  async remove(principal: Principal, id: string): Promise<void> {
    await this.findAccessible(principal, id, ProjectRole.Owner);
    await this.repository.remove(id, 'Dataset is used by an experiment: delete the experiment first');
  }

  async upload(
    principal: Principal,
    id: string,
    request: IncomingMessage,
    mode: UploadMode,
  ): Promise<DatasetVersionDto> {
    await this.findAccessible(principal, id, ProjectRole.Editor);
    return toVersionDto(await this.uploads.upload(id, request, mode));
  }

  async items(
    principal: Principal,
    id: string,
    version: number,
    limit: number,
    offset: number,
  ): Promise<Page<DatasetItemDto>> {
    await this.findAccessible(principal, id, ProjectRole.Viewer);
    const row = await this.repository.findVersion(id, version);
    if (!row) throw notFound(DATASET_VERSION_NOT_FOUND);
    const items = offset < row.itemCount ? await this.repository.itemsPage(row.id, offset, limit) : [];
    return { items, total: row.itemCount };
  }

  /**
   * The version an experiment of `projectId` pins: `version`, or the latest when absent. A dataset
   * of another project (or none) → 404 as any foreign id; a missing version → a problem for the 400.
   */
  async pinVersion(projectId: string, datasetId: string, version: number | null): Promise<PinnedVersion | string> {
    const dataset = await this.repository.findById(datasetId);
    if (!dataset || dataset.projectId !== projectId) throw notFound(DATASET_NOT_FOUND);
    const wanted = version ?? dataset.latestVersion;
    if (wanted === null)
      return `config.dataset: dataset "${dataset.name}" has no version yet (upload items to POST /api/datasets/${datasetId}/versions first)`;
    const row = await this.repository.findVersion(datasetId, wanted);
    if (!row) return `config.dataset.version: dataset "${dataset.name}" has no version ${wanted}`;
    return { versionId: row.id, version: row.version, itemCount: row.itemCount };
  }

  /** A pinned version by its id (experiments keep it), or null when it no longer exists. */
  async pinnedVersion(versionId: string): Promise<PinnedVersion | null> {
    const row = await this.repository.findVersionById(versionId);
    return row ? { versionId: row.id, version: row.version, itemCount: row.itemCount } : null;
  }

  /**
   * A version's items in upload order, `batchSize` at a time (keyset pagination; never all at
   * once). The next batch is read while the caller works on this one.
   */
  async *itemBatches(versionId: string, batchSize: number): AsyncGenerator<DatasetItemRow[]> {
    let next = this.repository.itemsAfter(versionId, -1, batchSize);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) return;
      const more = rows.length === batchSize;
      if (more) {
        next = this.repository.itemsAfter(versionId, rows[rows.length - 1].position, batchSize);
        next.catch(() => undefined); // awaited on the next turn; never an unhandled rejection meanwhile
      }
      yield rows.map(({ item_key, data }) => ({ item_key, data }));
      if (!more) return;
    }
  }

  /** Items lacking some of `keys` (the first `limit`, upload order) and how many do: checked in SQL. */
  itemsMissingKeys(versionId: string, keys: string[], limit: number) {
    return this.repository.itemsMissingKeys(versionId, keys, limit);
  }
}

/** A dataset version pinned by an experiment. */
export interface PinnedVersion {
  versionId: string;
  version: number;
  itemCount: number;
}
