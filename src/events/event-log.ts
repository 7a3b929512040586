import { type RunEvent } from './run-event';

/** An event with its stream position (the SSE `id:`). */
export interface SequencedEvent {
  id: string;
  event: RunEvent;
}

/**
 * Event ids are `<a>-<b>` pairs of integers ordered numerically, like Redis stream ids. In
 * distributed mode they are the ids Redis assigns (XADD) to the entry in the experiment's stream,
 * so they increase across every process that publishes; in embedded mode `<process start ms>-<n>`,
 * so an id of an earlier process is never taken for a position in this one.
 */
export const EVENT_ID = /^(\d{1,16})-(\d{1,16})$/;

/** Negative, zero or positive like a comparator; ids are assumed valid (EVENT_ID). */
export function compareEventIds(a: string, b: string): number {
  const [a1, a2] = a.split('-').map(Number);
  const [b1, b2] = b.split('-').map(Number);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** Entries kept per experiment for resumption (older ones are trimmed; resuming before them re-snapshots). */
export const EVENT_LOG_MAX_ENTRIES = 10_000;
/** Experiments whose log an embedded process keeps (least recently written evicted first). */
const MAX_EXPERIMENTS = 500;

/** Embedded mode's per-experiment event log, in memory (one process owns every event). */
export class InMemoryEventLog {
  private readonly epoch = Date.now();
  private seq = 0;
  private readonly logs = new Map<string, { entries: SequencedEvent[]; trimmed: boolean }>();
  private evicted = false;

  constructor(private readonly maxEntries = EVENT_LOG_MAX_ENTRIES) {}

  append(event: RunEvent): SequencedEvent {
    const entry = { id: `${this.epoch}-${++this.seq}`, event };
    const key = event.experiment_id;
    const log = this.logs.get(key) ?? { entries: [], trimmed: false };
    // Re-inserting keeps the Map in least-recently-written order for eviction.
    this.logs.delete(key);
    this.logs.set(key, log);
    log.entries.push(entry);
    if (log.entries.length > this.maxEntries) {
      log.entries.splice(0, log.entries.length - this.maxEntries);
      log.trimmed = true;
    }
    if (this.logs.size > MAX_EXPERIMENTS) {
      this.logs.delete(this.logs.keys().next().value as string);
      this.evicted = true;
    }
    return entry;
  }

  /** The id of the experiment's latest event, or this process's zero position. */
  position(experimentId: string): string {
    return this.logs.get(experimentId)?.entries.at(-1)?.id ?? `${this.epoch}-0`;
  }

  /** Events after `lastId`, or null when they cannot all be given (unknown or trimmed position). */
  since(experimentId: string, lastId: string): SequencedEvent[] | null {
    const log = this.logs.get(experimentId);
    if (lastId === `${this.epoch}-0`) {
      if (!log) return this.evicted ? null : [];
      return log.trimmed ? null : [...log.entries];
    }
    if (!log) return null;
    const at = log.entries.findIndex((entry) => entry.id === lastId);
    return at < 0 ? null : log.entries.slice(at + 1);
  }
}
