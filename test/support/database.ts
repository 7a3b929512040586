import { randomBytes } from 'crypto';
import { Client } from 'pg';

export const TEMPLATE_DB = 'pl_test_template';

function adminUrl(): string {
  const url = process.env.PL_TEST_ADMIN_URL;
  if (!url)
    throw new Error(
      'PL_TEST_ADMIN_URL is not set: run integration and e2e suites through jest (test/support/global-setup.ts)',
    );
  return url;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the template (milliseconds, not a migration run). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `pl_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(adminUrl(), name),
    drop: async () => {
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
