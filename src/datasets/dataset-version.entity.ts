import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One immutable version of a dataset: its items live in `dataset_items` (see DatasetsRepository). */
@Entity('dataset_versions')
export class DatasetVersion {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ name: 'item_count', type: 'integer' })
  itemCount: number;

  @Column({ name: 'content_hash', type: 'char', length: 64 })
  contentHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
