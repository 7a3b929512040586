import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { forbidden, notFound } from '../common/domain-error';
import { Principal } from '../common/principal';
import { Membership, ProjectRole, ROLE_RANK } from './membership.entity';

/**
 * The one access policy every module asks. A resource of a project the caller does not belong to
 * answers 404 (its existence is not revealed); a member whose role is too low gets 403.
 * An API key acts as an editor of its own project and of no other.
 */
@Injectable()
export class AccessPolicy {
  constructor(@InjectRepository(Membership) private readonly memberships: Repository<Membership>) {}

  /** The caller's role in the project, or null when not a member. */
  async roleIn(principal: Principal, projectId: string): Promise<ProjectRole | null> {
    if (principal.kind === 'api_key') return principal.projectId === projectId ? ProjectRole.Editor : null;
    const membership = await this.memberships.findOne({ where: { projectId, userId: principal.userId } });
    return membership?.role ?? null;
  }

  /**
   * Throws 404 (`notFoundMessage`) for non-members and 403 for a role below `minRole`.
   * Returns the caller's role.
   */
  async require(
    principal: Principal,
    projectId: string,
    minRole: ProjectRole,
    notFoundMessage: string,
  ): Promise<ProjectRole> {
    const role = await this.roleIn(principal, projectId);
    if (role === null) throw notFound(notFoundMessage);
    if (ROLE_RANK[role] < ROLE_RANK[minRole]) throw forbidden(`This action needs the ${minRole} role in the project`);
    return role;
  }

  /** Ids of every project the caller can read. */
  async projectIds(principal: Principal): Promise<string[]> {
    if (principal.kind === 'api_key') return [principal.projectId];
    const rows = await this.memberships.find({ where: { userId: principal.userId }, select: { projectId: true } });
    return rows.map((r) => r.projectId);
  }
}
