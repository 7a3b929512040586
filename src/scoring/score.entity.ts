import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Run } from '../runs/run.entity';

export enum ScoreSource {
  Auto = 'auto',
  Human = 'human',
}

/**
 * One score of one run by one scorer. Per run and scorer the latest `created_at` counts
 * (ties broken by id); `created_at` defaults to clock_timestamp() so rows written in one
 * transaction still order. At most one automated score per run and scorer (partial unique index).
 * The "latest per run and scorer" index (run_id, scorer_name, created_at DESC, id DESC) INCLUDE (value)
 * is hand-written in a migration (descending keys and INCLUDE are beyond the decorators).
 */
@Entity('scores')
@Index('uq_scores_auto_run_scorer', ['runId', 'scorerName'], { unique: true, where: `source = 'auto'` })
export class Score {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;

  @Column({ name: 'scorer_name', type: 'varchar', length: 200 })
  scorerName: string;

  @Column({ type: 'double precision' })
  value: number;

  @Column({ name: 'scorer_metadata', type: 'jsonb', nullable: true })
  scorerMetadata: Record<string, unknown> | null;

  @Column({ type: 'enum', enum: ScoreSource, enumName: 'score_source', default: ScoreSource.Auto })
  source: ScoreSource;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt: Date;
}
