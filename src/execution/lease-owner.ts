import { randomBytes } from 'crypto';
import { hostname } from 'os';

/** Identifies this process in `runs.lease_owner` (host, pid and a nonce, as a pid can be reused). */
export const PROCESS_LEASE_ID = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

let claims = 0;

/**
 * A lease owner for one claim: the process id plus a sequence number, so two executions of the
 * same run in one process (a duplicate delivery after the lease was handed out again) never
 * mistake each other's lease for their own.
 */
export function nextLeaseOwner(): string {
  claims = (claims + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_LEASE_ID}#${claims}`;
}
