import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type Writable } from 'stream';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import { conflict, ErrorCode, notFound } from '../common/domain-error';
import { Dataset } from './dataset.entity';
import { DatasetVersion } from './dataset-version.entity';

export const DATASET_NOT_FOUND = 'Dataset not found';

export interface DatasetItemRow {
  item_key: string;
  data: Record<string, unknown>;
}

export interface DatasetItemAtRow extends DatasetItemRow {
  position: number;
}

const DATASET_COLUMNS = `id, project_id AS "projectId", name, description, latest_version AS "latestVersion",
  created_at AS "createdAt", updated_at AS "updatedAt"`;
const VERSION_COLUMNS = `id, dataset_id AS "datasetId", version, item_count AS "itemCount",
  content_hash AS "contentHash", created_at AS "createdAt"`;

const driverCode = (error: unknown): string | undefined =>
  error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;

/**
 * Every statement on `datasets`, `dataset_versions` and `dataset_items` (this module owns them).
 * Uploads run in one transaction on one connection (`DatasetUploadTransaction`).
 */
@Injectable()
export class DatasetsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(projectId: string, name: string, description: string | null): Promise<Dataset> {
    try {
      const rows: Dataset[] = await this.dataSource.query(
        `INSERT INTO datasets (project_id, name, description) VALUES ($1, $2, $3) RETURNING ${DATASET_COLUMNS}`,
        [projectId, name, description],
      );
      return rows[0];
    } catch (error) {
      if (driverCode(error) === '23505')
        throw conflict(`A dataset named "${name}" already exists in this project`, ErrorCode.NameTaken);
      throw error;
    }
  }

  async findById(id: string): Promise<Dataset | null> {
    const rows: Dataset[] = await this.dataSource.query(`SELECT ${DATASET_COLUMNS} FROM datasets WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async listByProject(projectId: string, limit: number, offset: number): Promise<{ rows: Dataset[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.dataSource.query<Dataset[]>(
        `SELECT ${DATASET_COLUMNS} FROM datasets WHERE project_id = $1
          ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
        [projectId, limit, offset],
      ),
      this.dataSource.query<{ total: number }[]>(`SELECT count(*)::int AS total FROM datasets WHERE project_id = $1`, [
        projectId,
      ]),
    ]);
    return { rows, total: count[0].total };
  }

  versionsOf(datasetId: string): Promise<DatasetVersion[]> {
    return this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions WHERE dataset_id = $1 ORDER BY version`,
      [datasetId],
    );
  }

  async findVersion(datasetId: string, version: number): Promise<DatasetVersion | null> {
    const rows: DatasetVersion[] = await this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions WHERE dataset_id = $1 AND version = $2`,
      [datasetId, version],
    );
    return rows[0] ?? null;
  }

  /** A page of a version's items in upload order: positions are dense, so this is a range scan. */
  itemsPage(versionId: string, offset: number, limit: number): Promise<DatasetItemRow[]> {
    return this.dataSource.query(
      `SELECT item_key, data FROM dataset_items
        WHERE version_id = $1 AND position >= $2 ORDER BY position LIMIT $3`,
      [versionId, offset, limit],
    );
  }

  async findVersionById(versionId: string): Promise<DatasetVersion | null> {
    const rows: DatasetVersion[] = await this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions WHERE id = $1`,
      [versionId],
    );
    return rows[0] ?? null;
  }

  /**
   * The next `limit` items after `afterPosition` in upload order: keyset pagination over the
   * primary key (version_id, position), so each batch is an index range scan whatever its depth.
   */
  itemsAfter(versionId: string, afterPosition: number, limit: number): Promise<DatasetItemAtRow[]> {
    return this.dataSource.query(
      `SELECT position, item_key, data FROM dataset_items
        WHERE version_id = $1 AND position > $2 ORDER BY position LIMIT $3`,
      [versionId, afterPosition, limit],
    );
  }

  /**
   * The first `limit` items (upload order) lacking one of `keys` as a top-level key, with the keys
   * each lacks, and how many items lack some: one pass over the version in SQL.
   */
  async itemsMissingKeys(
    versionId: string,
    keys: string[],
    limit: number,
  ): Promise<{ rows: Array<{ item_key: string; missing: string[] }>; total: number }> {
    const rows: Array<{ item_key: string; missing: string[]; total: number }> = await this.dataSource.query(
      `SELECT i.item_key, m.missing, count(*) OVER ()::int AS total
         FROM dataset_items i
         CROSS JOIN LATERAL (
           SELECT array_agg(k.key ORDER BY k.ord) AS missing
             FROM unnest($2::text[]) WITH ORDINALITY AS k(key, ord)
            WHERE NOT (i.data ? k.key)) m
        WHERE i.version_id = $1 AND NOT (i.data ?& $2::text[])
        ORDER BY i.position
        LIMIT $3`,
      [versionId, keys, limit],
    );
    return { rows, total: rows[0]?.total ?? 0 };
  }

  /**
   * Deletes the dataset, its versions and items. An experiment pinning one of its versions holds a
   * foreign key to it, so PostgreSQL refuses (23503) and this answers 409, race-free.
   */
  async remove(id: string, usedMessage: string): Promise<void> {
    try {
      await this.dataSource.query(`DELETE FROM datasets WHERE id = $1`, [id]);
    } catch (error) {
      if (driverCode(error) === '23503') throw conflict(usedMessage, ErrorCode.ResourceInUse);
      throw error;
    }
  }

  /**
   * Runs `work` inside one transaction on its own connection, with the dataset row locked
   * (`FOR NO KEY UPDATE`: uploads to one dataset take turns, experiments may still reference it).
   * Commits when `work` resolves, rolls back when it throws.
   */
  async inUploadTransaction<T>(
    datasetId: string,
    work: (tx: DatasetUploadTransaction, latestVersion: number | null) => Promise<T>,
  ): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    try {
      await runner.startTransaction();
      const { rows: locked } = await client.query<{ latest_version: number | null; project_id: string }>(
        `SELECT latest_version, project_id FROM datasets WHERE id = $1 FOR NO KEY UPDATE`,
        [datasetId],
      );
      if (locked.length === 0) throw notFound(DATASET_NOT_FOUND);
      const tx = new DatasetUploadTransaction(client, runner.manager, datasetId, locked[0].project_id);
      const result = await work(tx, locked[0].latest_version);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}

/** The statements of one upload, on the transaction's connection. */
export class DatasetUploadTransaction {
  constructor(
    private readonly client: PoolClient,
    /** The same connection and transaction, for writers that take an EntityManager (the outbox). */
    readonly manager: EntityManager,
    private readonly datasetId: string,
    readonly projectId: string,
  ) {}

  async versionRow(version: number): Promise<DatasetVersion | null> {
    const { rows } = await this.client.query<DatasetVersion>(
      `SELECT ${VERSION_COLUMNS} FROM dataset_versions WHERE dataset_id = $1 AND version = $2`,
      [this.datasetId, version],
    );
    return rows[0] ?? null;
  }

  /** The new version's row, filled in by `finish` (items reference it while they are copied). */
  async createVersion(version: number): Promise<string> {
    const { rows } = await this.client.query<{ id: string }>(
      `INSERT INTO dataset_versions (dataset_id, version, item_count, content_hash)
       VALUES ($1, $2, 0, repeat('0', 64)) RETURNING id`,
      [this.datasetId, version],
    );
    return rows[0].id;
  }

  /** Copies a previous version's items (same positions) in one statement. */
  async copyItems(fromVersionId: string, toVersionId: string): Promise<void> {
    await this.client.query(
      `INSERT INTO dataset_items (version_id, position, item_key, data)
       SELECT $2, position, item_key, data FROM dataset_items WHERE version_id = $1`,
      [fromVersionId, toVersionId],
    );
  }

  /** Streams a version's items in order, `batch` rows at a time, through a server-side cursor. */
  async forEachItem(versionId: string, batch: number, visit: (key: string, dataJson: string) => void): Promise<void> {
    await this.client.query(
      `DECLARE previous_items NO SCROLL CURSOR FOR
         SELECT item_key, data::text AS data FROM dataset_items WHERE version_id = $1 ORDER BY position`,
      [versionId],
    );
    for (;;) {
      const { rows } = await this.client.query<{ item_key: string; data: string }>(
        `FETCH ${batch} FROM previous_items`,
      );
      for (const row of rows) visit(row.item_key, row.data);
      if (rows.length < batch) break;
    }
    await this.client.query(`CLOSE previous_items`);
  }

  /** A COPY FROM STDIN of `version_id, position, item_key, data` rows in text format. */
  copyItemsIn(): Writable {
    return this.client.query(copyFrom(`COPY dataset_items (version_id, position, item_key, data) FROM STDIN`));
  }

  async finish(versionId: string, version: number, itemCount: number, contentHash: string): Promise<DatasetVersion> {
    const { rows } = await this.client.query<DatasetVersion>(
      `UPDATE dataset_versions SET item_count = $2, content_hash = $3 WHERE id = $1 RETURNING ${VERSION_COLUMNS}`,
      [versionId, itemCount, contentHash],
    );
    await this.client.query(`UPDATE datasets SET latest_version = $2, updated_at = now() WHERE id = $1`, [
      this.datasetId,
      version,
    ]);
    return rows[0];
  }
}
