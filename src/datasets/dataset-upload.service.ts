import { HttpException, Injectable, Logger, PayloadTooLargeException } from '@nestjs/common';
import { type IncomingMessage } from 'http';
import { type Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { canonicalJson } from '../domain/canonical-json';
import { DomainError, invalid } from '../common/domain-error';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { DatasetVersion } from './dataset-version.entity';
import { DatasetsRepository } from './datasets.repository';
import { toVersionDto } from './dataset.mapper';
import { OutboxWriter } from '../outbox/outbox.writer';
import { ContentHasher } from './item-key';
import { ByteLimit, uploadTooLarge } from './upload/byte-limit';
import { copyRowOfError } from './upload/copy-text';
import { CsvItems, CsvLines } from './upload/csv-items';
import { ItemCopyEncoder } from './upload/item-copy-encoder';
import { jsonBodyError, jsonItemStages } from './upload/json-items';
import { NdjsonItems } from './upload/ndjson-items';
import { uploadFormat, type UploadFormat } from './upload/upload-format';

export type UploadMode = 'replace' | 'append';

/** Rows per FETCH when an append hashes the previous version's items. */
const PREVIOUS_ITEMS_BATCH = 5000;

/**
 * Streams one upload into a new dataset version: request bytes → byte limit → format parser →
 * item validation, keys and content hash → COPY into `dataset_items`, all inside one transaction.
 * Nothing is buffered beyond one item and a COPY chunk, so memory stays flat whatever the size;
 * any bad line rolls everything back and the 400 names it.
 */
@Injectable()
export class DatasetUploadService {
  private readonly logger = new Logger(DatasetUploadService.name);

  constructor(
    private readonly repository: DatasetsRepository,
    private readonly outbox: OutboxWriter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async upload(datasetId: string, request: IncomingMessage, mode: UploadMode): Promise<DatasetVersion> {
    const format = uploadFormat(request.headers['content-type']);
    const { uploadMaxBytes, maxItems } = this.config.datasets;
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > uploadMaxBytes) throw uploadTooLarge(uploadMaxBytes);
    const started = Date.now();

    const created = await this.repository.inUploadTransaction(datasetId, async (tx, latest) => {
      const version = (latest ?? 0) + 1;
      const versionId = await tx.createVersion(version);
      const hasher = new ContentHasher();
      let previousCount = 0;
      if (mode === 'append' && latest !== null) {
        const previous = await tx.versionRow(latest);
        if (previous) {
          await tx.copyItems(previous.id, versionId);
          await tx.forEachItem(previous.id, PREVIOUS_ITEMS_BATCH, (key, json) =>
            hasher.add(key, canonicalJson(JSON.parse(json))),
          );
          previousCount = previous.itemCount;
        }
      }
      const encoder = new ItemCopyEncoder({
        versionId,
        firstPosition: previousCount,
        maxItems: maxItems - previousCount,
        limit: maxItems,
        hasher,
      });
      const csv = format === 'csv' ? new CsvLines() : null;
      const first = new ByteLimit(uploadMaxBytes);
      const stages: Transform[] = [first, ...this.parserStages(format, csv), encoder];
      request.pipe(first);
      const abort = () => first.destroy(invalid('the upload was interrupted before its end'));
      request.once('aborted', abort).once('error', abort);
      try {
        await pipeline([...stages, tx.copyItemsIn()]);
      } catch (error) {
        throw this.uploadError(error, encoder, csv);
      } finally {
        request.unpipe(first);
        request.off('aborted', abort).off('error', abort);
      }
      if (encoder.itemCount === 0) throw invalid('the upload holds no items');
      const row = await tx.finish(versionId, version, previousCount + encoder.itemCount, hasher.digest());
      // In the upload's transaction: the event commits with the version or not at all.
      await this.outbox.append(
        tx.manager,
        tx.projectId,
        'dataset.version_created',
        { ...toVersionDto(row) },
        {
          link: { id: datasetId, href: `/api/datasets/${datasetId}` },
        },
      );
      return row;
    });
    this.logger.log(
      `dataset ${datasetId} version ${created.version}: ${created.itemCount} items (${mode}, ${format}) in ${Date.now() - started} ms`,
    );
    return created;
  }

  /**
   * After a failed upload: a 413 closes the connection (the rest may be huge); any other answer
   * drains what the client still sends, so it reads the answer instead of a reset connection.
   */
  settleBody(request: IncomingMessage, error: unknown, setHeader: (name: string, value: string) => void): void {
    if (request.complete) return;
    if (error instanceof PayloadTooLargeException) setHeader('Connection', 'close');
    else request.resume();
  }

  private parserStages(format: UploadFormat, csv: CsvLines | null): Transform[] {
    if (format === 'ndjson') return [new NdjsonItems()];
    if (format === 'csv' && csv) return [csv.counter, csv.parser(), new CsvItems()];
    return jsonItemStages();
  }

  /** Any failure of the pipeline as the answer the client gets; unknown errors stay 500s. */
  private uploadError(error: unknown, encoder: ItemCopyEncoder, csv: CsvLines | null): unknown {
    if (error instanceof DomainError || error instanceof HttpException) return error;
    if (csv) {
      const mapped = csv.error(error);
      if (mapped !== error) return mapped;
    }
    const json = jsonBodyError(error);
    if (json !== error) return json;
    const row = copyRowOfError(error);
    const code = (error as { code?: unknown }).code;
    if (row !== null && typeof code === 'string') {
      const place = encoder.placeOf(row - 1);
      if (code === '23505') {
        const key = /=\([^,]+, (.*)\) already exists/s.exec(String((error as { detail?: unknown }).detail))?.[1];
        return invalid(
          `${place}: item_key ${key ? `"${key.length > 100 ? `${key.slice(0, 100)}…` : key}" ` : ''}appears twice in the version ` +
            '(an "id" must be unique; items without one are keyed by their content, so an exact duplicate repeats its key)',
        );
      }
      if (code.startsWith('22')) return invalid(`${place}: the item cannot be stored (${(error as Error).message})`);
    }
    return error;
  }
}
