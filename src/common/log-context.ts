import { AsyncLocalStorage } from 'async_hooks';

/** Ids that JSON log lines carry when the code logging runs for a request or a run. */
export interface LogFields {
  request_id?: string;
  run_id?: string;
  experiment_id?: string;
  [field: string]: string | number | undefined;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with these fields (added to the current ones) on every log line it causes. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** Adds fields to the current context (e.g. the experiment id once a request has looked it up). */
export function addLogFields(fields: LogFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

export function currentLogFields(): LogFields | undefined {
  return storage.getStore();
}
