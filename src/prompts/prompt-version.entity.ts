import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { type PromptTemplate } from './prompt-template';

/** One immutable version of a prompt: a template (string or chat messages) and default params. */
@Entity('prompt_versions')
export class PromptVersion {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'prompt_id', type: 'uuid' })
  promptId: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'jsonb' })
  template: PromptTemplate;

  @Column({ type: 'jsonb', default: () => `'{}'::jsonb` })
  params: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  note: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
