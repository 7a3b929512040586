import { Injectable } from '@nestjs/common';
import { type IncomingMessage } from 'http';
import { Principal } from '../common/principal';
import { notFound } from '../common/domain-error';
import { type Page } from '../common/pagination.dto';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { Dataset } from './dataset.entity';
import { DatasetVersion } from './dataset-version.entity';
import { DatasetUploadService, type UploadMode } from './dataset-upload.service';
import { DATASET_NOT_FOUND, DatasetsRepository } from './datasets.repository';
import {
  type CreateDatasetDto,
  type DatasetDetailDto,
  type DatasetDto,
  type DatasetItemDto,
  type DatasetVersionDto,
  type DatasetVersionSummaryDto,
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

function toVersionSummary(v: DatasetVersion): DatasetVersionSummaryDto {
  return {
    version: v.version,
    item_count: v.itemCount,
    content_hash: v.contentHash,
    created_at: v.createdAt.toISOString(),
  };
}

export const toVersionDto = (v: DatasetVersion): DatasetVersionDto => ({
  dataset_id: v.datasetId,
  ...toVersionSummary(v),
});

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
}
