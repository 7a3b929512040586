import { type EntityManager } from 'typeorm';
import { runSql } from '../database/sql';
import { type OutboxEventType } from '../outbox/outbox-event-types';
import { type OutboxWriter } from '../outbox/outbox.writer';
import { Experiment } from './experiment.entity';
import { toExperimentDto } from './experiments.service';
import { EXPERIMENT_PROGRESS_SQL } from './sql';

/** Why an experiment stopped early, in `experiment.cancelled` events (budgets add `budget_exhausted`). */
export type StopReason = 'cancelled' | 'budget_exhausted';

/**
 * Appends an experiment event to the outbox inside the transaction `em` that changed it: `data` is
 * the experiment as GET /api/experiments/{id} returns it (with `progress`), read in that
 * transaction, plus `extra` (`stop_reason`). Built only when a subscription wants the type.
 */
export async function appendExperimentEvent(
  outbox: OutboxWriter,
  em: EntityManager,
  projectId: string,
  experimentId: string,
  type: Extract<OutboxEventType, `experiment.${string}`>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await outbox.appendLazy(
    em,
    projectId,
    type,
    async () => {
      const experiment = await em.findOneByOrFail(Experiment, { id: experimentId });
      const { rows } = await runSql(em, EXPERIMENT_PROGRESS_SQL, [experimentId]);
      return { ...toExperimentDto(experiment), progress: rows[0], ...extra };
    },
    { link: { id: experimentId, href: `/api/experiments/${experimentId}` } },
  );
}
