import { type DatasetVersion } from './dataset-version.entity';
import { type DatasetVersionDto, type DatasetVersionSummaryDto } from './dto/dataset.dto';

export function toVersionSummary(v: DatasetVersion): DatasetVersionSummaryDto {
  return {
    version: v.version,
    item_count: v.itemCount,
    content_hash: v.contentHash,
    created_at: v.createdAt.toISOString(),
  };
}

/** A version as the API returns it (the upload's 201, the `dataset.version_created` event's data). */
export const toVersionDto = (v: DatasetVersion): DatasetVersionDto => ({
  dataset_id: v.datasetId,
  ...toVersionSummary(v),
});
