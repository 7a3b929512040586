import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { numericTransformer } from '../common/numeric.transformer';
import { type RunConfig, type RunPromptVersion } from '../domain/configs';
import { RunStatus } from '../domain/statuses';

@Entity('runs')
@Index('idx_runs_experiment_status', ['experimentId', 'status'])
@Index('idx_runs_project', ['projectId'])
@Index('idx_runs_status_lease', ['status', 'leaseExpiresAt'])
@Index('idx_runs_experiment_dataset_item', ['experimentId', 'datasetItemKey'])
export class Run {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'experiment_id', type: 'uuid' })
  experimentId: string;

  /** `experiments` belongs to experiments/ (above runs/): the relation names the entity instead of importing it. */
  @ManyToOne('Experiment', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'experiment_id' })
  experiment?: { id: string };

  /** Denormalised from the experiment: tenancy filters and the cache scope without a join. */
  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @Column({ type: 'jsonb' })
  config: RunConfig;

  @Column({ name: 'config_hash', type: 'char', length: 64 })
  configHash: string;

  @Column({ type: 'int', default: 0 })
  repetition: number;

  /** false when the experiment's or ad-hoc run's config says `"cache": false`. */
  @Column({ name: 'use_cache', type: 'boolean', default: true })
  useCache: boolean;

  @Column({ type: 'enum', enum: RunStatus, enumName: 'run_status', default: RunStatus.Pending })
  status: RunStatus;

  /** Incremented each time the run is (re)queued: part of the queue job id. */
  @Column({ type: 'int', default: 0 })
  attempt: number;

  /**
   * Times its lease expired while it was executing (its worker stopped without finishing it). Unlike
   * `attempt`, infrastructure faults (lost queue jobs) leave it alone; only this count abandons a run.
   */
  @Column({ name: 'lease_expiries', type: 'int', default: 0 })
  leaseExpiries: number;

  @Column({ name: 'lease_owner', type: 'varchar', length: 200, nullable: true })
  leaseOwner: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  /** Time spent in provider calls: the sum of its stages' (each the last attempt of its call). */
  @Column({ name: 'duration_ms', type: 'int', nullable: true })
  durationMs: number | null;

  /** Dispatch (the run became pending) to claim by a worker, for its last claim. */
  @Column({ name: 'queue_ms', type: 'int', nullable: true })
  queueMs: number | null;

  /** Provider calls made for the run's stages, retries included (0 for a cache hit). */
  @Column({ name: 'attempts', type: 'int', nullable: true })
  attempts: number | null;

  @Column({ name: 'tokens_in', type: 'int', nullable: true })
  tokensIn: number | null;

  @Column({ name: 'tokens_out', type: 'int', nullable: true })
  tokensOut: number | null;

  @Column({
    name: 'cost_estimate',
    type: 'numeric',
    precision: 20,
    scale: 10,
    nullable: true,
    transformer: numericTransformer,
  })
  costEstimate: number | null;

  @Column({ name: 'cache_hit', type: 'boolean', default: false })
  cacheHit: boolean;

  @Column({ name: 'cached_from_run_id', type: 'uuid', nullable: true })
  cachedFromRunId: string | null;

  /** The last stage's output (also in stage_results): what scorers and exports read. */
  @Column({ type: 'text', nullable: true })
  output: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** When automated scoring finished (NULL on a completed run: the sweeper scores it). */
  @Column({ name: 'scored_at', type: 'timestamptz', nullable: true })
  scoredAt: Date | null;

  /** Errors of scorers that threw, by scorer name: they never fail the run. */
  @Column({ name: 'scoring_errors', type: 'jsonb', nullable: true })
  scoringErrors: Record<string, string> | null;

  /** The dataset item a launched run came from (`config.dataset`); null for inline inputs. */
  @Column({ name: 'dataset_item_key', type: 'text', nullable: true })
  datasetItemKey: string | null;

  /** The registry prompt version (`{"ref"}` prompts) the run used: `{prompt_id, name, version}`. */
  @Column({ name: 'prompt_version', type: 'jsonb', nullable: true })
  promptVersion: RunPromptVersion | null;
}
