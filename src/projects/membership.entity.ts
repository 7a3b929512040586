import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { Project } from './project.entity';

export enum ProjectRole {
  Owner = 'owner',
  Editor = 'editor',
  Viewer = 'viewer',
}

/** Higher rank = more rights: owner > editor > viewer. */
export const ROLE_RANK: Record<ProjectRole, number> = {
  [ProjectRole.Viewer]: 1,
  [ProjectRole.Editor]: 2,
  [ProjectRole.Owner]: 3,
};

@Entity('memberships')
@Unique('uq_memberships_project_user', ['projectId', 'userId'])
export class Membership {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'project_id', type: 'uuid' })
  projectId: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'project_id' })
  project?: Project;

  @Index()
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** `users` belongs to auth/ (above projects/): the relation names the entity instead of importing it. */
  @ManyToOne('User', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: { id: string };

  @Column({ type: 'enum', enum: ProjectRole, enumName: 'project_role' })
  role: ProjectRole;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
