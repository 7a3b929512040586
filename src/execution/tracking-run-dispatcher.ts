import { RunDispatcher } from '../runs/run-dispatcher';

/** The dispatcher implementation ExecutionModule.forRoot chose (Bull or inline). */
export const RUN_DISPATCHER_IMPL = Symbol('RUN_DISPATCHER_IMPL');

/** A pending run as the sweeper sees it: its id and the attempt its delivery was enqueued with. */
export interface PendingRunRef {
  id: string;
  attempt: number;
}

/** A dispatcher that can tell the sweeper which pending runs it is not delivering. */
export abstract class TrackingRunDispatcher extends RunDispatcher {
  /** The runs among `runs` that have no live delivery here (no queued, delayed or active job). */
  abstract undelivered(runs: PendingRunRef[]): Promise<PendingRunRef[]>;
}
