/**
 * Three projects: unit specs beside the code; integration specs (test/integration) that drive the
 * classes on a real PostgreSQL without HTTP; e2e suites under test/ against real PostgreSQL/Redis.
 * Integration and e2e name the same global setup, which jest runs once: one embedded PostgreSQL and
 * one migrated template database for both.
 */
// Tests are transpiled per file (fast); `npm test` type-checks the whole project with tsc first.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.spec.json' }];
/** What every project shares. */
const project = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
/** Integration and e2e: the embedded PostgreSQL and template database of the global setup. */
const withDatabase = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
module.exports = {
  maxWorkers: 2,
  // e2e suites start apps, workers and Redis; polling helpers carry their own deadlines.
  testTimeout: 60000,
  projects: [
    { ...project, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...project,
      ...withDatabase,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
    },
    { ...project, ...withDatabase, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
