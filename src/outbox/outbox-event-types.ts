/** Event types other services can subscribe to (API.md, "Webhooks"). `ping` is sent only by the test route. */
export const OUTBOX_EVENT_TYPES = [
  'experiment.launched',
  'experiment.completed',
  'experiment.cancelled',
  'run.completed',
  'run.failed',
  'dataset.version_created',
  'prompt.label_moved',
  'ping',
] as const;

export type OutboxEventType = (typeof OUTBOX_EVENT_TYPES)[number];

/** Types a subscription may list (`ping` always reaches the subscription it targets). */
export const SUBSCRIBABLE_EVENT_TYPES = OUTBOX_EVENT_TYPES.filter((t) => t !== 'ping');

/** A delivered body larger than this carries only the resource's id and a link instead of `data`. */
export const MAX_EVENT_BODY_BYTES = 256 * 1024;

/** The PostgreSQL channel an outbox insert notifies at commit, so relays wake up at once. */
export const OUTBOX_NOTIFY_CHANNEL = 'promptlooper_outbox';
