import { numericTransformer } from '../common/numeric.transformer';
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
import { type ExperimentConfig, type ScoringConfig } from '../domain/configs';
import { ExperimentStatus } from '../domain/statuses';
import { Project } from '../projects/project.entity';

@Entity('experiments')
@Index('idx_experiments_project_created', ['projectId', 'createdAt'])
export class Experiment {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'jsonb', default: () => `'{}'::jsonb` })
  config: ExperimentConfig;

  @Column({ name: 'scoring_config', type: 'jsonb', nullable: true })
  scoringConfig: ScoringConfig | null;

  @Column({ type: 'enum', enum: ExperimentStatus, enumName: 'experiment_status', default: ExperimentStatus.Draft })
  status: ExperimentStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'launched_at', type: 'timestamptz', nullable: true })
  launchedAt: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  /** USD; null = no budget. */
  @Column({ name: 'budget_usd', type: 'numeric', nullable: true, transformer: numericTransformer })
  budgetUsd: number | null;

  /** Settled cost of run calls (USD). Written only by ExperimentBudgets. */
  @Column({ name: 'spend_cost_usd', type: 'numeric', default: 0, transformer: numericTransformer })
  spendCostUsd: number;

  /** Settled cost of LLM-judge calls (USD). */
  @Column({ name: 'spend_judge_usd', type: 'numeric', default: 0, transformer: numericTransformer })
  spendJudgeUsd: number;

  /** Estimates of the calls in flight (USD). */
  @Column({ name: 'spend_reserved_usd', type: 'numeric', default: 0, transformer: numericTransformer })
  spendReservedUsd: number;

  /** Why it ended early: `budget_exhausted`; null otherwise. */
  @Column({ name: 'stop_reason', type: 'varchar', length: 32, nullable: true })
  stopReason: string | null;

  /** The pinned dataset version of `config.dataset` (a foreign key: a dataset in use cannot be deleted). */
  @Column({ name: 'dataset_version_id', type: 'uuid', nullable: true })
  datasetVersionId: string | null;
}
