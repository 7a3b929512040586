import { rmSync } from 'fs';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as Record<string, unknown>).__PL_PG__ as { stop(): Promise<void>; dir: string } | undefined;
  if (pg) {
    await pg.stop();
    rmSync(pg.dir, { recursive: true, force: true });
  }
}
