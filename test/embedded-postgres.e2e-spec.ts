import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../src/database/embedded-postgres';

/** Fields 5 and 6 of /proc/<pid>/stat: process group and session. */
function groupAndSession(pid: number | 'self'): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[2]), Number(fields[3])];
}

describe('embedded PostgreSQL', () => {
  let parent: string;
  let pg: EmbeddedPostgresHandle | undefined;

  beforeAll(() => {
    // mkdtemp makes a 0700 directory: as root, the `postgres` user that runs the server cannot enter it.
    parent = mkdtempSync(join(tmpdir(), 'pl-0700-'));
    chmodSync(parent, 0o700);
  });
  afterAll(async () => {
    await pg?.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('starts from a data directory under a 0700 parent, in its own session, and stops when asked', async () => {
    expect(statSync(parent).mode & 0o777).toBe(0o700);
    pg = await startEmbeddedPostgres({ dataDir: join(parent, 'data'), port: 0, persistent: false, database: 'x' });
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
    // Its own process group and session: a terminal's Ctrl-C reaches the app, not PostgreSQL.
    const [group, session] = groupAndSession(pg.pid);
    const [ourGroup, ourSession] = groupAndSession('self');
    expect(group).toBe(pg.pid);
    expect(group).not.toBe(ourGroup);
    expect(session).not.toBe(ourSession);
    const pid = pg.pid;
    await pg.stop();
    pg = undefined;
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
