import { Module } from '@nestjs/common';
import { OutboxModule } from '../outbox/outbox.module';
import { DatasetUploadService } from './dataset-upload.service';
import { DatasetsController } from './datasets.controller';
import { DatasetsRepository } from './datasets.repository';
import { DatasetsService } from './datasets.service';

/**
 * Versioned datasets: owns `datasets`, `dataset_versions` and `dataset_items`. Uploads stream
 * into the database; experiments pin a version through `DatasetsService`.
 */
@Module({
  imports: [OutboxModule],
  controllers: [DatasetsController],
  providers: [DatasetsRepository, DatasetUploadService, DatasetsService],
  exports: [DatasetsService],
})
export class DatasetsModule {}
