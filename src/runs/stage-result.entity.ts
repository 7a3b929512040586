import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { numericTransformer } from '../common/numeric.transformer';
import { Run } from './run.entity';

@Entity('stage_results')
@Unique('uq_stage_results_run_stage', ['runId', 'stageIndex'])
export class StageResult {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Run;

  @Column({ name: 'stage_name', type: 'varchar', length: 200 })
  stageName: string;

  @Column({ name: 'stage_index', type: 'int' })
  stageIndex: number;

  @Column({ type: 'text' })
  prompt: string;

  @Column({ type: 'text', nullable: true })
  output: string | null;

  @Column({ type: 'varchar', length: 200 })
  model: string;

  @Column({ name: 'tokens_in', type: 'int', nullable: true })
  tokensIn: number | null;

  @Column({ name: 'tokens_out', type: 'int', nullable: true })
  tokensOut: number | null;

  @Column({ name: 'duration_ms', type: 'int', nullable: true })
  durationMs: number | null;

  @Column({ type: 'numeric', precision: 20, scale: 10, nullable: true, transformer: numericTransformer })
  cost: number | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** The tool calls the model made (`arguments` parsed JSON); null when it called none. */
  @Column({ name: 'tool_calls', type: 'jsonb', nullable: true })
  toolCalls: Array<{ id: string; name: string; arguments: unknown }> | null;

  /** Why the model stopped, in OpenAI's words (`stop`, `length`, `tool_calls`, `content_filter`). */
  @Column({ name: 'finish_reason', type: 'text', nullable: true })
  finishReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
