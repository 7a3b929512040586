import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { Principal } from '../common/principal';
import { conflict, ErrorCode, forbidden, notFound } from '../common/domain-error';
import { AddMemberDto, MembershipDto, ProjectDto } from './dto/projects.dto';
import { Membership, ProjectRole } from './membership.entity';
import { Project } from './project.entity';
import { UserDirectory } from './user-directory';

@Injectable()
export class ProjectsService {
  constructor(
    @InjectRepository(Project) private readonly projects: Repository<Project>,
    @InjectRepository(Membership) private readonly memberships: Repository<Membership>,
    private readonly userDirectory: UserDirectory,
    private readonly dataSource: DataSource,
  ) {}

  /** A new user's personal project, owned by them; inside the caller's (registration's) transaction. */
  async createPersonalProject(em: EntityManager, userId: string, name: string): Promise<Project> {
    const project = await em.save(em.create(Project, { name }));
    await em.save(em.create(Membership, { projectId: project.id, userId, role: ProjectRole.Owner }));
    return project;
  }

  /** A user's projects with their role, oldest membership first (GET /api/auth/me). */
  async membershipsOf(userId: string): Promise<{ id: string; name: string; role: ProjectRole }[]> {
    const rows = await this.memberships.find({
      where: { userId },
      relations: { project: true },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return rows.map((m) => ({ id: m.projectId, name: m.project?.name ?? '', role: m.role }));
  }

  async create(principal: Principal, name: string): Promise<ProjectDto> {
    if (principal.kind !== 'user') throw forbidden('API keys cannot create projects');
    return this.dataSource.transaction(async (em) => {
      const project = await em.save(em.create(Project, { name }));
      await em.save(
        em.create(Membership, { projectId: project.id, userId: principal.userId, role: ProjectRole.Owner }),
      );
      return toProjectDto(project, ProjectRole.Owner);
    });
  }

  async list(principal: Principal): Promise<ProjectDto[]> {
    if (principal.kind === 'api_key') {
      const project = await this.projects.findOneOrFail({ where: { id: principal.projectId } });
      return [toProjectDto(project, ProjectRole.Editor)];
    }
    const rows = await this.memberships.find({
      where: { userId: principal.userId },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    const projects = await this.projects.find({ where: { id: In(rows.map((r) => r.projectId)) } });
    const byId = new Map(projects.map((p) => [p.id, p]));
    return rows.filter((r) => byId.has(r.projectId)).map((r) => toProjectDto(byId.get(r.projectId) as Project, r.role));
  }

  async addMember(projectId: string, dto: AddMemberDto): Promise<MembershipDto> {
    const user = await this.userDirectory.findByEmail(dto.email.trim().toLowerCase());
    if (!user) throw notFound('User not found');
    if (await this.memberships.exists({ where: { projectId, userId: user.id } })) {
      throw conflict('User is already a member of this project', ErrorCode.AlreadyMember);
    }
    const m = await this.memberships.save(this.memberships.create({ projectId, userId: user.id, role: dto.role }));
    return {
      id: m.id,
      project_id: projectId,
      user_id: user.id,
      email: user.email,
      role: m.role,
      created_at: m.createdAt.toISOString(),
    };
  }
}

function toProjectDto(project: Project, role: ProjectRole): ProjectDto {
  return { id: project.id, name: project.name, role, created_at: project.createdAt.toISOString() };
}
