/**
 * Three projects: unit specs beside the code; integration specs (test/integration) that drive the
 * classes on a real PostgreSQL without HTTP; e2e suites under test/ against real PostgreSQL/Redis.
 * Integration and e2e name the same global setup, which jest runs once: one embedded PostgreSQL and
 * one migrated template database for both.
 */
// Tests are transpiled per file (fast); `npm test` type-checks the whole project with tsc first.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.spec.json' }];
module.exports = {
  maxWorkers: 2,
  // e2e suites start apps, workers and Redis; polling helpers carry their own deadlines.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: __dirname,
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleFileExtensions: ['ts', 'js', 'json'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleFileExtensions: ['ts', 'js', 'json'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      moduleFileExtensions: ['ts', 'js', 'json'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
