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
}
