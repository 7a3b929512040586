import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Principal } from '../common/principal';
import { notFound } from '../common/domain-error';
import { Experiment } from '../experiments/experiment.entity';
import { ExperimentsService } from '../experiments/experiments.service';
import { AccessPolicy } from '../projects/access-policy.service';
import { ProjectRole } from '../projects/membership.entity';
import { Run } from '../runs/run.entity';

export const RUN_NOT_FOUND = 'Run not found';

/**
 * Loads a run or an experiment for a caller and applies the access policy: unknown ids and ids of
 * projects the caller is not in answer the same 404; a member below `minRole` gets 403.
 */
@Injectable()
export class RunAccess {
  constructor(
    @InjectRepository(Run) private readonly runs: Repository<Run>,
    private readonly experiments: ExperimentsService,
    private readonly access: AccessPolicy,
  ) {}

  async requireRun(principal: Principal, id: string, minRole: ProjectRole): Promise<Run> {
    const run = await this.runs.findOneBy({ id });
    if (!run) throw notFound(RUN_NOT_FOUND);
    await this.access.require(principal, run.projectId, minRole, RUN_NOT_FOUND);
    return run;
  }

  /** 404 "Experiment not found" for unknown and foreign experiments. */
  requireExperiment(principal: Principal, id: string, minRole: ProjectRole): Promise<Experiment> {
    return this.experiments.findAccessible(principal, id, minRole);
  }

  /** Projects whose runs the caller may read. */
  readableProjectIds(principal: Principal): Promise<string[]> {
    return this.access.projectIds(principal);
  }
}
